"""Units and routing rules at the HTTP boundary."""

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.regions.models import REGION_CODE_PATTERN
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.services import NAME_MAX, SLUG_PATTERN

SECTORS = [s.value for s in Sector]


class UnitSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    slug = ma.fields.String(required=True, validate=validate.Regexp(SLUG_PATTERN))
    name_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    name_en = ma.fields.String(allow_none=True, validate=validate.Length(max=NAME_MAX))
    region_code = ma.fields.String(required=True, validate=validate.Regexp(REGION_CODE_PATTERN))
    sectors = ma.fields.List(ma.fields.String(validate=validate.OneOf(SECTORS)))
    channels = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "[{type: webhook|email|wecom|dingtalk|link, url, secret, to}]"},
    )
    is_union_department = ma.fields.Boolean()


class UnitUpdateSchema(UnitSchema):
    """The same fields, each optional: use it as ``UnitUpdateSchema(partial=True)`` (marshmallow
    has no ``Meta.partial``; the instance's ``partial`` is what loading and apispec both read)."""


class PublicUnitSchema(ma.Schema):
    """What inspectors see of a unit: no channel secrets."""

    id = ma.fields.Integer()
    slug = ma.fields.String()
    name_zh = ma.fields.String()
    name_en = ma.fields.String(allow_none=True)
    region_code = ma.fields.String()
    sectors = ma.fields.List(ma.fields.String())
    is_union_department = ma.fields.Boolean()


class RuleSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    region_code = ma.fields.String(required=True, validate=validate.Regexp(REGION_CODE_PATTERN))
    sector = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(SECTORS),
        metadata={"description": "Omitted or null: every sector"},
    )
    unit_id = ma.fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


class ImportResultSchema(ma.Schema):
    imported = ma.fields.Integer()
