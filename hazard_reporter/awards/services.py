"""Award lists, commendations, campaigns and the clearing of anti-fraud flags."""

from __future__ import annotations

import bisect
import calendar
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from hazard_reporter.accounts.models import User
from hazard_reporter.accounts.principal import Principal
from hazard_reporter.awards.exports import AwardRow
from hazard_reporter.awards.models import Campaign, Commendation, Level
from hazard_reporter.awards.points import (
    Cluster,
    ClusterMember,
    Credit,
    credit_for,
    report_points,
)
from hazard_reporter.core.pagination import decode_json_cursor, encode_json_cursor
from hazard_reporter.errors import (
    AlreadyCommended,
    CommendationStale,
    NotCredited,
    NotFound,
    ValidationFailed,
)
from hazard_reporter.integrations import services as integrations
from hazard_reporter.regions import services as regions
from hazard_reporter.regions.models import Region
from hazard_reporter.reports import access
from hazard_reporter.reports.models import Event, Report

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


def _scope(session: Session, filters: AwardFilters, *, tz: str) -> list:
    """The SQL conditions of the filters' period, regions and sector (on reports)."""
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
    conditions = [Report.submitted_at >= lower, Report.submitted_at < upper]
    if codes is not None:
        conditions.append(Report.region_code.in_(codes))
    if filters.sector:
        conditions.append(Report.sector == filters.sector)
    return conditions


def reporter_label(name: str | None, consent_named: bool | None, reporter_id: int) -> str:
    """The name where the reporter agreed to be named, else a neutral label."""
    if consent_named and name:
        return name
    return f"职工 #{reporter_id}"


@dataclass(frozen=True)
class Ranked:
    """A reporter's place in the list: (rank, reporter, points)."""

    rank: int
    reporter_id: int
    points: int


@dataclass(frozen=True)
class AwardPage:
    rows: list[AwardRow]
    total: int  # reporters in the whole list
    next_cursor: str | None


def standings(session: Session, filters: AwardFilters, *, tz: str) -> list[Ranked]:
    """Every credited reporter of the filters with their points and rank, best first: ties
    share a rank (1, 2, 2, 4) and are ordered by reporter id, as ``points.rank`` orders them.
    The sums come from the stored credits (``awards.credits``), from one index."""
    totals = sorted(
        session.execute(
            select(Report.credit_reporter_id, func.sum(Report.credit_points))
            .where(Report.credit_reporter_id.is_not(None), *_scope(session, filters, tz=tz))
            .group_by(Report.credit_reporter_id)
        ).all(),
        key=lambda item: (-item[1], item[0]),
    )
    ranked: list[Ranked] = []
    for position, (reporter_id, points) in enumerate(totals, start=1):
        shared = ranked and ranked[-1].points == points
        ranked.append(Ranked(ranked[-1].rank if shared else position, reporter_id, int(points)))
    return ranked


