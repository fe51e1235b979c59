"""Report requests and answers at the HTTP boundary."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from hazard_reporter.core.api import FileUpload
from hazard_reporter.core.auth import photo_links
from hazard_reporter.core.i18n import pick, request_language
from hazard_reporter.geo.coords import CoordSystem, from_wgs84
from hazard_reporter.photos.models import DerivativeState, Photo
from hazard_reporter.regions.models import REGION_CODE_PATTERN
from hazard_reporter.reports.access import Audience
from hazard_reporter.reports.models import LocationSource, Report, Severity, Status
from hazard_reporter.sectors.models import Sector

SECTORS = [s.value for s in Sector]
COORD_SYSTEMS = [c.value for c in CoordSystem]


class ReportSubmissionSchema(ma.Schema):
    """``POST /api/v1/reports``: text fields and photos in one multipart/form-data body."""

    sector = ma.fields.String(
        required=True, validate=validate.OneOf(SECTORS), metadata={"example": "gas_network"}
    )
    description = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"example": "地下室食堂有燃气味"},
    )
    lat = ma.fields.Float(
        validate=validate.Range(-90, 90), metadata={"description": "Latitude of the phone's fix"}
    )
    lon = ma.fields.Float(validate=validate.Range(-180, 180))
    accuracy_m = ma.fields.Float(validate=validate.Range(min=0, max=100_000))
    coord_system = ma.fields.String(
        load_default=CoordSystem.WGS84.value,
        validate=validate.OneOf(COORD_SYSTEMS),
        metadata={"description": "System of lat/lon: wgs84 (GPS), gcj02 (AMap, Tencent), bd09"},
    )
    location_source = ma.fields.String(
        load_default=LocationSource.DEVICE.value,
        validate=validate.OneOf([LocationSource.DEVICE.value, LocationSource.MANUAL.value]),
        metadata={"description": "device: the phone's fix; manual: a point picked on a map"},
    )
    region_code = ma.fields.String(
        validate=validate.Regexp(REGION_CODE_PATTERN), metadata={"example": "510703"}
    )
    anonymous = ma.fields.Boolean(
        metadata={"description": "Default: anonymous unless signed in (then credited)"}
    )
    immediate_danger = ma.fields.Boolean(
        load_default=False, metadata={"description": "People are in danger right now"}
    )

    photos = ma.fields.List(
        FileUpload(),
        load_default=list,
        metadata={"description": "1 to 6 photos in all: JPEG, PNG, WebP, HEIC"},
    )
    upload_keys = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=200)),
        load_default=list,
        metadata={
            "description": "Keys of photos uploaded straight to the bucket (POST /api/v1/uploads),"
            " each named once, instead of or besides `photos`"
        },
    )

    @ma.validates("upload_keys")
    def each_upload_once(self, keys, **_kwargs):
        # One upload is one photo: a second photo row cannot take the same original.
        seen = set()
        for key in keys:
            if key in seen:
                raise ma.ValidationError(
                    f"同一上传不能重复列出：{key} / an upload is named twice: {key}"
                )
            seen.add(key)

    @ma.validates_schema
    def lat_lon_together(self, data, **_kwargs):
        if ("lat" in data) != ("lon" in data):
            missing = "lon" if "lat" in data else "lat"
            raise ma.ValidationError(
                "lat 与 lon 须同时给出 / lat and lon go together", field_name=missing
            )


class CoordQuerySchema(ma.Schema):
    coord_system = ma.fields.String(
        load_default=CoordSystem.WGS84.value, validate=validate.OneOf(COORD_SYSTEMS)
    )


class ReportListQuerySchema(CoordQuerySchema):
    sector = ma.fields.String(validate=validate.OneOf(SECTORS))
    status = ma.fields.String(validate=validate.OneOf([s.value for s in Status]))
    severity = ma.fields.String(validate=validate.OneOf([s.value for s in Severity]))
    region = ma.fields.String(
        validate=validate.Regexp(REGION_CODE_PATTERN),
        metadata={"description": "A region code; its whole subtree is included"},
    )
    cursor = ma.fields.String(validate=validate.Length(max=100))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(1, 100))


class LocationSchema(ma.Schema):
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    accuracy_m = ma.fields.Float(allow_none=True)
    source = ma.fields.String(metadata={"description": "device | exif | manual"})
    coord_system = ma.fields.String()


class RegionRefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class PhotoOutSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String(metadata={"description": "Display rendition (≤1600 px, no metadata)"})
    thumbnail_url = ma.fields.String(metadata={"description": "Thumbnail (≤400 px, no metadata)"})
    width = ma.fields.Integer(metadata={"description": "Upright width of the original"})
    height = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "pending | ready | failed"})
    original_url = ma.fields.String(
        metadata={"description": "Inspectors and admins only; each read is recorded"}
    )


class TimelineEntrySchema(ma.Schema):
    at = ma.fields.DateTime()
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String(allow_none=True)
    actor = ma.fields.String(metadata={"description": "Inspectors and admins only"})
    reason = ma.fields.String(
        metadata={
            "description": "Why, where the move gave a reason: to inspectors always, to the unit "
            "for moves of the report it holds (a fix sent back, its own decline)"
        }
    )


class ReporterRefSchema(ma.Schema):
    anonymous = ma.fields.Boolean()
    identity_url = ma.fields.String(
        metadata={"description": "Reading it reveals the reporter and is recorded"}
    )


class ReporterIdentitySchema(ma.Schema):
    anonymous = ma.fields.Boolean()
    user = ma.fields.Dict(allow_none=True, metadata={"description": "id, name, phone"})
    devices = ma.fields.List(ma.fields.Dict(), metadata={"description": "photo_id, make, model"})


class AdviceSchema(ma.Schema):
    title = ma.fields.String()
    text = ma.fields.String()
    phones = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class TriageOutSchema(ma.Schema):
    computed_severity = ma.fields.String(allow_none=True)
    score = ma.fields.Integer(allow_none=True)
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "code, text"})
    override_reason = ma.fields.String(allow_none=True, metadata={"description": "Inspectors"})


class DeadlinesSchema(ma.Schema):
    forwarded_at = ma.fields.DateTime(allow_none=True)
    acknowledge_due_at = ma.fields.DateTime(allow_none=True)
    rectify_due_at = ma.fields.DateTime(allow_none=True)
    overdue = ma.fields.Boolean()


class OutcomeOutSchema(ma.Schema):
    hazard_confirmed = ma.fields.String(allow_none=True)
    accident_prevented = ma.fields.Boolean()
    account = ma.fields.String(allow_none=True)


class ReportSchema(ma.Schema):
    advice = ma.fields.Nested(
        AdviceSchema, metadata={"description": "Red reports: evacuation advice, read first"}
    )
    id = ma.fields.Integer()
    status = ma.fields.String()
    severity = ma.fields.String(metadata={"description": "red | orange | yellow | blue"})
    sector = ma.fields.String()
    sector_name = ma.fields.String()
    description = ma.fields.String()
    location = ma.fields.Nested(LocationSchema)
    region = ma.fields.Nested(RegionRefSchema, allow_none=True)
    captured_at = ma.fields.DateTime(allow_none=True)
    submitted_at = ma.fields.DateTime()
    anonymous = ma.fields.Boolean()
    immediate_danger = ma.fields.Boolean()
    flags = ma.fields.List(ma.fields.String())
    photos = ma.fields.List(ma.fields.Nested(PhotoOutSchema))
    rectification_photos = ma.fields.List(ma.fields.Nested(PhotoOutSchema))
    triage = ma.fields.Nested(TriageOutSchema)
    deadlines = ma.fields.Nested(DeadlinesSchema)
    unit_id = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.Nested(OutcomeOutSchema)
    duplicate_of_id = ma.fields.Integer(allow_none=True)
    independent_reports = ma.fields.Integer()
    reporter = ma.fields.Nested(ReporterRefSchema, metadata={"description": "Inspectors only"})
    timeline = ma.fields.List(ma.fields.Nested(TimelineEntrySchema))


class DuplicateSuggestionSchema(ma.Schema):
    id = ma.fields.Integer()
    distance_m = ma.fields.Float()
    similarity = ma.fields.Float(allow_none=True)
    sector = ma.fields.String()
    severity = ma.fields.String()
    status = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    independent_reports = ma.fields.Integer()
    thumbnail_url = ma.fields.String(allow_none=True)


class ReportCreatedSchema(ReportSchema):
    duplicate_candidates = ma.fields.List(
        ma.fields.Nested(DuplicateSuggestionSchema),
        metadata={"description": "Nearby reports whose photos look alike: ask 'the same hazard?'"},
    )
    followup_token = ma.fields.String(
        allow_none=True,
        metadata={"description": "Shown once: keep it to follow the report anonymously"},
    )


class ReportPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ReportSchema))
    next_cursor = ma.fields.String(allow_none=True)


def evacuation_advice(lang: str | None = None) -> dict:
    """What a reporter of a red hazard must read before anything else (in ``lang``, else the
    request's language)."""
    return {
        "title": pick("紧急避险：请立即撤离", "Get clear now", lang),
        "text": pick(
            "这可能是重大事故隐患。请立即停止作业，提醒周围人员撤离到安全地带，不要开关电器或"
            "使用明火。有人员受伤请拨打 120，发生火灾拨打 119，需要警方请拨打 110。"
            "确认安全后再补充信息。",
            "This may be a major accident hazard. Stop work, warn the people around you and move "
            "to safety; do not switch electrics or use open flames. Injuries: call 120; fire: "
            "119; police: 110. Add details only once you are safe.",
            lang,
        ),
        "phones": {"fire": "119", "police": "110", "ambulance": "120"},
    }


def present_photo(photo: Photo, audience: Audience) -> dict:
    """A photo: signed links to its metadata-free renditions; the original's link for inspectors."""
    token = photo_links().sign(photo.id)
    out = {
        "id": photo.id,
        "url": url_for("photos.display", photo_id=photo.id, t=token),
        "thumbnail_url": url_for("photos.thumbnail", photo_id=photo.id, t=token),
        "width": photo.width,
        "height": photo.height,
        "status": photo.derivatives or DerivativeState.PENDING.value,
    }
    if audience is Audience.INSPECTOR:
        out["original_url"] = url_for("photos.original", photo_id=photo.id)
    return out


def _reason_for(event, audience: Audience) -> str | None:
    """The reason an event gave, for those it was given to: inspectors, and the unit for the
    moves of its report (the inspector's word on a fix sent back). Never the reporter's or the
    public's view: a reason may be about the reporter (anti-fraud checks)."""
    reason = (event.data or {}).get("reason")
    if not reason:
        return None
    if audience is Audience.INSPECTOR or (audience is Audience.UNIT and event.to_status):
        return str(reason)
    return None


def present_report(
    report: Report, *, coord_system: str, audience: Audience, timeline: bool = True
) -> dict:
    """A report in the answer's coordinate system and language, cut to what ``audience`` may
    know: a unit's view never says anything about who reported."""
    lat, lon = report.lat, report.lon
    if lat is not None and lon is not None:
        lat, lon = from_wgs84(lat, lon, coord_system)
    lang = request_language()  # once per report, not once per text: a page has twenty reports
    sector = Sector(report.sector)
    region = None
    if report.region is not None:
        region = {
            "code": report.region.code,
            "name": pick(
                report.region.name_zh, report.region.name_en or report.region.name_zh, lang
            ),
        }
    out = {
        "id": report.id,
        "status": report.status,
        "severity": report.severity,
        "sector": report.sector,
        "sector_name": pick(sector.label_zh, sector.label_en, lang),
        "description": report.description,
        "location": {
            "lat": lat,
            "lon": lon,
            "accuracy_m": report.accuracy_m,
            "source": report.location_source,
            "coord_system": coord_system,
        },
        "region": region,
        "captured_at": report.captured_at,
        "submitted_at": report.submitted_at,
        "immediate_danger": report.immediate_danger,
        "flags": list(report.flags or []),
        "photos": [present_photo(p, audience) for p in report.photos if p.kind == "report"],
        "rectification_photos": [
            present_photo(p, audience) for p in report.photos if p.kind == "rectification"
        ],
        "triage": {
            "computed_severity": report.computed_severity,
            "score": report.triage_score,
            "reasons": [
                {"code": r["code"], "text": pick(r["zh"], r["en"], lang)}
                for r in report.triage_reasons or []
            ],
            **(
                {"override_reason": report.severity_override_reason}
                if audience is Audience.INSPECTOR
                else {}
            ),
        },
        "deadlines": {
            "forwarded_at": report.forwarded_at,
            "acknowledge_due_at": report.acknowledge_due_at,
            "rectify_due_at": report.rectify_due_at,
            "overdue": report.overdue,
        },
    }
    if report.severity == "red" and audience in (Audience.REPORTER, Audience.INSPECTOR):
        out = {"advice": evacuation_advice(), **out}
    if audience in (Audience.INSPECTOR, Audience.COMMITTEE):
        out["unit_id"] = report.unit_id
        out["outcome"] = {
            "hazard_confirmed": report.hazard_confirmed,
            "accident_prevented": report.accident_prevented,
            "account": report.prevented_account,
        }
        out["duplicate_of_id"] = report.duplicate_of_id
        out["independent_reports"] = report.independent_reports
    if audience is Audience.UNIT:
        # Flags and the camera's clock describe the reporter's behaviour, not the hazard.
        out.pop("flags")
        out.pop("captured_at")
    else:
        out["anonymous"] = report.anonymous
    if audience is Audience.INSPECTOR:
        out["reporter"] = {
            "anonymous": report.anonymous,
            "identity_url": url_for("reports.get_reporter", report_id=report.id),
        }
    if timeline:
        out["timeline"] = [
            {
                "at": e.at,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                **({"actor": e.actor} if audience is Audience.INSPECTOR else {}),
                **({"reason": reason} if (reason := _reason_for(e, audience)) else {}),
            }
            for e in report.events
            # Only inspectors see who read what; others see the report's own progress.
            if audience is Audience.INSPECTOR or e.to_status is not None
        ]
    return out
