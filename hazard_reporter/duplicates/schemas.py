"""Duplicate candidates at the HTTP boundary."""

import marshmallow as ma
from marshmallow import validate


class CandidateSchema(ma.Schema):
    id = ma.fields.Integer()
    distance_m = ma.fields.Float()
    similarity = ma.fields.Float(allow_none=True, metadata={"description": "Photo likeness 0..1"})
    sector = ma.fields.String()
    severity = ma.fields.String()
    status = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    independent_reports = ma.fields.Integer()
    thumbnail_url = ma.fields.String(allow_none=True)


class DuplicateQuerySchema(ma.Schema):
    radius_m = ma.fields.Float(load_default=1000, validate=validate.Range(1, 5000))
    days = ma.fields.Integer(load_default=30, validate=validate.Range(1, 365))


class MeTooSchema(ma.Schema):
    into_id = ma.fields.Integer(
        required=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The existing report this one is the same as"},
    )
