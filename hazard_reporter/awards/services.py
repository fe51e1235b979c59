"""Award lists, commendations, campaigns and the clearing of anti-fraud flags."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from hazard_reporter.accounts.models import User
from hazard_reporter.accounts.principal import Principal
from hazard_reporter.awards.exports import AwardRow
from hazard_reporter.awards.models import Campaign, Commendation, Level
from hazard_reporter.awards.points import (
    Cluster,
    ClusterMember,
    Standing,
    rank,
    report_points,
)
from hazard_reporter.errors import NotFound, ValidationFailed
from hazard_reporter.integrations import services as integrations
from hazard_reporter.regions import services as regions
from hazard_reporter.regions.models import Region
from hazard_reporter.reports import access
from hazard_reporter.reports.models import Event, Report, Status

# Ids per statement where a list of them is sent (SQLite takes 32 766 parameters by default,
# psycopg 65 535).
BATCH = 10_000


@dataclass(frozen=True)
class AwardFilters:
    start: date
    end: date  # inclusive
    region: str | None = None
    sector: str | None = None
    campaign_id: int | None = None


def period_bounds(kind: str, on: date, start: date | None = None, end: date | None = None):
    """The first and last day of the month, quarter or year containing ``on``, or a custom
    range."""
    if kind == "month":
        return on.replace(day=1), on.replace(day=calendar.monthrange(on.year, on.month)[1])
    if kind == "quarter":
        first = 3 * ((on.month - 1) // 3) + 1
        last = first + 2
        return date(on.year, first, 1), date(on.year, last, calendar.monthrange(on.year, last)[1])
    if kind == "year":
        return date(on.year, 1, 1), date(on.year, 12, 31)
    if start is None or end is None or start > end:
        raise ValidationFailed(field="start", detail="custom 需要 start ≤ end / start and end")
    return start, end


def _utc_range(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return (
        datetime.combine(start, time.min, zone).astimezone(ZoneInfo("UTC")),
        datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(ZoneInfo("UTC")),
    )


def is_held(report: Report) -> bool:
    """Anti-fraud flags not yet cleared by an inspector."""
    return bool(report.flags) and report.flags_cleared_at is None


def _held_clause(report=Report):
    """``is_held`` in SQL (of ``report``, an alias of reports), so that a year's reports need not
    have their flags read."""
    return and_(
        report.flags_cleared_at.is_(None),
        func.coalesce(func.json_array_length(report.flags), 0) > 0,
    )


def _verified_conditions(session: Session, filters: AwardFilters, *, tz: str) -> list:
    """The SQL conditions selecting the verified hazards (the heads of clusters) of the
    filters."""
    start, end = filters.start, filters.end
    codes: list[str] | None = None
    if filters.campaign_id is not None:
        campaign = session.get(Campaign, filters.campaign_id)
        if campaign is None:
            raise NotFound(field="campaign", what="该活动", what_en="campaign")
        start, end = max(start, campaign.starts_on), min(end, campaign.ends_on)
        if campaign.region_codes:
            codes = sorted(
                {c for r in campaign.region_codes for c in regions.subtree_codes(session, r)}
            )
    if filters.region:
        if session.get(Region, filters.region) is None:
            raise NotFound(field="region", what="该地区", what_en="region")
        subtree = set(regions.subtree_codes(session, filters.region))
        codes = sorted(subtree if codes is None else subtree & set(codes))
    lower, upper = _utc_range(start, end, tz)
    conditions = [
        Report.status == Status.VERIFIED.value,
        Report.duplicate_of_id.is_(None),
        Report.submitted_at >= lower,
        Report.submitted_at < upper,
    ]
    if codes is not None:
        conditions.append(Report.region_code.in_(codes))
    if filters.sector:
        conditions.append(Report.sector == filters.sector)
    return conditions


def clusters(session: Session, filters: AwardFilters, *, tz: str) -> list[Cluster]:
    """Verified hazards in the filters, each with every report merged into it."""
    conditions = _verified_conditions(session, filters, tz=tz)
    held = _held_clause().label("held")
    merged: dict[int, list[ClusterMember]] = defaultdict(list)
    heads = select(Report.id).where(*conditions)
    for head_id, report_id, reporter_id, submitted_at, is_held_ in session.execute(
        select(
            Report.duplicate_of_id, Report.id, Report.reporter_id, Report.submitted_at, held
        ).where(Report.duplicate_of_id.in_(heads))
    ):
        merged[head_id].append(ClusterMember(report_id, reporter_id, submitted_at, is_held_))
    return [
        Cluster(
            report_id=row.id,
            severity=row.severity,
            hazard_confirmed=row.hazard_confirmed,
            accident_prevented=row.accident_prevented,
            prevented_account=row.prevented_account,
            members=(
                ClusterMember(row.id, row.reporter_id, row.submitted_at, row.held),
                *merged.get(row.id, ()),
            ),
        )
        for row in session.execute(
            select(
                Report.id,
                Report.reporter_id,
                Report.submitted_at,
                held,
                Report.severity,
                Report.hazard_confirmed,
                Report.accident_prevented,
                Report.prevented_account,
            )
            .where(*conditions)
            .order_by(Report.id)
        )
    ]


def _verified_summaries(conditions: list):
    """The verified hazards of ``conditions``: outcome, region, reporter (with their name and
    consent to be named), how many reports were merged into each and the first of those sent
    before it (usually none), both read from the index of merged reports alone."""
    counted = aliased(Report, name="counted")
    merged = aliased(Report, name="merged")
    size = (
        select(func.count())
        .where(counted.duplicate_of_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )
    sent_before = (
        select(merged.id)
        .where(
            merged.duplicate_of_id == Report.id,
            # A range in the index (hazard, then time); the id breaks ties.
            merged.submitted_at <= Report.submitted_at,
            or_(merged.submitted_at < Report.submitted_at, merged.id < Report.id),
        )
        .order_by(merged.submitted_at, merged.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )
    return (
        select(
            Report.id,
            Report.severity,
            Report.hazard_confirmed,
            Report.accident_prevented,
            Report.prevented_account,
            Report.region_code,
            Report.reporter_id,
            Report.submitted_at,
            _held_clause(),
            size.label("merged"),
            sent_before.label("first_merged_id"),
            User.name,
            User.consent_named,
        )
        .outerjoin(User, User.id == Report.reporter_id)
        .where(*conditions)
    )


def _reports_with_reporters(report_ids: list[int]):
    """Reports (id, reporter, time, held) with their reporter's name and consent."""
    return (
        select(
            Report.id,
            Report.reporter_id,
            Report.submitted_at,
            _held_clause(),
            User.name,
            User.consent_named,
        )
        .outerjoin(User, User.id == Report.reporter_id)
        .where(Report.id.in_(report_ids))
    )


