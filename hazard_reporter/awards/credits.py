"""The award credit each verified hazard earns, stored on its report so that a year's list is a
GROUP BY over a small partial index rather than the rules run over every cluster.

``reports.credit_reporter_id`` is the reporter ``points.credit_for`` would credit for the cluster
headed by the report, NULL when none (not a verified hazard, merged into another, its first report
held by anti-fraud flags or anonymous and not claimed); ``reports.credit_points`` the hazard's
points. One set-based UPDATE computes both for the hazards given, from the rows themselves.

A flush hook keeps them current: whenever a report is added, changed in anything the rules read
(status, merge, time, reporter, flags, colour, outcome) or deleted, the hazards it belongs to (and
belonged to, before a merge moved it) are computed again in the same transaction. Every module
changing reports through the ORM is covered without knowing about awards; a bulk UPDATE of those
columns must call ``refresh`` itself (the bench's bulk load does, after loading).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, event, func, inspect, null, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import get_history

from hazard_reporter.awards.points import (
    ACCIDENT_PREVENTED_BONUS,
    MAJOR_HAZARD_BONUS,
    POINTS_BY_COLOUR,
)
from hazard_reporter.reports.models import Report, Status

# What the rules read of a report (points.credit_for): a change to any of these can move a credit.
TRACKED = (
    "status",
    "duplicate_of_id",
    "submitted_at",
    "reporter_id",
    "flags",
    "flags_cleared_at",
    "severity",
    "hazard_confirmed",
    "accident_prevented",
)
STORED = ("credit_reporter_id", "credit_points")
# Hazards per statement (bound parameters: SQLite takes 32 766, psycopg 65 535).
BATCH = 10_000
_PENDING = "hazard_reporter.awards.refreshed"


def held_clause(report=Report):
    """``services.is_held`` in SQL: anti-fraud flags not yet cleared."""
    return and_(
        report.flags_cleared_at.is_(None),
        func.coalesce(func.json_array_length(report.flags), 0) > 0,
    )


def points_clause(report=Report):
    """``points.report_points`` in SQL."""
    return (
        case(*((report.severity == colour, points) for colour, points in POINTS_BY_COLOUR.items()))
        + case((report.hazard_confirmed == "major", MAJOR_HAZARD_BONUS), else_=0)
        + case((report.accident_prevented, ACCIDENT_PREVENTED_BONUS), else_=0)
    )


def _credited_reporter():
    """The reporter credited for the cluster headed by the row updated (``Report``): its first
    report (by time, then id) among itself and those merged into it, unless held or anonymous."""
    merged, first = aliased(Report, name="merged"), aliased(Report, name="first")
    earlier = (
        select(merged.id)
        .where(
            merged.duplicate_of_id == Report.id,
            merged.submitted_at <= Report.submitted_at,
            or_(merged.submitted_at < Report.submitted_at, merged.id < Report.id),
        )
        .order_by(merged.submitted_at, merged.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )
    earlier_credited = (
        select(case((held_clause(first), null()), else_=first.reporter_id))
        .where(first.id == earlier)
        .correlate(Report)
        .scalar_subquery()
    )
    return case(
        (or_(Report.status != Status.VERIFIED.value, Report.duplicate_of_id.is_not(None)), null()),
        (earlier.is_not(None), earlier_credited),
        (held_clause(), null()),
        else_=Report.reporter_id,
    )


def refresh_statement(report_ids: Iterable[int] | None = None):
    """The UPDATE computing the stored credit of the reports ``report_ids`` (every report when
    None)."""
    hazard = and_(Report.status == Status.VERIFIED.value, Report.duplicate_of_id.is_(None))
    statement = update(Report).values(
        credit_reporter_id=_credited_reporter(),
        credit_points=case((hazard, points_clause()), else_=null()),
    )
    if report_ids is not None:
        statement = statement.where(Report.id.in_(sorted(report_ids)))
    return statement.execution_options(synchronize_session=False)


def refresh(connection, report_ids: Iterable[int]) -> None:
    """Compute the stored credits of ``report_ids`` on ``connection`` (a Connection or a
    Session)."""
    ids = sorted(set(report_ids))
    for start in range(0, len(ids), BATCH):
        connection.execute(refresh_statement(ids[start : start + BATCH]))


def backfill(connection) -> None:
    """Compute the credit of every verified hazard: after a bulk load, which bypasses the flush
    hook (the other reports keep the NULL they were loaded with)."""
    connection.execute(
        refresh_statement().where(
            Report.status == Status.VERIFIED.value, Report.duplicate_of_id.is_(None)
        )
    )


def recompute_all(connection) -> int:
    """Compute again every stored credit that is or may be wrong: each verified hazard's, and
    any other report still holding one. For after a rolling upgrade, when processes running
    the code before 0010 changed reports without the flush hook; returns the rows updated."""
    hazard = and_(Report.status == Status.VERIFIED.value, Report.duplicate_of_id.is_(None))
    result = connection.execute(
        refresh_statement().where(or_(hazard, Report.credit_reporter_id.is_not(None)))
    )
    return result.rowcount


def _changed(report: Report) -> bool:
    return any(get_history(report, key).has_changes() for key in TRACKED)


def _hazards_touched(session: Session) -> set[int]:
    """The hazards (cluster heads) whose credit this flush may have moved."""
    touched: set[int | None] = set()
    for report in session.new:
        # A new report counts once verified or merged; intake's plain new reports need nothing.
        if isinstance(report, Report) and (
            report.status == Status.VERIFIED.value or report.duplicate_of_id is not None
        ):
            touched.update((report.id, report.duplicate_of_id))
    for report in session.dirty:
        if isinstance(report, Report) and _changed(report):
            touched.update((report.id, report.duplicate_of_id))
            # A merge moved it: the hazard it left loses a member.
            touched.update(get_history(report, "duplicate_of_id").deleted or ())
    for report in session.deleted:
        if isinstance(report, Report):
            touched.add(report.duplicate_of_id)
    touched.discard(None)
    return touched


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(session: Session, _context) -> None:
    touched = _hazards_touched(session)
    if touched:
        refresh(session.connection(), touched)
        session.info[_PENDING] = touched


@event.listens_for(Session, "after_flush_postexec")
def _expire_refreshed(session: Session, _context) -> None:
    """Reports loaded in the session read their new credit from the database next time."""
    for report_id in session.info.pop(_PENDING, ()):
        report = session.identity_map.get(
            inspect(Report).identity_key_from_primary_key((report_id,))
        )
        if report is not None:
            session.expire(report, STORED)
