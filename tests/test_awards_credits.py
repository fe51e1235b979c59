"""The stored award credits (awards.credits) against the rules over full clusters: whatever
changes a report goes through, the list read from them is the list the rules give."""

from __future__ import annotations

import importlib.util
import random
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from hazard_reporter.accounts.models import User
from hazard_reporter.awards import credits, services
from hazard_reporter.awards.points import Cluster, ClusterMember, rank
from hazard_reporter.core.db import utcnow
from hazard_reporter.extensions import db
from hazard_reporter.reports.models import Report, Status

TZ = "Asia/Shanghai"
MIGRATION = Path(__file__).resolve().parent.parent / "migrations/versions/0010_award_credits.py"


def clusters(session, filters: services.AwardFilters, *, tz: str) -> list[Cluster]:
    """Verified hazards in the filters, each with every report merged into it: the rules'
    whole input, read plainly (``points.rank`` over these is the award list by definition)."""
    conditions = [
        Report.status == Status.VERIFIED.value,
        Report.duplicate_of_id.is_(None),
        *services._scope(session, filters, tz=tz),
    ]
    held = credits.held_clause().label("held")
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


def expected_rows(filters: services.AwardFilters, names: dict[int, str]) -> list[tuple]:
    """The list by definition: points.rank over every cluster's full membership."""
    return [
        (
            s.rank,
            names.get(s.reporter_id, f"职工 #{s.reporter_id}"),
            s.points,
            tuple(c.report_id for c in s.credits),
            tuple(c.reason for c in s.credits),
        )
        for s in rank(clusters(db.session, filters, tz=TZ))
    ]


def listed_rows(rows) -> list[tuple]:
    return [(r.rank, r.reporter, r.points, r.report_ids, r.reasons) for r in rows]


