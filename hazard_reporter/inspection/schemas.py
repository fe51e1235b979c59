"""Inspector and unit actions at the HTTP boundary."""

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.core.api import FileUpload
from hazard_reporter.regions.models import REGION_CODE_PATTERN
from hazard_reporter.reports.models import Severity, Status
from hazard_reporter.reports.schemas import ReportSchema
from hazard_reporter.sectors.models import Sector

COLOURS = [s.value for s in Severity]
REASON = validate.Length(min=1, max=2000)


class TriageSchema(ma.Schema):
    severity = ma.fields.String(validate=validate.OneOf(COLOURS))
    reason = ma.fields.String(validate=REASON, metadata={"description": "Required to override"})


class SeveritySchema(ma.Schema):
    severity = ma.fields.String(required=True, validate=validate.OneOf(COLOURS))
    reason = ma.fields.String(required=True, validate=REASON)


class ForwardSchema(ma.Schema):
    unit_id = ma.fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "Omit to route by sector and region (up the hierarchy)"},
    )


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=REASON)


class UnitLinkSchema(ma.Schema):
    unit_link = ma.fields.String(metadata={"description": "The unit's page with its signed token"})
    unit_id = ma.fields.Integer()
    unit_name = ma.fields.String()
    valid_days = ma.fields.Integer(metadata={"description": "How long the link works"})


class RouteSchema(ma.Schema):
    unit_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "null: no unit takes this sector here"}
    )
    unit_name = ma.fields.String(allow_none=True)
    routed_by = ma.fields.String(
        allow_none=True,
        metadata={"description": "rule | sector_unit | union_department, as forwarding records"},
    )


class NoteSchema(ma.Schema):
    note = ma.fields.String(validate=validate.Length(max=2000))


class MergeSchema(ma.Schema):
    into_id = ma.fields.Integer(required=True, validate=validate.Range(1, 2**31 - 1))


class OutcomeSchema(ma.Schema):
    hazard_confirmed = ma.fields.String(
        required=True,
        validate=validate.OneOf(["general", "major"]),
        metadata={"description": "general 一般隐患 | major 重大隐患"},
    )
    accident_prevented = ma.fields.Boolean(load_default=False)
    account = ma.fields.String(validate=validate.Length(max=2000))


class RectificationSchema(ma.Schema):
    note = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    photos = ma.fields.List(
        FileUpload(), required=True, metadata={"description": "1–6 after-photos"}
    )


class QueueQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in Status]))
    severity = ma.fields.String(validate=validate.OneOf(COLOURS))
    sector = ma.fields.String(validate=validate.OneOf([s.value for s in Sector]))
    region = ma.fields.String(validate=validate.Regexp(REGION_CODE_PATTERN))
    overdue = ma.fields.Boolean()
    unit_id = ma.fields.Integer(validate=validate.Range(1, 2**31 - 1))
    cursor = ma.fields.String(validate=validate.Length(max=300))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(1, 100))
    coord_system = ma.fields.String(
        load_default="wgs84", validate=validate.OneOf(["wgs84", "gcj02", "bd09"])
    )


class QueuePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReportSchema))
    next_cursor = ma.fields.String(allow_none=True)
    counts = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "Reports per colour matching the filters (severity aside)"},
    )
