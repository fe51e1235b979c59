"""Inspector actions on a report, the inspector queue, and the unit's side (link or account)."""

from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import current_runner, current_storage
from hazard_reporter.deliveries import services as deliveries
from hazard_reporter.errors import NotWithUnit, NoUnitHolds, UnitHasChannels, UnitLinkInvalid
from hazard_reporter.extensions import db
from hazard_reporter.inspection import services
from hazard_reporter.inspection.schemas import (
    ForwardSchema,
    MergeSchema,
    NoteSchema,
    OutcomeSchema,
    QueuePageSchema,
    QueueQuerySchema,
    ReasonSchema,
    RectificationSchema,
    RouteSchema,
    SeveritySchema,
    TriageSchema,
    UnitLinkSchema,
)
from hazard_reporter.photos.services import IncomingPhoto
from hazard_reporter.photos.tasks import make_derivatives_task
from hazard_reporter.reports import services as reports
from hazard_reporter.reports.access import Audience, audience_of
from hazard_reporter.reports.deadlines import DeadlinePolicy
from hazard_reporter.reports.models import Report, Status
from hazard_reporter.reports.schemas import ReportSchema, present_report
from hazard_reporter.reports.workflow import UNIT_HOLDS
from hazard_reporter.units import services as units
from hazard_reporter.units.models import Unit

inspect = HazardBlueprint(
    "inspection", __name__, url_prefix="/api/v1", description="检查员 Inspector actions"
)
unit_desk = HazardBlueprint(
    "unit_desk", __name__, url_prefix="/api/v1/unit", description="责任单位 Unit's side"
)

MAX_ID = 2**31 - 1
# The unit may still look at and act on a report it rectified, until the inspector verifies it.
REPORT = f"/reports/<int(max={MAX_ID}):report_id>"
INSPECTORS = (Role.INSPECTOR, Role.ADMIN)


def policy() -> DeadlinePolicy:
    return DeadlinePolicy.from_config(current_app.config)


def triage_rules():
    return current_app.extensions["hazard_triage_rules"]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hazard-unit-link")


def unit_link(report_id: int, unit_id: int) -> str:
    """The signed link a unit opens instead of signing in: its page, ``/unit#<token>``. The token
    stays in the fragment, out of the page request's log line; the page's calls to
    ``/api/v1/unit/<token>`` carry it in the path (docs/deploy.md keeps those out of the logs)."""
    token = _serializer().dumps({"r": report_id, "u": unit_id})
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}{url_for('pages.unit')}#{token}"