def paged(filters: services.AwardFilters, limit: int) -> tuple[list, set[int]]:
    """Every page of the list in turn, and the totals the pages gave."""
    rows, totals, cursor = [], set(), None
    while True:
        page = services.award_page(db.session, filters, tz=TZ, limit=limit, cursor=cursor)
        rows += page.rows
        totals.add(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return rows, totals


@pytest.fixture
def world(app):
    """40 verified hazards, 60 reports merged into them before, at or after them, and a few
    unverified reports, by 8 reporters (half consenting to be named) and anonymous ones."""
    rng = random.Random(11)
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        reporters = [
            User(phone=f"1371111{i:04d}", password_hash="-", name=f"职工{i}", consent_named=i % 2)
            for i in range(8)
        ]
        db.session.add_all(reporters)
        db.session.flush()

        def new_report(**fields) -> Report:
            reporter = rng.choice([None, *reporters])
            values = {
                "sector": rng.choice(["construction", "gas_network"]),
                "description": "x",
                "status": "verified",
                "severity": rng.choice(["red", "orange", "yellow", "blue"]),
                "location_source": "device",
                "region_code": rng.choice(["510703", "510781", None]),
                "submitted_at": now - timedelta(hours=rng.randrange(1, 48)),
                "anonymous": reporter is None,
                "reporter_id": reporter.id if reporter else None,
                "request_fingerprint": "x",
                "flags": rng.choice([[], [], [], ["stale_photo"]]),
                "flags_cleared_at": rng.choice([None, now]),
                "hazard_confirmed": rng.choice([None, "general", "major"]),
                "accident_prevented": rng.random() < 0.3,
                "prevented_account": rng.choice([None, "避免了坍塌"]),
                **fields,
            }
            report = Report(**values)
            db.session.add(report)
            db.session.flush()
            return report

        heads = [new_report() for _ in range(40)]
        merged = []
        for _ in range(60):
            head = rng.choice(heads)
            merged.append(
                new_report(
                    status="duplicate",
                    duplicate_of_id=head.id,
                    submitted_at=head.submitted_at
                    + timedelta(hours=rng.choice([-2, -1, 0, 0, 1, 3])),
                )
            )
        others = [new_report(status=rng.choice(["submitted", "rectifying"])) for _ in range(10)]
        db.session.commit()
        yield {
            "rng": rng,
            "now": now,
            "reporters": reporters,
            "heads": [h.id for h in heads],
            "merged": [m.id for m in merged],
            "others": [o.id for o in others],
            "names": {u.id: u.name for u in reporters if u.consent_named},
            "filters": services.AwardFilters(
                start=date.today() - timedelta(days=5), end=date.today() + timedelta(days=1)
            ),
        }


def assert_agrees(world) -> None:
    filters, names = world["filters"], world["names"]
    expected = expected_rows(filters, names)
    assert listed_rows(services.award_rows(db.session, filters, tz=TZ)) == expected
    for limit in (1, 3, 100):
        rows, totals = paged(filters, limit)
        assert listed_rows(rows) == expected
        assert totals == {len(expected)}
    for narrower in (
        services.AwardFilters(filters.start, filters.end, region="510703"),
        services.AwardFilters(filters.start, filters.end, sector="gas_network"),
    ):
        assert listed_rows(services.award_rows(db.session, narrower, tz=TZ)) == expected_rows(
            narrower, names
        )


def test_stored_credits_give_the_rules_list_through_every_change(app, world):
    rng, now = world["rng"], world["now"]
    with app.app_context():
        assert len(expected_rows(world["filters"], world["names"])) > 3
        assert_agrees(world)

        def some(key, count=4):
            return list(
                db.session.scalars(
                    select(Report).where(Report.id.in_(rng.sample(world[key], count)))
                )
            )

        # Anti-fraud flags raised on first reports and merged ones (as the photo checks do),
        # then cleared.
        for report in some("heads") + some("merged"):
            report.flags = [*(report.flags or []), "duplicate_photo"]
            report.flags_cleared_at = None
        db.session.commit()
        assert_agrees(world)
        for report in some("heads") + some("merged"):
            report.flags_cleared_at = now
        db.session.commit()
        assert_agrees(world)

        # Anonymous reports claimed with their token; outcomes and colours recorded late.
        anonymous = db.session.scalars(select(Report).where(Report.reporter_id.is_(None))).all()
        for report in anonymous[:6]:
            report.reporter_id = world["reporters"][0].id
        for report in some("heads"):
            report.hazard_confirmed, report.accident_prevented = "major", True
            report.prevented_account = "避免了触电"
        for report in some("heads"):
            report.severity = "red"
        db.session.commit()
        assert_agrees(world)

        # Merged reports moved to another hazard; a hazard merged into another with its
        # followers (as inspection.merge does); one taken back to rectification; one
        # verified late; a merged report deleted.
        for report in some("merged"):
            report.duplicate_of_id = rng.choice(world["heads"])
        head, into = (db.session.get(Report, i) for i in rng.sample(world["heads"], 2))
        head.status, head.duplicate_of_id = "duplicate", into.id
        for follower in db.session.scalars(select(Report).where(Report.duplicate_of_id == head.id)):
            follower.duplicate_of_id = into.id
        world["heads"].remove(head.id)
        db.session.get(Report, rng.choice(world["heads"])).status = "rectifying"
        db.session.get(Report, world["others"][0]).status = "verified"
        db.session.delete(db.session.get(Report, world["merged"][0]))
        db.session.commit()
        assert_agrees(world)

        # A merged report re-dated before its hazard becomes the first.
        for report in some("merged"):
            report.submitted_at = report.submitted_at - timedelta(hours=5)
        db.session.commit()
        assert_agrees(world)


def test_migration_backfill_stores_what_the_flush_hook_stores(app, world):
    spec = importlib.util.spec_from_file_location("award_credits_0010", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    stored = select(Report.id, Report.credit_reporter_id, Report.credit_points).order_by(Report.id)
    with app.app_context():
        by_hook = db.session.execute(stored).all()
        assert any(row.credit_reporter_id for row in by_hook)
        db.session.execute(update(Report).values(credit_reporter_id=None, credit_points=None))
        db.session.execute(text(migration.BACKFILL))
        db.session.commit()
        assert db.session.execute(stored).all() == by_hook


def test_refresh_credits_puts_right_what_processes_without_the_hook_changed(app, world):
    # During a rolling upgrade the release before 0010 keeps serving: it verifies, rejects and
    # merges reports without keeping their stored credits. The command computes them again.
    stored = select(Report.id, Report.credit_reporter_id, Report.credit_points).order_by(Report.id)
    heads, others = world["heads"], world["others"]
    with app.app_context():
        # Bulk statements skip the flush hook, as the old code's changes would.
        db.session.execute(update(Report).where(Report.id == heads[0]).values(status="rejected"))
        db.session.execute(update(Report).where(Report.id == others[0]).values(status="verified"))
        db.session.commit()
        stale = db.session.execute(stored).all()
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["awards", "refresh-credits"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        refreshed = db.session.execute(stored).all()
        # What the flush hook would store: the same UPDATE over every report.
        db.session.execute(update(Report).values(credit_reporter_id=None, credit_points=None))
        from hazard_reporter.awards import credits

        credits.refresh(db.session.connection(), [r.id for r in refreshed])
        db.session.commit()
        assert refreshed == db.session.execute(stored).all()
    assert refreshed != stale
    by_id = {row.id: row for row in refreshed}
    assert by_id[heads[0]].credit_points is None
    assert by_id[others[0]].credit_points is not None