def _rows_for(
    session: Session, filters: AwardFilters, places: list[Ranked], *, tz: str
) -> list[AwardRow]:
    """The award rows of ``places`` (at most BATCH reporters): each one's credited hazards with
    the reasons the rules give them, their label, region and latest granted commendation."""
    if not places:
        return []
    ids = [place.reporter_id for place in places]
    counted = aliased(Report, name="counted")
    size = (
        select(func.count())
        .where(counted.duplicate_of_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )
    credits_of: dict[int, list[Credit]] = defaultdict(list)
    region_of: dict[int, str | None] = {}
    for row in session.execute(
        select(
            Report.id,
            Report.credit_reporter_id,
            Report.severity,
            Report.hazard_confirmed,
            Report.accident_prevented,
            Report.prevented_account,
            Report.region_code,
            Report.submitted_at,
            size.label("merged"),
        )
        .where(Report.credit_reporter_id.in_(ids), *_scope(session, filters, tz=tz))
        .order_by(Report.id)
    ):
        # The rules read of a cluster its first report and its size only. Who that first
        # reporter is, and that they are not held, is what was stored: a member standing for
        # them stands for each of the others too (none of them can earn the credit).
        first = ClusterMember(row.id, row.credit_reporter_id, row.submitted_at, False)
        cluster = Cluster(
            row.id,
            row.severity,
            row.hazard_confirmed,
            row.accident_prevented,
            row.prevented_account,
            (first,) * (row.merged + 1),
        )
        credits_of[row.credit_reporter_id].append(credit_for(cluster))
        region_of.setdefault(row.credit_reporter_id, row.region_code)
    people = {
        user_id: (name, consent)
        for user_id, name, consent in session.execute(
            select(User.id, User.name, User.consent_named).where(User.id.in_(ids))
        )
    }
    codes = {code for code in region_of.values() if code}
    region_names = dict(
        session.execute(select(Region.code, Region.name_zh).where(Region.code.in_(codes))).all()
    )
    # Granted commendations are few (the committee grants each one). A row shows the latest one
    # granted for a hazard in this list, never one for a hazard of another period or campaign
    # (its certificate would say so).
    granted: dict[int, list[tuple[set[int], str]]] = defaultdict(list)
    for reporter_id, level, report_ids in session.execute(
        select(Commendation.reporter_id, Commendation.level, Commendation.report_ids)
        .where(Commendation.status == "granted", Commendation.reporter_id.in_(ids))
        .order_by(Commendation.id)
    ):
        granted[reporter_id].append(({int(i) for i in report_ids or []}, Level(level).label_zh))
    rows = []
    for place in places:
        earned = credits_of[place.reporter_id]
        region_code = region_of.get(place.reporter_id)
        listed = {c.report_id for c in earned}
        levels = [label for about, label in granted[place.reporter_id] if about & listed]
        rows.append(
            AwardRow(
                rank=place.rank,
                reporter=reporter_label(
                    *people.get(place.reporter_id, (None, None)), place.reporter_id
                ),
                region=region_names.get(region_code, "") if region_code else "",
                points=place.points,
                report_ids=tuple(c.report_id for c in earned),
                reasons=tuple(c.reason for c in earned),
                level=levels[-1] if levels else None,
                reporter_id=place.reporter_id,
            )
        )
    return rows


def iter_award_rows(session: Session, filters: AwardFilters, *, tz: str) -> Iterator[AwardRow]:
    """The whole ranked list, read BATCH reporters at a time (the CSV streams it). The filters
    are checked and the ranks read at once, so that a wrong filter fails before any row."""
    ranked = standings(session, filters, tz=tz)

    def rows() -> Iterator[AwardRow]:
        for start in range(0, len(ranked), BATCH):
            yield from _rows_for(session, filters, ranked[start : start + BATCH], tz=tz)

    return rows()


def award_rows(session: Session, filters: AwardFilters, *, tz: str) -> list[AwardRow]:
    """The whole ranked award list, ready for the exports."""
    return list(iter_award_rows(session, filters, tz=tz))


def _encode_cursor(place: Ranked) -> str:
    return encode_json_cursor([place.points, place.reporter_id])


def _decode_cursor(cursor: str) -> tuple[int, int]:
    points, reporter_id = decode_json_cursor(cursor, 2)
    if not isinstance(points, int) or not isinstance(reporter_id, int):
        raise ValidationFailed(field="cursor", detail="无效的分页游标 / invalid cursor")
    return -points, reporter_id


def award_page(
    session: Session, filters: AwardFilters, *, tz: str, limit: int, cursor: str | None = None
) -> AwardPage:
    """One page of the ranked list, after ``cursor`` (the last row of the page before): the
    ranks are those of the whole list, and ``total`` counts its reporters."""
    ranked = standings(session, filters, tz=tz)
    start = 0
    if cursor:
        start = bisect.bisect_right(
            ranked, _decode_cursor(cursor), key=lambda p: (-p.points, p.reporter_id)
        )
    places = ranked[start : start + limit]
    more = start + limit < len(ranked)
    return AwardPage(
        rows=_rows_for(session, filters, places, tz=tz),
        total=len(ranked),
        next_cursor=_encode_cursor(places[-1]) if more and places else None,
    )


def propose(
    session: Session,
    *,
    reporter_id: int | None,
    report_ids: list[int],
    level: str,
    reason: str,
    campaign_id: int | None,
    actor: Principal,
    now: datetime,
) -> Commendation:
    """Propose (inspector) or grant at once (committee, admin) a commendation for the reporter
    the hazards are credited to (``reporter_id`` names them, or is taken from the hazards); each
    report behind it records the step in its timeline."""
    _lock_hazards(session, report_ids)
    behind = list(session.scalars(select(Report).where(Report.id.in_(report_ids))))
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise NotFound(field="campaign_id", what="该活动", what_en="campaign")
    if reporter_id is None:  # the reporter the hazards are credited to (the same for all)
        credited = {r.credit_reporter_id for r in behind}
        reporter_id = credited.pop() if len(credited) == 1 else None
    # A commendation stands on hazards the award list credits to this reporter: verified, the
    # cluster's first report, not held by anti-fraud flags (stored on the head report as
    # credit_reporter_id, so the first reporter of a merged cluster is the one commended).
    # One answer for a wrong reporter, an unknown report and a report outside the inspector's
    # scope, so a proposal cannot be used to find out who reported what.
    if (
        len(behind) != len(set(report_ids))
        or not behind
        or reporter_id is None
        or any(not access.can_read(session, actor, r) for r in behind)
        or any(r.credit_reporter_id != reporter_id for r in behind)
    ):
        raise NotCredited(field="report_ids")
    for report in behind:
        access.refuse_own_report(session, report, actor)
    _refuse_commended_twice(session, Level(level).value, behind)
    grants = actor.role is not None and actor.role.value in ("committee", "admin")
    commendation = Commendation(
        reporter_id=reporter_id,
        report_ids=sorted(set(report_ids)),
        level=Level(level).value,
        reason=reason.strip(),
        points=_points(behind),
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
    """The committee grants a proposed commendation, if its hazards are still credited to the
    reporter (a report may have been reopened, held or merged since it was proposed) and none is
    the granter's own; its points are those of the hazards now."""
    commendation = session.get(Commendation, commendation_id)
    if commendation is None:
        raise NotFound(what="该表彰", what_en="commendation")
    _lock_hazards(session, commendation.report_ids)  # two grants at once: one after the other
    session.refresh(commendation)
    if commendation.status != "granted":
        behind = list(session.scalars(select(Report).where(Report.id.in_(commendation.report_ids))))
        present = {r.id for r in behind}
        for report_id in commendation.report_ids:
            if report_id not in present:
                raise CommendationStale(report_id=report_id)
        for report in behind:
            if report.credit_reporter_id != commendation.reporter_id:
                raise CommendationStale(report_id=report.id)
            access.refuse_own_report(session, report, actor)
        commendation.status, commendation.granted_by = "granted", actor.user.id
        commendation.granted_at = now
        commendation.points = _points(behind)
        for report in behind:
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


def _points(behind: list[Report]) -> int:
    return sum(report_points(r.severity, r.hazard_confirmed, r.accident_prevented) for r in behind)


def _lock_hazards(session: Session, report_ids: list[int]) -> None:
    """Take the hazards' rows for this transaction, before anything about them is checked: two
    proposals at once (a double click) then run one after the other, and the second sees the
    first's commendation. A write, as SQLite locks only for writes (PostgreSQL: the rows)."""
    session.execute(
        update(Report)
        .where(Report.id.in_(report_ids))
        .values(id=Report.id)
        .execution_options(synchronize_session=False)
    )


def _refuse_commended_twice(session: Session, level: str, behind: list[Report]) -> None:
    """A hazard earns one commendation of each level, whoever it went to (a second click, a
    second inspector, or the credit moved to an earlier reporter by a merge since)."""
    wanted = {r.id for r in behind}
    earlier = session.execute(
        select(Commendation.id, Commendation.report_ids).where(Commendation.level == level)
    )
    for commendation_id, report_ids in earlier:
        again = wanted & {int(i) for i in report_ids or []}
        if again:
            raise AlreadyCommended(report_id=min(again), commendation_id=commendation_id)


def clear_flags(session: Session, report: Report, *, reason: str, actor: Principal, now) -> Report:
    """An inspector has checked the anti-fraud flags: the report may count again."""
    access.refuse_own_report(session, report, actor)
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