def reporter_label(name: str | None, consent_named: bool | None, reporter_id: int) -> str:
    """The name where the reporter agreed to be named, else a neutral label."""
    if consent_named and name:
        return name
    return f"职工 #{reporter_id}"


def award_rows(session: Session, filters: AwardFilters, *, tz: str) -> list[AwardRow]:
    """The ranked award list, ready for the API and the exports. A year holds some 100 000
    verified hazards and more reports merged into them: those are counted, and read only where
    one was sent before the hazard it was merged into (then it is the cluster's first)."""
    # Reporters' (name, consent to be named): labels are made for those on the list only.
    people: dict[int, tuple[str | None, bool | None]] = {}
    heads = session.execute(
        _verified_summaries(_verified_conditions(session, filters, tz=tz))
    ).all()
    earlier_ids = [row.first_merged_id for row in heads if row.first_merged_id is not None]
    earlier: dict[int, ClusterMember] = {}
    for start in range(0, len(earlier_ids), BATCH):
        for report_id, reporter_id, at, held, name, consent in session.execute(
            _reports_with_reporters(earlier_ids[start : start + BATCH])
        ):
            earlier[report_id] = ClusterMember(report_id, reporter_id, at, held)
            people[reporter_id] = (name, consent)
    found, region_of = [], {}
    for (
        report_id,
        severity,
        confirmed,
        prevented,
        account,
        region_code,
        reporter_id,
        at,
        held,
        merged,
        first_merged_id,
        name,
        consent,
    ) in heads:
        if first_merged_id is None:
            first = ClusterMember(report_id, reporter_id, at, held)
        else:
            first = earlier[first_merged_id]
        # The rules read of a cluster its first report and its size only: the first report
        # stands for each of the others too (none of them can earn the credit).
        members = (first,) * (merged + 1)
        found.append(Cluster(report_id, severity, confirmed, prevented, account, members))
        region_of[report_id] = region_code
        people[reporter_id] = (name, consent)
    standings: list[Standing] = rank(found)
    if not standings:
        return []
    region_names = dict(session.execute(select(Region.code, Region.name_zh)).all())
    # Granted commendations are few (the committee grants each one): the latest level counts.
    granted = {
        reporter_id: Level(level).label_zh
        for reporter_id, level in session.execute(
            select(Commendation.reporter_id, Commendation.level)
            .where(Commendation.status == "granted")
            .order_by(Commendation.id)
        )
    }
    rows = []
    for standing in standings:
        region_code = region_of.get(standing.credits[0].report_id)
        rows.append(
            AwardRow(
                rank=standing.rank,
                reporter=reporter_label(*people[standing.reporter_id], standing.reporter_id),
                region=region_names.get(region_code, "") if region_code else "",
                points=standing.points,
                report_ids=tuple(c.report_id for c in standing.credits),
                reasons=tuple(c.reason for c in standing.credits),
                level=granted.get(standing.reporter_id),
            )
        )
    return rows


