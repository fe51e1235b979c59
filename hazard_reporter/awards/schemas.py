"""Award lists, commendations and campaigns at the HTTP boundary."""

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.awards.models import Level
from hazard_reporter.regions.models import REGION_CODE_PATTERN
from hazard_reporter.sectors.models import Sector


class AwardQuerySchema(ma.Schema):
    period = ma.fields.String(
        load_default="month", validate=validate.OneOf(["month", "quarter", "year", "custom"])
    )
    on = ma.fields.Date(metadata={"description": "A day inside the period (default: today)"})
    start = ma.fields.Date(metadata={"description": "custom: first day"})
    end = ma.fields.Date(metadata={"description": "custom: last day (inclusive)"})
    region = ma.fields.String(validate=validate.Regexp(REGION_CODE_PATTERN))
    sector = ma.fields.String(validate=validate.OneOf([s.value for s in Sector]))
    campaign = ma.fields.Integer(validate=validate.Range(1, 2**31 - 1))


class AwardPageQuerySchema(AwardQuerySchema):
    cursor = ma.fields.String(validate=validate.Length(max=100))
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class AwardRowSchema(ma.Schema):
    rank = ma.fields.Integer()
    reporter = ma.fields.String(metadata={"description": "Name only where the reporter agreed"})
    region = ma.fields.String()
    points = ma.fields.Integer()
    report_ids = ma.fields.List(ma.fields.Integer())
    reasons = ma.fields.List(ma.fields.String())
    level = ma.fields.String(
        allow_none=True,
        metadata={"description": "The latest commendation granted for these hazards"},
    )
    reporter_id = ma.fields.Integer(metadata={"description": "For POST /commendations"})


class AwardListSchema(ma.Schema):
    start = ma.fields.Date()
    end = ma.fields.Date()
    total = ma.fields.Integer(metadata={"description": "Reporters in the whole list"})
    items = ma.fields.List(ma.fields.Nested(AwardRowSchema))
    next_cursor = ma.fields.String(
        allow_none=True, metadata={"description": "Pass as cursor for the next page; null: last"}
    )


class CommendationInSchema(ma.Schema):
    reporter_id = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "Default: the reporter the hazards are credited to"},
    )
    report_ids = ma.fields.List(
        ma.fields.Integer(validate=validate.Range(1, 2**31 - 1)),
        required=True,
        validate=validate.Length(1, 100),
    )
    level = ma.fields.String(required=True, validate=validate.OneOf([lv.value for lv in Level]))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    campaign_id = ma.fields.Integer(allow_none=True, validate=validate.Range(1, 2**31 - 1))


class CommendationSchema(CommendationInSchema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    points = ma.fields.Integer()
    proposed_by = ma.fields.Integer()
    granted_by = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    granted_at = ma.fields.DateTime(allow_none=True)


class CampaignSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    region_codes = ma.fields.List(ma.fields.String(validate=validate.Regexp(REGION_CODE_PATTERN)))


class ClearFlagsSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
