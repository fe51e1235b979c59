"""Region answers."""

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.regions.models import REGION_CODE_PATTERN


class RegionQuerySchema(ma.Schema):
    parent = ma.fields.String(
        validate=validate.Regexp(REGION_CODE_PATTERN),
        metadata={"description": "Only the direct children of this region"},
    )


class RegionSchema(ma.Schema):
    code = ma.fields.String(metadata={"example": "510703"})
    name = ma.fields.String(metadata={"description": "Name in the request's language"})
    name_zh = ma.fields.String(metadata={"example": "涪城区"})
    name_en = ma.fields.String(allow_none=True)
    level = ma.fields.String(metadata={"description": "province | city | county | park"})
    parent_code = ma.fields.String(allow_none=True)
    has_boundary = ma.fields.Boolean()


class RegionImportResultSchema(ma.Schema):
    imported = ma.fields.Integer()
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
