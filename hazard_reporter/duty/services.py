"""The duty reports from the database: which regions get one, and what each one counts.

What counts as new: every report submitted in the window (day-1 15:30, day 15:30] local time in
the region's subtree, whatever its status now (rejected ones included: the duty officer sees what
came in), except duplicates, which are merged into another report that is counted itself.
Statuses are read as they stand when the report is made.

What counts as overdue: reports of the subtree still open (forwarded, acknowledged, rectifying)
whose ``overdue`` flag the escalation job has set, as it stands when the report is made; for the
usual run just after 15:30 that is the count at the window's end.

Reports without a region code belong to no region and so appear in no duty report.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from hazard_reporter.duty.report import (
    DUTY_CLOSE,
    DUTY_TZ,
    DutyReport,
    ReportLine,
    build,
    duty_window,
    heading,
)
from hazard_reporter.errors import UnknownRegion
from hazard_reporter.regions.models import Region
from hazard_reporter.regions.services import subtree_codes
from hazard_reporter.reports.models import Report, Severity, Status

OPEN_STATUSES = (Status.FORWARDED.value, Status.ACKNOWLEDGED.value, Status.RECTIFYING.value)


def duty_regions(session: Session, region_code: str | None = None) -> list[Region]:
    """The regions that get a report: the one asked for, or each top-level region and its
    children (a province, then its cities), in code order."""
    if region_code is not None:
        region = session.get(Region, region_code)
        if region is None:
            raise UnknownRegion(field="region", region_code=region_code)
        return [region]
    tops = list(
        session.scalars(select(Region).where(Region.parent_code.is_(None)).order_by(Region.code))
    )
    children = list(
        session.scalars(
            select(Region)
            .where(Region.parent_code.in_([top.code for top in tops]))
            .order_by(Region.code)
        )
    )
    ordered: list[Region] = []
    for top in tops:
        ordered.append(top)
        ordered += [child for child in children if child.parent_code == top.code]
    return ordered


def duty_reports(
    session: Session,
    *,
    day: date,
    region_code: str | None = None,
    tz: str = DUTY_TZ,
    close: time = DUTY_CLOSE,
) -> list[DutyReport]:
    """One duty report per region (see ``duty_regions``), each counting its whole subtree."""
    regions = duty_regions(session, region_code)
    subtrees = {region.code: frozenset(subtree_codes(session, region.code)) for region in regions}
    wanted = frozenset().union(*subtrees.values())
    start, end = duty_window(day, tz, close)
    in_scope = Report.region_code.in_(wanted) if region_code else Report.region_code.is_not(None)

    # Only red reports are listed with their text: the others' descriptions are not loaded.
    description = case(
        (Report.severity == Severity.RED.value, Report.description), else_=literal("")
    )
    lines = [
        ReportLine(
            id=row.id,
            sector=row.sector,
            severity=row.severity,
            region_code=row.region_code,
            description=row.description,
            submitted_at=row.submitted_at,
            status=row.status,
            overdue=bool(row.overdue),
        )
        for row in session.execute(
            select(
                Report.id,
                Report.sector,
                Report.severity,
                Report.region_code,
                description.label("description"),
                Report.submitted_at,
                Report.status,
                Report.overdue,
            ).where(
                in_scope,
                Report.submitted_at > start,
                Report.submitted_at <= end,
                Report.status != Status.DUPLICATE.value,
            )
        )
    ]
    overdue_by_region: Counter[str] = Counter(
        dict(
            session.execute(
                select(Report.region_code, func.count())
                .where(in_scope, Report.overdue.is_(True), Report.status.in_(OPEN_STATUSES))
                .group_by(Report.region_code)
            ).all()
        )
    )
    return [
        build(
            region.code,
            region.name_zh,
            day,
            [line for line in lines if line.region_code in subtrees[region.code]],
            sum(overdue_by_region[code] for code in subtrees[region.code]),
            tz=tz,
            close=close,
        )
        for region in regions
    ]


# A report's row is committed a moment after its submission time (its photos are stored first):
# the window is read only this long after it closes, so that one submitted at 15:29 counts.
DUTY_GRACE = timedelta(minutes=3)
# A day whose report no process sent (all of them down from 15:30 to midnight) is sent late, for
# a region with a report sent before it, up to this many days back.
CATCH_UP_DAYS = 7


def message_payload(report: DutyReport, *, late: bool = False) -> dict:
    """The outbox payload of a duty report: a title and labelled lines (Chinese)."""
    colours = report.new_by_colour
    lines = [
        [
            "新增隐患",
            f"共 {report.total_new} 起：红 {colours['red']} / 橙 {colours['orange']} / "
            f"黄 {colours['yellow']} / 蓝 {colours['blue']}",
        ],
        ["超期未办", str(report.overdue)],
    ]
    if report.is_zero:
        lines.insert(0, ["无事报平安", "本时段无新增隐患，无超期事项"])
    for line in report.reds:
        lines.append([f"红色 #{line.id}", line.description[:60]])
    return {
        "title": ("【补发】" if late else "") + heading(report),
        "lines": lines,
        "region": {"code": report.region_code, "name": report.region_name},
        "day": report.day.isoformat(),
        "summary_en": f"Daily duty report {report.day.isoformat()} {report.region_code}: "
        f"{report.total_new} new, {report.overdue} overdue.",
    }


def send_due_duty_reports(session: Session, *, now: datetime, tz: str = DUTY_TZ) -> int:
    """Once the day's window has closed (15:30 local, read ``DUTY_GRACE`` later), send each
    region's duty report to its union labour-protection department through the outbox, once per
    region and day; a day no process sent (``CATCH_UP_DAYS``) is sent late, marked 补发."""
    from sqlalchemy.exc import IntegrityError

    from hazard_reporter.deliveries import services as deliveries
    from hazard_reporter.duty.models import DutyReportRun
    from hazard_reporter.units.models import Unit
    from hazard_reporter.units.services import region_chain

    local = now.astimezone(ZoneInfo(tz))
    today = local.date()
    closed_today = (local - DUTY_GRACE).date() == today and (
        local - DUTY_GRACE
    ).time() >= DUTY_CLOSE
    # Which regions have a report sent before, since when, and which days they lack: read from
    # the runs (a small table), so that a past day is only counted again when one is missing.
    first_day = dict(
        session.execute(
            select(DutyReportRun.region_code, func.min(DutyReportRun.day)).group_by(
                DutyReportRun.region_code
            )
        ).all()
    )
    start = today - timedelta(days=CATCH_UP_DAYS)
    sent_days: dict[date, set[str]] = {}
    for day, code in session.execute(
        select(DutyReportRun.day, DutyReportRun.region_code).where(DutyReportRun.day >= start)
    ):
        sent_days.setdefault(day, set()).add(code)
    # A day with no run at all (every process down from 15:30 to midnight), after reports had
    # been sent: a day on which some regions were sent is complete (a region without a reachable
    # office has none), and is not counted again at every pass.
    days = [
        day
        for day in (start + timedelta(days=k) for k in range(CATCH_UP_DAYS))
        if not sent_days.get(day) and any(first < day for first in first_day.values())
    ]
    if closed_today:
        days.append(today)
    sent = 0
    # By id, as routing picks among them: not in whatever order the database reads them.
    unions = session.scalars(
        select(Unit).where(Unit.is_union_department.is_(True)).order_by(Unit.id)
    ).all()
    for report in (r for day in days for r in duty_reports(session, day=day, tz=tz)):
        late = report.day != today
        if late and not (first_day.get(report.region_code, report.day) < report.day):
            continue  # no report sent for this region before: nothing to catch up on
        chain = region_chain(session, report.region_code)
        office = next(
            (u for code in chain for u in unions if u.region_code == code and u.channels), None
        )
        if office is None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    DutyReportRun(
                        day=report.day,
                        region_code=report.region_code,
                        sent_at=now,
                        total_new=report.total_new,
                    )
                )
        except IntegrityError:
            continue  # sent already today
        payload = message_payload(report, late=late)
        deliveries.enqueue(session, kind="duty.report", payload=payload, unit=office, now=now)
        session.commit()
        sent += 1
    return sent
