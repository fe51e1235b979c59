"""The inspector's and the unit's work on a report: triage, forwarding, rectification, verification,
deadlines and escalation. Every status change goes through ``transition`` (one place), which checks
the status machine and writes the Event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload

from hazard_reporter.accounts.principal import Principal
from hazard_reporter.core.pagination import decode_json_cursor, encode_json_cursor
from hazard_reporter.core.storage import Storage
from hazard_reporter.deliveries import services as deliveries
from hazard_reporter.errors import (
    AlreadyWithThisUnit,
    NotFound,
    NoUnitForReport,
    ReportChanged,
    TooLateToDecline,
    ValidationFailed,
)
from hazard_reporter.integrations import services as integrations
from hazard_reporter.photos.services import (
    IncomingPhoto,
    build_photo,
    check_photo,
    discard,
    original_keys,
    store_originals,
)
from hazard_reporter.regions import services as regions
from hazard_reporter.reports import access
from hazard_reporter.reports.deadlines import (
    DeadlinePolicy,
    due_times,
    missed_deadlines,
    urgency_due,
)
from hazard_reporter.reports.models import Escalation, Event, Report, Severity, Status
from hazard_reporter.reports.workflow import INTO_TRIAGED, OPEN, WITH_UNIT, check_transition
from hazard_reporter.sectors.models import Sector
from hazard_reporter.triage.engine import Assessment, Facts, Rules, assess
from hazard_reporter.units import services as units
from hazard_reporter.units.models import Unit

SYSTEM = "system"


# --- the one place where status changes ----------------------------------------------------


def refresh_urgency(report: Report, *, policy: DeadlinePolicy, now: datetime) -> None:
    """Keep the queue's sort columns in step with status, colour and deadlines."""
    report.severity_rank = Severity(report.severity).rank
    status = Status(report.status)
    if status is Status.RECTIFIED:
        # Waiting on the inspector: verification is held to the acknowledge time.
        report.urgency_due_at = now + timedelta(hours=policy.acknowledge_hours[report.severity])
    else:
        report.urgency_due_at = urgency_due(
            status,
            report.severity,
            submitted_at=report.submitted_at,
            acknowledge_due=report.acknowledge_due_at,
            rectify_due=report.rectify_due_at,
            policy=policy,
        )
    # Overdue while a deadline that still applies has passed: acknowledging, a new colour's
    # later deadlines or a reopening clear it (escalation sets it as the deadline passes).
    report.overdue = status in OPEN and bool(
        missed_deadlines(
            status,
            acknowledge_due=report.acknowledge_due_at,
            rectify_due=report.rectify_due_at,
            now=now,
        )
    )