def _report_for_link(token: str) -> tuple[Report, int]:
    try:
        data = _serializer().loads(token, max_age=current_app.config["UNIT_LINK_DAYS"] * 86400)
        report_id, unit_id = int(data["r"]), int(data["u"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise UnitLinkInvalid() from None
    report = db.session.get(Report, report_id)
    # A link works only while this unit holds the report: not after re-routing, merging,
    # rejection or verification.
    if report is None or report.unit_id != unit_id or Status(report.status) not in UNIT_HOLDS:
        raise UnitLinkInvalid()
    return report, unit_id


def _inspector_report(report_id: int) -> Report:
    return reports.get_report(db.session, report_id, actor=current_principal())


def _inspector_view(report: Report) -> dict:
    return present_report(report, coord_system="wgs84", audience=Audience.INSPECTOR)


def _unit_view(report: Report) -> dict:
    return present_report(report, coord_system="wgs84", audience=Audience.UNIT)


# --- inspector actions -------------------------------------------------------------------------


@inspect.route(f"{REPORT}/triage", methods=["POST"])
@inspect.arguments(TriageSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def triage(body, report_id):
    """Confirm the triage (submitted → triaged), optionally overriding the colour with a reason."""
    report = services.triage(
        db.session,
        _inspector_report(report_id),
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
        severity=body.get("severity"),
        reason=body.get("reason"),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/severity", methods=["POST"])
@inspect.arguments(SeveritySchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def override_severity(body, report_id):
    """Override the colour with a reason; the computed colour is kept beside it."""
    report = services.override_severity(
        db.session,
        _inspector_report(report_id),
        severity=body["severity"],
        reason=body["reason"],
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/forward", methods=["POST"])
@inspect.arguments(ForwardSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def forward(body, report_id):
    """Forward (or re-route) to the responsible unit; deadlines start now."""
    report = services.forward(
        db.session,
        _inspector_report(report_id),
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
        link_for=unit_link,
        unit_id=body.get("unit_id"),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/route")
@inspect.response(200, RouteSchema)
@requires(*INSPECTORS)
def report_route(report_id):
    """The unit forwarding without naming one would send the report to now, by its sector and
    region (routing rules, then units of the sector, then the union's department): what the
    desk's "automatic" means for this report. Nothing is changed."""
    report = _inspector_report(report_id)
    choice = units.choose_unit(db.session, report.sector, report.region_code)
    if choice is None:
        return {"unit_id": None, "unit_name": None, "routed_by": None}
    unit = units.get_unit(db.session, choice.unit_id)
    return {"unit_id": unit.id, "unit_name": unit.name_zh, "routed_by": choice.reason}


@inspect.route(f"{REPORT}/unit-link")
@inspect.response(200, UnitLinkSchema)
@requires(*INSPECTORS)
def report_unit_link(report_id):
    """The signed link of the unit holding the report, for an inspector to pass on by phone or
    SMS, where the unit's channels reach nobody (its forwarding waits as ``handover``). The link
    acts as the unit for its lifetime: it is handed out only then, and each time is an Event."""
    report = _inspector_report(report_id)
    if report.unit_id is None or Status(report.status) not in UNIT_HOLDS:
        raise NoUnitHolds(current=report.status)
    unit = db.session.get(Unit, report.unit_id)
    if not deliveries.nobody_to_tell(unit):
        raise UnitHasChannels()
    principal = current_principal()
    services.note(
        report, "unit_link_issued", actor=principal.actor, now=utcnow(), data={"unit_id": unit.id}
    )
    db.session.commit()
    return {
        "unit_link": unit_link(report.id, unit.id),
        "unit_id": unit.id,
        "unit_name": unit.name_zh,
        "valid_days": current_app.config["UNIT_LINK_DAYS"],
    }


@inspect.route(f"{REPORT}/reject", methods=["POST"])
@inspect.arguments(ReasonSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def reject(body, report_id):
    """Close the report as not a hazard, with a reason."""
    report = services.reject(
        db.session,
        _inspector_report(report_id),
        reason=body["reason"],
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/retriage", methods=["POST"])
@inspect.arguments(ReasonSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def retriage(body, report_id):
    """Bring a rejected or merged report back to triage (unmerges a duplicate)."""
    report = services.reopen_triage(
        db.session,
        _inspector_report(report_id),
        reason=body["reason"],
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
        rules=triage_rules(),
        local_timezone=current_app.config["LOCAL_TIMEZONE"],
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/merge", methods=["POST"])
@inspect.arguments(MergeSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def merge(body, report_id):
    """Merge this report into another as a duplicate: one hazard, one more voice."""
    into = reports.get_report(db.session, body["into_id"], actor=current_principal())
    report = services.merge(
        db.session,
        _inspector_report(report_id),
        into=into,
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
        rules=triage_rules(),
        local_timezone=current_app.config["LOCAL_TIMEZONE"],
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/verify", methods=["POST"])
@inspect.arguments(NoteSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def verify(body, report_id):
    """Accept the unit's rectification (rectified → verified)."""
    report = services.verify(
        db.session,
        _inspector_report(report_id),
        note_text=body.get("note"),
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/reopen", methods=["POST"])
@inspect.arguments(ReasonSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def reopen(body, report_id):
    """Send a rectification back (rectified or verified → rectifying), with a reason."""
    report = services.reopen_rectification(
        db.session,
        _inspector_report(report_id),
        reason=body["reason"],
        actor=current_principal(),
        now=utcnow(),
        policy=policy(),
    )
    return _inspector_view(report)


@inspect.route(f"{REPORT}/outcome", methods=["POST"])
@inspect.arguments(OutcomeSchema)
@inspect.response(200, ReportSchema)
@requires(*INSPECTORS)
def outcome(body, report_id):
    """Record what the hazard was and whether an accident was prevented (verified reports)."""
    report = services.record_outcome(
        db.session,
        _inspector_report(report_id),
        hazard_confirmed=body["hazard_confirmed"],
        accident_prevented=body["accident_prevented"],
        account=body.get("account"),
        actor=current_principal(),
        now=utcnow(),
    )
    return _inspector_view(report)


@inspect.route("/inspect/queue")
@inspect.arguments(QueueQuerySchema, location="query")
@inspect.response(200, QueuePageSchema)
@requires(*INSPECTORS)
def inspector_queue(query):
    """The triage queue in scope, most urgent first, with counts per colour."""
    principal = current_principal()
    filters = services.QueueFilters(
        **{
            k: query.get(k)
            for k in ("status", "severity", "sector", "region", "overdue", "unit_id")
        }
    )
    page, next_cursor, counts = services.queue(
        db.session,
        actor=principal,
        filters=filters,
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
    audience = audience_of(principal)
    items = [
        present_report(r, coord_system=query["coord_system"], audience=audience, timeline=False)
        for r in page
    ]
    return {"items": items, "next_cursor": next_cursor, "counts": counts}


# --- the unit's side -------------------------------------------------------------------------


def _unit_staff_report(report_id: int) -> tuple[Report, int]:
    principal = current_principal()
    report = reports.get_report(db.session, report_id, actor=principal)
    if Status(report.status) not in UNIT_HOLDS:
        raise NotWithUnit(current=report.status)
    return report, principal.user.unit_id


def _acknowledge(report, unit_id, body):
    return services.acknowledge(
        db.session,
        report,
        unit_id=unit_id,
        note_text=body.get("note"),
        now=utcnow(),
        policy=policy(),
    )


def _rectifying(report, unit_id, body):
    return services.start_rectifying(
        db.session,
        report,
        unit_id=unit_id,
        note_text=body.get("note"),
        now=utcnow(),
        policy=policy(),
    )


def _rectified(report, unit_id, body):
    config = current_app.config
    report, photo_ids = services.report_rectified(
        db.session,
        current_storage(),
        report,
        unit_id=unit_id,
        note_text=body["note"],
        photos=[IncomingPhoto(f.filename or "photo", f.stream) for f in body["photos"]],
        now=utcnow(),
        policy=policy(),
        max_bytes=config["MAX_PHOTO_BYTES"],
        max_pixels=config["MAX_PHOTO_PIXELS"],
    )
    for photo_id in photo_ids:
        current_runner().enqueue(make_derivatives_task, photo_id)
    return report


def _decline(report, unit_id, body):
    return services.decline(
        db.session, report, unit_id=unit_id, reason=body["reason"], now=utcnow(), policy=policy()
    )


@unit_desk.route("/<token>")
@unit_desk.response(200, ReportSchema)
def unit_report(token):
    """The report as the unit sees it, through its signed link (nothing about the reporter)."""
    report, _ = _report_for_link(token)
    return _unit_view(report)


@unit_desk.route("/<token>/acknowledge", methods=["POST"])
@unit_desk.arguments(NoteSchema)
@unit_desk.response(200, ReportSchema)
def link_acknowledge(body, token):
    """The unit confirms it has the report."""
    return _unit_view(_acknowledge(*_report_for_link(token), body))


@unit_desk.route("/<token>/rectifying", methods=["POST"])
@unit_desk.arguments(NoteSchema)
@unit_desk.response(200, ReportSchema)
def link_rectifying(body, token):
    """The unit has started the work."""
    return _unit_view(_rectifying(*_report_for_link(token), body))


@unit_desk.route("/<token>/rectification", methods=["POST"])
@unit_desk.arguments(RectificationSchema, location="multipart")
@unit_desk.response(200, ReportSchema)
def link_rectification(body, token):
    """The unit reports the hazard fixed, with after-photos and a note."""
    return _unit_view(_rectified(*_report_for_link(token), body))


@unit_desk.route("/<token>/decline", methods=["POST"])
@unit_desk.arguments(ReasonSchema)
@unit_desk.response(200, ReportSchema)
def link_decline(body, token):
    """ "Not ours", with a reason: the report goes back to triage for re-routing."""
    return _unit_view(_decline(*_report_for_link(token), body))


@inspect.route(f"{REPORT}/acknowledge", methods=["POST"])
@inspect.arguments(NoteSchema)
@inspect.response(200, ReportSchema)
@requires(Role.UNIT_STAFF)
def staff_acknowledge(body, report_id):
    """Unit staff with an account: acknowledge a report forwarded to their unit."""
    return _unit_view(_acknowledge(*_unit_staff_report(report_id), body))


@inspect.route(f"{REPORT}/rectifying", methods=["POST"])
@inspect.arguments(NoteSchema)
@inspect.response(200, ReportSchema)
@requires(Role.UNIT_STAFF)
def staff_rectifying(body, report_id):
    """Unit staff: the work has started."""
    return _unit_view(_rectifying(*_unit_staff_report(report_id), body))


@inspect.route(f"{REPORT}/rectification", methods=["POST"])
@inspect.arguments(RectificationSchema, location="multipart")
@inspect.response(200, ReportSchema)
@requires(Role.UNIT_STAFF)
def staff_rectification(body, report_id):
    """Unit staff: the hazard is fixed, with after-photos and a note."""
    return _unit_view(_rectified(*_unit_staff_report(report_id), body))


@inspect.route(f"{REPORT}/decline", methods=["POST"])
@inspect.arguments(ReasonSchema)
@inspect.response(200, ReportSchema)
@requires(Role.UNIT_STAFF)
def staff_decline(body, report_id):
    """Unit staff: "not ours", with a reason."""
    return _unit_view(_decline(*_unit_staff_report(report_id), body))