def propose(
    session: Session,
    *,
    reporter_id: int,
    report_ids: list[int],
    level: str,
    reason: str,
    campaign_id: int | None,
    actor: Principal,
    now: datetime,
) -> Commendation:
    """Propose (inspector) or grant at once (committee, admin) a commendation; each report
    behind it records the step in its timeline."""
    behind = list(session.scalars(select(Report).where(Report.id.in_(report_ids))))
    # One answer for a wrong reporter, an unknown report and a report outside the inspector's
    # scope, so a proposal cannot be used to find out who reported what.
    if (
        len(behind) != len(set(report_ids))
        or not behind
        or any(not access.can_read(session, actor, r) for r in behind)
        or any(r.reporter_id != reporter_id or r.status != Status.VERIFIED.value for r in behind)
    ):
        raise ValidationFailed(
            field="report_ids",
            detail="只能依据该职工已验收的报告 / the reporter's verified reports",
        )
    grants = actor.role is not None and actor.role.value in ("committee", "admin")
    commendation = Commendation(
        reporter_id=reporter_id,
        report_ids=sorted(set(report_ids)),
        level=Level(level).value,
        reason=reason.strip(),
        points=sum(
            report_points(r.severity, r.hazard_confirmed, r.accident_prevented) for r in behind
        ),
        campaign_id=campaign_id,
        status="granted" if grants else "proposed",
        proposed_by=actor.user.id,
        granted_by=actor.user.id if grants else None,
        granted_at=now if grants else None,
        created_at=now,
    )
    session.add(commendation)
    session.flush()
    for report in behind:
        report.events.append(
            Event(
                at=now,
                actor=actor.actor,
                action="commendation_granted" if grants else "commendation_proposed",
                data={"commendation_id": commendation.id, "level": commendation.level},
            )
        )
    if grants:
        _announce_granted(session, commendation, now)
    session.commit()
    return commendation


def grant(session: Session, commendation_id: int, *, actor: Principal, now: datetime):
    """The committee grants a proposed commendation."""
    commendation = session.get(Commendation, commendation_id)
    if commendation is None:
        raise NotFound(what="该表彰", what_en="commendation")
    if commendation.status != "granted":
        commendation.status, commendation.granted_by = "granted", actor.user.id
        commendation.granted_at = now
        for report in session.scalars(select(Report).where(Report.id.in_(commendation.report_ids))):
            report.events.append(
                Event(
                    at=now,
                    actor=actor.actor,
                    action="commendation_granted",
                    data={"commendation_id": commendation.id, "level": commendation.level},
                )
            )
        _announce_granted(session, commendation, now)
        session.commit()
    return commendation


def clear_flags(session: Session, report: Report, *, reason: str, actor: Principal, now) -> Report:
    """An inspector has checked the anti-fraud flags: the report may count again."""
    if not (reason or "").strip():
        raise ValidationFailed(field="reason", detail="请说明核查结果 / a reason is required")
    report.flags_cleared_at, report.flags_cleared_by = now, actor.user.id
    report.events.append(
        Event(
            at=now,
            actor=actor.actor,
            action="flags_cleared",
            data={"flags": list(report.flags or []), "reason": reason.strip()},
        )
    )
    session.commit()
    return report


def visible_commendations(session: Session, actor: Principal) -> list[Commendation]:
    """Commendations, newest first; an inspector sees only those behind reports in scope."""
    commendations = list(session.scalars(select(Commendation).order_by(Commendation.id.desc())))
    if actor.role is None or actor.role.value != "inspector":
        return commendations
    ids = {i for c in commendations for i in c.report_ids}
    visible = set(
        session.scalars(
            select(Report.id).where(Report.id.in_(ids), access.visible_clause(session, actor))
        )
    )
    return [c for c in commendations if set(c.report_ids) <= visible]


def _announce_granted(session: Session, commendation: Commendation, now: datetime) -> None:
    """Tell integrators; the reporter is not named (the reports are)."""
    integrations.emit(
        session,
        "commendation.granted",
        {
            "commendation_id": commendation.id,
            "level": commendation.level,
            "report_ids": list(commendation.report_ids),
        },
        now=now,
    )
