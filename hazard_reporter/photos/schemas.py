"""Schemas of the photo endpoints: direct uploads (phone to bucket)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.photos.services import UPLOAD_CONTENT_TYPES


class UploadRequestSchema(ma.Schema):
    """``POST /api/v1/uploads``: the type of the photo the phone will upload."""

    content_type = ma.fields.String(
        required=True,
        validate=validate.OneOf(UPLOAD_CONTENT_TYPES),
        metadata={"example": "image/jpeg"},
    )


class UploadTicketSchema(ma.Schema):
    key = ma.fields.String(
        metadata={"description": "Name this key in the report's `upload_keys` once uploaded"}
    )
    url = ma.fields.String(metadata={"description": "POST the file here as multipart/form-data"})
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Send these form fields first, then the file as `file`"},
    )
    expires_at = ma.fields.DateTime()
    max_bytes = ma.fields.Integer()