def transition(
    report: Report,
    target: Status,
    *,
    actor: str,
    now: datetime,
    policy: DeadlinePolicy,
    reason: str | None = None,
    data: dict | None = None,
    move: str | None = None,
) -> Event:
    """Move a report to ``target`` (409 naming the allowed moves if illegal) and record it;
    ``move`` says which move into "triaged" it is (reports.workflow.INTO_TRIAGED).

    The move is claimed with a conditional UPDATE on the status read, so of two requests racing
    (a double tap, two staff) only one moves the report; the other answers 409."""
    check_transition(report.status, target, move=move)
    session = object_session(report)
    if session is not None and report.id is not None:
        claimed = session.execute(
            update(Report)
            .where(Report.id == report.id, Report.status == report.status)
            .values(status=target.value)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            session.rollback()
            raise ReportChanged()
    event = Event(
        at=now,
        actor=actor,
        action=f"status:{target.value}",
        from_status=report.status,
        to_status=target.value,
        data={**(data or {}), **({"reason": reason} if reason else {})},
    )
    previous = report.status
    report.status = target.value
    report.events.append(event)
    refresh_urgency(report, policy=policy, now=now)
    if session is not None and report.id is not None:
        integrations.emit(
            session,
            "report.status_changed",
            {
                **integrations.report_facts(report),
                "from_status": previous,
                "to_status": target.value,
            },
            now=now,
            report_id=report.id,
        )
    return event


def note(report: Report, action: str, *, actor: str, now: datetime, data: dict) -> None:
    """An Event that changes no status (override, outcome, reads)."""
    report.events.append(Event(at=now, actor=actor, action=action, data=data))


# --- triage --------------------------------------------------------------------------------


def assessment_for(
    report: Report, rules: Rules, *, local_timezone: str, now: datetime
) -> Assessment:
    """The engine's verdict on a report's facts as they stand now."""
    return assess(
        Facts(
            sector=report.sector,
            description=report.description,
            immediate_danger=report.immediate_danger,
            independent_reports=report.independent_reports or 1,
            local_time=(report.submitted_at or now).astimezone(ZoneInfo(local_timezone)),
        ),
        rules,
    )


def apply_assessment(report: Report, assessment: Assessment) -> None:
    """Store the computed colour and reasons; an inspector's override, if any, stays in force."""
    report.computed_severity = assessment.severity
    report.triage_score = assessment.score
    report.triage_reasons = [{"code": r.code, "zh": r.zh, "en": r.en} for r in assessment.reasons]
    if not report.severity_override_reason:
        report.severity = assessment.severity
    report.severity_rank = Severity(report.severity).rank


def triage(
    session: Session,
    report: Report,
    *,
    actor: Principal,
    now: datetime,
    policy: DeadlinePolicy,
    severity: str | None = None,
    reason: str | None = None,
) -> Report:
    """The inspector confirms the triage of a new report (optionally overriding the colour with
    a reason)."""
    check_transition(report.status, Status.TRIAGED, move="triage")  # before the colour changes
    previous = report.severity
    if severity:
        _override(report, severity, reason, actor=actor, now=now)
    transition(
        report,
        Status.TRIAGED,
        actor=actor.actor,
        now=now,
        policy=policy,
        reason=reason,
        move="triage",
    )
    _after_colour_change(session, report, previous=previous, policy=policy, now=now)
    session.commit()
    return report


def _override(report: Report, severity: str, reason: str | None, *, actor: Principal, now):
    if not (reason or "").strip():
        raise ValidationFailed(
            field="reason", detail="调整风险等级须说明理由 / a reason is required"
        )
    previous = report.severity
    report.severity = Severity(severity).value
    report.severity_override_reason = reason.strip()
    report.severity_rank = Severity(report.severity).rank
    note(
        report,
        "severity_overridden",
        actor=actor.actor,
        now=now,
        data={
            "from": previous,
            "to": report.severity,
            "computed": report.computed_severity,
            "reason": reason.strip(),
        },
    )


def override_severity(
    session: Session,
    report: Report,
    *,
    severity: str,
    reason: str,
    actor: Principal,
    now: datetime,
    policy: DeadlinePolicy,
) -> Report:
    """Set the colour by hand, with a reason; the computed colour is kept beside it."""
    previous = report.severity
    _override(report, severity, reason, actor=actor, now=now)
    _after_colour_change(session, report, previous=previous, policy=policy, now=now)
    refresh_urgency(report, policy=policy, now=now)
    session.commit()
    return report


def _after_colour_change(
    session: Session, report: Report, *, previous: str, policy: DeadlinePolicy, now: datetime
) -> None:
    """What a new colour changes beyond the colour itself.

    While the unit holds the report, its deadlines follow the new colour, counted from the
    forwarding; but one the new colour brings closer is never set before the unit can know of
    it (a blue report made red three hours after its forwarding is due within the red hour from
    now, not overdue at once). The unit is told (``report.severity_changed``), and a report made
    red alerts the inspectors on duty as a red one does at submission."""
    if report.severity == previous:
        return
    if Status(report.status) in WITH_UNIT and report.forwarded_at is not None:
        counted = due_times(report.severity, report.forwarded_at, policy)
        fresh = due_times(report.severity, now, policy)
        report.acknowledge_due_at = _fair_due(
            counted.acknowledge_due, report.acknowledge_due_at, fresh.acknowledge_due
        )
        report.rectify_due_at = _fair_due(
            counted.rectify_due, report.rectify_due_at, fresh.rectify_due
        )
        unit = session.get(Unit, report.unit_id) if report.unit_id else None
        if unit is not None:
            region_name = report.region.name_zh if report.region else None
            payload = unit_payload(report, unit, link=None, lang_region=region_name)
            payload["previous_severity"] = previous
            deliveries.enqueue(
                session,
                kind="report.severity_changed",
                payload=payload,
                unit=unit,
                report_id=report.id,
                now=now,
            )
    if report.severity == Severity.RED.value and Status(report.status) in OPEN:
        alert_red(session, report, now=now)


def _fair_due(counted: datetime, old: datetime | None, fresh: datetime) -> datetime:
    """The deadline from the forwarding under the new colour, brought no closer than the new
    colour's time from now (nor later than it was)."""
    if old is None:
        return counted
    return max(counted, min(old, fresh))


# --- forwarding to the unit ------------------------------------------------------------------


def unit_payload(report: Report, unit: Unit, *, link: str, lang_region: str | None) -> dict:
    """What a unit receives: the hazard, where, how urgent, by when, and its link; nothing at all
    about who reported it."""
    sector = Sector(report.sector)
    return {
        "report_id": report.id,
        "sector": report.sector,
        "sector_name": sector.label_zh,
        "severity": report.severity,
        "severity_name": Severity(report.severity).label_zh,
        "description": report.description,
        "location": {"lat": report.lat, "lon": report.lon, "coord_system": "wgs84"},
        "region": {"code": report.region_code, "name": lang_region},
        "submitted_at": report.submitted_at.isoformat(),
        "acknowledge_due_at": report.acknowledge_due_at.isoformat()
        if report.acknowledge_due_at
        else None,
        "rectify_due_at": report.rectify_due_at.isoformat() if report.rectify_due_at else None,
        "unit": {"id": unit.id, "name": unit.name_zh},
        "unit_link": link,
    }


def forward(
    session: Session,
    report: Report,
    *,
    actor: Principal,
    now: datetime,
    policy: DeadlinePolicy,
    link_for,
    unit_id: int | None = None,
) -> Report:
    """Send the report to its responsible unit (routed, or the one named) with deadlines per
    colour; the message goes out through the durable outbox."""
    if unit_id is not None:
        unit, how = units.get_unit(session, unit_id), "chosen"
    else:
        choice = units.choose_unit(session, report.sector, report.region_code)
        if choice is None:
            raise NoUnitForReport(field="unit_id")
        unit, how = units.get_unit(session, choice.unit_id), choice.reason
    holds = Status(report.status) in WITH_UNIT
    if holds and unit.id == report.unit_id:
        raise AlreadyWithThisUnit(current=report.status, target=Status.FORWARDED.value)
    rerouted_from = report.unit_id if holds else None
    deadlines = due_times(report.severity, now, policy)
    report.unit_id = unit.id
    report.forwarded_at = now
    report.acknowledge_due_at = deadlines.acknowledge_due
    report.rectify_due_at = deadlines.rectify_due
    report.overdue = False
    transition(
        report,
        Status.FORWARDED,
        actor=actor.actor,
        now=now,
        policy=policy,
        data={
            "unit_id": unit.id,
            "unit": unit.name_zh,
            "routed_by": how,
            **({"rerouted_from": rerouted_from} if rerouted_from else {}),
        },
    )
    region_name = report.region.name_zh if report.region else None
    payload = unit_payload(report, unit, link=link_for(report.id, unit.id), lang_region=region_name)
    deliveries.enqueue(
        session, kind="report.forwarded", payload=payload, unit=unit, report_id=report.id, now=now
    )
    session.commit()
    return report


def reject(session, report, *, reason: str, actor: Principal, now, policy) -> Report:
    """Close a report that is not a hazard (with the reason the reporter will see)."""
    _require_reason(reason)
    transition(report, Status.REJECTED, actor=actor.actor, now=now, policy=policy, reason=reason)
    report.unit_id = None  # the unit no longer holds it: its link and staff stop working
    session.commit()
    return report


def reopen_triage(
    session,
    report,
    *,
    reason: str,
    actor: Principal,
    now,
    policy,
    rules=None,
    local_timezone: str = "Asia/Shanghai",
) -> Report:
    """Bring a rejected or merged report back to triage; an unmerged report's former cluster is
    assessed again without it."""
    _require_reason(reason)
    if report.status == Status.DUPLICATE.value and report.duplicate_of_id:
        target = session.get(Report, report.duplicate_of_id)
        if target is not None:
            target.independent_reports = max(1, (target.independent_reports or 1) - 1)
            if rules is not None:
                assessment = assessment_for(target, rules, local_timezone=local_timezone, now=now)
                previous = target.severity
                apply_assessment(target, assessment)
                _after_colour_change(session, target, previous=previous, policy=policy, now=now)
            refresh_urgency(target, policy=policy, now=now)
            note(
                target,
                "unmerged",
                actor=actor.actor,
                now=now,
                data={"report_id": report.id, "independent_reports": target.independent_reports},
            )
        report.duplicate_of_id = None
    transition(
        report,
        Status.TRIAGED,
        actor=actor.actor,
        now=now,
        policy=policy,
        reason=reason,
        move="retriage",
    )
    session.commit()
    return report


def merge(
    session: Session,
    report: Report,
    *,
    into: Report,
    actor: Principal,
    now,
    policy,
    rules,
    local_timezone: str,
) -> Report:
    """Mark ``report`` a duplicate of ``into``: one hazard, one more independent voice, which
    feeds ``into``'s triage."""
    if into.id == report.id or into.status == Status.DUPLICATE.value:
        raise ValidationFailed(field="into_id", detail="不能合并到自身或另一条重复报告")
    transition(
        report,
        Status.DUPLICATE,
        actor=actor.actor,
        now=now,
        policy=policy,
        data={"into_id": into.id},
    )
    report.duplicate_of_id = into.id
    report.unit_id = None
    # Reports already merged into this one follow it, so a cluster always has one head (and its
    # first reporter keeps the credit).
    followers = list(session.scalars(select(Report).where(Report.duplicate_of_id == report.id)))
    for follower in followers:
        follower.duplicate_of_id = into.id
    into.independent_reports = (into.independent_reports or 1) + (report.independent_reports or 1)
    report.independent_reports = 1
    previous = into.severity
    apply_assessment(into, assessment_for(into, rules, local_timezone=local_timezone, now=now))
    _after_colour_change(session, into, previous=previous, policy=policy, now=now)
    refresh_urgency(into, policy=policy, now=now)
    note(
        into,
        "merged",
        actor=actor.actor,
        now=now,
        data={"from_id": report.id, "independent_reports": into.independent_reports},
    )
    session.commit()
    return report


def verify(session, report, *, note_text: str | None, actor: Principal, now, policy) -> Report:
    """Accept the unit's rectification (never by the hazard's own reporter)."""
    access.refuse_own_report(session, report, actor)
    transition(
        report,
        Status.VERIFIED,
        actor=actor.actor,
        now=now,
        policy=policy,
        data={"note": note_text} if note_text else None,
    )
    session.commit()
    return report


def reopen_rectification(session, report, *, reason: str, actor: Principal, now, policy) -> Report:
    """Send a rectification back: the hazard is not fixed. The unit gets the colour's full time
    to rectify again, from now: the old deadline has usually passed, and was met or escalated."""
    _require_reason(reason)
    report.rectify_due_at = now + timedelta(hours=policy.rectify_hours[report.severity])
    transition(report, Status.RECTIFYING, actor=actor.actor, now=now, policy=policy, reason=reason)
    session.commit()
    return report


def record_outcome(
    session,
    report,
    *,
    hazard_confirmed: str,
    accident_prevented: bool,
    account: str | None,
    actor: Principal,
    now,
) -> Report:
    """What the hazard turned out to be, on a verified report (feeds commendations)."""
    access.refuse_own_report(session, report, actor)
    if report.status != Status.VERIFIED.value:
        raise ValidationFailed(field="status", detail="只能对已验收的报告记录结果 / verify first")
    if accident_prevented and not (account or "").strip():
        raise ValidationFailed(field="account", detail="请简述避免了什么事故 / describe it")
    report.hazard_confirmed = hazard_confirmed
    report.accident_prevented = accident_prevented
    report.prevented_account = (account or "").strip() or None
    note(
        report,
        "outcome_recorded",
        actor=actor.actor,
        now=now,
        data={
            "hazard_confirmed": hazard_confirmed,
            "accident_prevented": accident_prevented,
            "account": report.prevented_account,
        },
    )
    session.commit()
    return report


def _require_reason(reason: str | None) -> None:
    if not (reason or "").strip():
        raise ValidationFailed(field="reason", detail="请填写理由 / a reason is required")


# --- the unit's side -------------------------------------------------------------------------


def unit_actor(unit_id: int) -> str:
    return f"unit:{unit_id}"


def acknowledge(session, report, *, unit_id: int, note_text: str | None, now, policy) -> Report:
    """The unit confirms it has the report."""
    transition(
        report,
        Status.ACKNOWLEDGED,
        actor=unit_actor(unit_id),
        now=now,
        policy=policy,
        data={"note": note_text} if note_text else None,
    )
    session.commit()
    return report


def start_rectifying(session, report, *, unit_id: int, note_text: str | None, now, policy):
    """The unit has started the work."""
    transition(
        report,
        Status.RECTIFYING,
        actor=unit_actor(unit_id),
        now=now,
        policy=policy,
        data={"note": note_text} if note_text else None,
    )
    session.commit()
    return report


def report_rectified(
    session: Session,
    storage: Storage,
    report: Report,
    *,
    unit_id: int,
    note_text: str,
    photos: list[IncomingPhoto],
    now: datetime,
    policy: DeadlinePolicy,
    max_bytes: int,
    max_pixels: int,
) -> tuple[Report, list[int]]:
    """The unit reports the hazard fixed, with after-photos (stored like originals) and a note."""
    if not (note_text or "").strip():
        raise ValidationFailed(field="note", detail="请说明整改情况 / describe the rectification")
    if not 1 <= len(photos) <= 6:
        raise ValidationFailed(field="photos", detail="1–6 张整改后照片 / 1 to 6 after-photos")
    checked = [check_photo(p, max_bytes=max_bytes, max_pixels=max_pixels) for p in photos]
    # Check the move before storing anything, so a refused rectification leaves no files.
    # A unit that fixes the hazard at once passes through "rectifying" on its way.
    straight_from_acknowledged = report.status == Status.ACKNOWLEDGED.value
    if straight_from_acknowledged:
        check_transition(Status.ACKNOWLEDGED, Status.RECTIFYING)
    else:
        check_transition(report.status, Status.RECTIFIED)
    keys = original_keys(checked, now=now)
    store_originals(storage, checked, keys)
    try:
        start = len(report.photos)
        added = [
            build_photo(c, key, start + i, None)
            for i, (c, key) in enumerate(zip(checked, keys, strict=True))
        ]
        for photo in added:
            photo.kind = "rectification"
            report.photos.append(photo)
        if straight_from_acknowledged:
            transition(report, Status.RECTIFYING, actor=unit_actor(unit_id), now=now, policy=policy)
        transition(
            report,
            Status.RECTIFIED,
            actor=unit_actor(unit_id),
            now=now,
            policy=policy,
            data={"note": note_text.strip(), "photos": len(added)},
        )
        session.commit()
    except Exception:
        session.rollback()
        discard(storage, keys)
        raise
    return report, [p.id for p in added]


def decline(session, report, *, unit_id: int, reason: str, now, policy) -> Report:
    """ "Not ours": the report returns to triage, without a unit, for re-routing."""
    _require_reason(reason)
    if report.status not in INTO_TRIAGED["decline"]:
        raise TooLateToDecline(current=report.status, target=Status.TRIAGED.value, allowed="—")
    transition(
        report,
        Status.TRIAGED,
        actor=unit_actor(unit_id),
        now=now,
        policy=policy,
        reason=reason,
        data={"declined_by_unit": unit_id},
        move="decline",
    )
    report.unit_id = None
    report.acknowledge_due_at = report.rectify_due_at = None
    refresh_urgency(report, policy=policy, now=now)
    session.commit()
    return report


# --- alerts and escalation ---------------------------------------------------------------------


def alert_red(session: Session, report: Report, *, now: datetime) -> int:
    """Alert the inspectors on duty for the report's region that it is red (at submission, or
    when it becomes red), with evacuation advice; returns the channels reached."""
    from hazard_reporter.reports.services import red_alert_payload

    return alert_inspectors(
        session,
        report,
        region_code=report.region_code,
        kind="alert.red",
        now=now,
        payload=red_alert_payload(report),
    )


def alert_inspectors(
    session: Session,
    report: Report,
    *,
    region_code: str | None,
    kind: str,
    now: datetime,
    payload: dict,
) -> int:
    """Alert the inspectors on duty for a region: through the channels of the union's
    labour-protection department nearest the region (the inspectors' own office)."""
    chain = units.region_chain(session, region_code)
    # By id, as routing picks among them: not in whatever order the database reads them.
    unions = session.scalars(
        select(Unit).where(Unit.is_union_department.is_(True)).order_by(Unit.id)
    ).all()
    for code in chain or [None]:
        office = next((u for u in unions if code is None or u.region_code == code), None)
        if office is not None and office.channels:
            deliveries.enqueue(
                session, kind=kind, payload=payload, unit=office, report_id=report.id, now=now
            )
            return len(office.channels)
    return 0


def _escalate(session: Session, report: Report, deadline: str, due_at: datetime, *, now) -> bool:
    """Escalate one missed deadline unless it already was; True when it is done now."""
    parent = report.region.parent_code if report.region else None
    try:
        with session.begin_nested():
            session.add(
                Escalation(
                    report_id=report.id,
                    deadline=deadline,
                    due_at=due_at,
                    escalated_at=now,
                    to_region_code=parent,
                )
            )
    except IntegrityError:
        return False  # escalated already
    report.overdue = True
    note(
        report,
        "escalated",
        actor=SYSTEM,
        now=now,
        data={"deadline": deadline, "due_at": due_at.isoformat(), "to_region": parent},
    )
    payload = {
        "report_id": report.id,
        "sector": report.sector,
        "severity": report.severity,
        "description": report.description,
        "deadline": deadline,
        "due_at": due_at.isoformat(),
        "unit_id": report.unit_id,
        "region": report.region_code,
    }
    alert_inspectors(
        session,
        report,
        region_code=parent or report.region_code,
        kind="report.escalated",
        now=now,
        payload=payload,
    )
    integrations.emit(
        session,
        "report.escalated",
        {**integrations.report_facts(report), "deadline": deadline, "due_at": due_at.isoformat()},
        now=now,
        report_id=report.id,
    )

    session.commit()
    return True


def escalate_overdue(
    session: Session, *, now: datetime, policy: DeadlinePolicy, limit: int = 500
) -> int:
    """Escalate every report past a deadline to its parent region, once per deadline however
    often this runs (an Escalation row per report, deadline and due time is the guard)."""

    def not_escalated(deadline: str, due_column):
        return ~exists().where(
            Escalation.report_id == Report.id,
            Escalation.deadline == deadline,
            Escalation.due_at == due_column,
        )

    # Reports already escalated for their current deadlines drop out of the query, so a backlog
    # of them can never hide newer overdue reports behind the limit.
    candidates = session.scalars(
        select(Report)
        .where(
            or_(
                and_(
                    Report.status == Status.FORWARDED.value,
                    Report.acknowledge_due_at < now,
                    not_escalated("acknowledge", Report.acknowledge_due_at),
                ),
                and_(
                    Report.status.in_([s.value for s in WITH_UNIT]),
                    Report.rectify_due_at < now,
                    not_escalated("rectify", Report.rectify_due_at),
                ),
            )
        )
        .order_by(Report.id)
        .limit(limit)
    ).all()
    escalated = 0
    for report in candidates:
        missed = missed_deadlines(
            report.status,
            acknowledge_due=report.acknowledge_due_at,
            rectify_due=report.rectify_due_at,
            now=now,
        )
        for deadline, due_at in missed:
            if _escalate(session, report, deadline, due_at, now=now):
                escalated += 1
    return escalated


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    severity: str | None = None
    sector: str | None = None
    region: str | None = None
    overdue: bool | None = None
    unit_id: int | None = None


def _cursor(report: Report) -> str:
    return encode_json_cursor([report.severity_rank, report.urgency_due_at.isoformat(), report.id])


def _decode_cursor(cursor: str) -> tuple[int, datetime, int]:
    rank, due, report_id = decode_json_cursor(cursor, 3)
    try:
        if not (isinstance(rank, int) and 0 <= rank <= 3 and isinstance(report_id, int)):
            raise ValueError
        if report_id <= 0 or not isinstance(due, str):
            raise ValueError
        return rank, datetime.fromisoformat(due), report_id
    except ValueError:
        raise ValidationFailed(field="cursor", detail="无效的分页游标 / invalid cursor") from None


def queue(
    session: Session, *, actor: Principal, filters: QueueFilters, limit: int, cursor: str | None
) -> tuple[list[Report], str | None, dict[str, int]]:
    """Open reports in the actor's scope, most urgent first (colour, then the next deadline),
    with the count per colour of everything the filters match."""
    # A report has an urgency exactly while it is open (refresh_urgency clears it on closing), so
    # this one condition selects the open reports; the queue's partial indexes hold just those.
    # (Asking for the open statuses as well would only make PostgreSQL, which takes the two for
    # independent, expect a few dozen rows and plan for them.)
    conditions = [access.visible_clause(session, actor), Report.urgency_due_at.is_not(None)]
    if filters.status:
        conditions.append(Report.status == filters.status)
    if filters.sector:
        conditions.append(Report.sector == filters.sector)
    if filters.region:
        if regions.get_region(session, filters.region) is None:
            raise NotFound(field="region", what="该地区", what_en="region")
        conditions.append(Report.region_code.in_(regions.subtree_codes(session, filters.region)))
    if filters.overdue is not None:
        conditions.append(Report.overdue.is_(filters.overdue))
    if filters.unit_id is not None:
        conditions.append(Report.unit_id == filters.unit_id)
    counts = dict(
        session.execute(
            select(Report.severity, func.count()).where(*conditions).group_by(Report.severity)
        ).all()
    )
    if filters.severity:
        # The rank always follows the colour (one is set with the other), and asking for the
        # rank lets the queue's indexes start at the colour instead of reading past every more
        # urgent one.
        conditions.append(Report.severity_rank == Severity(filters.severity).rank)
    query = select(Report).where(*conditions).options(selectinload(Report.photos))
    if cursor:
        rank, due, last_id = _decode_cursor(cursor)
        query = query.where(
            or_(
                Report.severity_rank > rank,
                and_(Report.severity_rank == rank, Report.urgency_due_at > due),
                and_(
                    Report.severity_rank == rank, Report.urgency_due_at == due, Report.id > last_id
                ),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(Report.severity_rank, Report.urgency_due_at, Report.id).limit(limit + 1)
        )
    )
    page = rows[:limit]
    next_cursor = _cursor(page[-1]) if len(rows) > limit and page else None
    return page, next_cursor, {s.value: counts.get(s.value, 0) for s in Severity}
