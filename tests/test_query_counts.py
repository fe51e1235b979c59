"""No N+1: a list endpoint runs as many SQL statements for 30 items as for 3."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from hazard_reporter.accounts.models import User
from hazard_reporter.awards.models import Campaign, Commendation
from hazard_reporter.core.db import utcnow
from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.demo import REGIONS
from hazard_reporter.duplicates.grid import cell_of
from hazard_reporter.extensions import db
from hazard_reporter.integrations.models import IntegrationHook
from hazard_reporter.photos.models import Photo
from hazard_reporter.reports.models import Event, Report, RoutingRule
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit
from tests.conftest import make_user

FEW, MANY = 3, 30
SECTORS = [s.value for s in Sector]


@contextmanager
def counted(app):
    """The SQL statements run inside the block (their text)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _report(now, index: int, **fields) -> Report:
    values = {
        "sector": "construction",
        "description": f"脚手架缺少防护栏 {index}",
        "status": "triaged",
        "severity": "orange",
        "severity_rank": 1,
        "lat": 31.4675,
        "lon": 104.6796,
        "grid_cell": cell_of(31.4675, 104.6796),
        "location_source": "device",
        "region_code": "510703",
        "submitted_at": now - timedelta(hours=index + 1),
        "urgency_due_at": now + timedelta(hours=index + 1),
        "request_fingerprint": "x",
        "flags": [],
        "triage_reasons": [{"code": "base", "zh": "行业基础等级", "en": "sector base"}],
    }
    values.update(fields)
    report = Report(**values)
    report.photos = [
        Photo(
            position=position,
            kind=kind,
            original_key=f"originals/{index}-{position}-{kind}",
            sha256=f"{index:060d}{position:04d}",
            size_bytes=1000,
            format="jpeg",
            width=640,
            height=480,
            derivatives="ready",
        )
        for position, kind in enumerate(("report", "report", "rectification"))
    ]
    report.events = [
        Event(
            at=values["submitted_at"], actor="reporter", action="submitted", to_status="submitted"
        )
    ]
    return report


def seed(app, count: int) -> dict:
    """``count`` of everything each list shows, all in the scope of the people returned."""
    now = utcnow()
    people = {
        "admin": make_user(app, "admin"),
        "inspector": make_user(app, "inspector", regions=["510700"]),
        "committee": make_user(app, "committee"),
        "worker": make_user(app, "worker"),
    }
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.slug == "my-zjj"))
        people["unit_staff"] = make_user(app, "unit_staff", unit_id=unit.id)
        worker = db.session.get(User, people["worker"]["id"])
        reporters = [
            User(
                phone=f"1380000{i:04d}",
                password_hash="x",
                name=f"职工{i}",
                consent_named=i % 2 == 0,
                region_codes=[],
                sectors=[],
            )
            for i in range(count)
        ]
        db.session.add_all(reporters)
        db.session.flush()
        open_reports = [
            _report(now, i, reporter_id=worker.id, anonymous=False, unit_id=unit.id)
            for i in range(count)
        ]
        verified = [
            _report(
                now,
                count + i,
                status="verified",
                reporter_id=reporters[i].id,
                anonymous=False,
                hazard_confirmed="major",
                accident_prevented=i % 3 == 0,
                prevented_account="避免了高处坠落",
            )
            for i in range(count)
        ]
        db.session.add_all(open_reports + verified)
        db.session.flush()
        # A duplicate merged into each verified report, sent before it for every other one
        # (then it holds the credit): clusters of two.
        db.session.add_all(
            _report(
                now,
                2 * count + i,
                status="duplicate",
                duplicate_of_id=head.id,
                submitted_at=head.submitted_at + timedelta(minutes=5 if i % 2 else -5),
            )
            for i, head in enumerate(verified)
        )
        for i, head in enumerate(verified):
            db.session.add(
                Commendation(
                    reporter_id=head.reporter_id,
                    report_ids=[head.id],
                    level="timely_praise",
                    reason="及时报告",
                    points=70,
                    status="granted" if i % 2 else "proposed",
                    proposed_by=people["inspector"]["id"],
                    created_at=now,
                )
            )
        for report in open_reports:
            db.session.add(
                Delivery(
                    kind="report.forwarded",
                    report_id=report.id,
                    unit_id=unit.id,
                    channel="link",
                    target={},
                    payload={"report_id": report.id},
                )
            )
        for i in range(count):
            db.session.add(Campaign(name=f"活动{i}", starts_on=now.date(), ends_on=now.date()))
            db.session.add(
                IntegrationHook(name=f"hook{i}", url="https://example.org/h", secret="s" * 32)
            )
            db.session.add(Unit(slug=f"unit-{i}", name_zh=f"单位{i}", region_code="510703"))
        db.session.flush()
        codes = [code for code, *_ in REGIONS]
        db.session.add_all(
            RoutingRule(
                region_code=codes[i % len(codes)], sector=SECTORS[i // len(codes)], unit_id=unit.id
            )
            for i in range(count)
        )
        db.session.commit()
        # Every report of the lists is from the last few days, wherever the day turns.
        people["period"] = (
            f"period=custom&start={(now - timedelta(days=5)).date()}"
            f"&end={(now + timedelta(days=2)).date()}"
        )
        people["first"] = open_reports[0].id
    return people


# (who, path): every list a phone or a desk pages through.
LISTS = [
    ("admin", "/api/v1/reports?limit=100"),
    ("inspector", "/api/v1/reports?limit=100&region=510703"),
    ("committee", "/api/v1/reports?limit=100"),
    ("worker", "/api/v1/reports?limit=100"),
    ("unit_staff", "/api/v1/reports?limit=100"),
    ("inspector", "/api/v1/inspect/queue?limit=100"),
    ("admin", "/api/v1/inspect/queue?limit=100&overdue=false&sector=construction"),
    ("committee", "/api/v1/awards?{period}"),
    ("committee", "/api/v1/awards/export.csv?{period}"),
    ("admin", "/api/v1/deliveries?limit=100"),
    ("inspector", "/api/v1/deliveries?limit=100"),
    ("admin", "/api/v1/users?limit=200"),
    ("inspector", "/api/v1/commendations"),
    ("committee", "/api/v1/commendations"),
    ("committee", "/api/v1/campaigns"),
    ("inspector", "/api/v1/units"),
    ("admin", "/api/v1/units"),
    ("admin", "/api/v1/routing-rules"),
    ("admin", "/api/v1/integrations/webhooks"),
    ("inspector", "/api/v1/reports.geojson?limit=100"),
    ("inspector", "/api/v1/reports/{first}/duplicates"),
    (None, "/open311/v2/requests.json"),
]


def measure(app, people: dict) -> dict[tuple, tuple[int, int]]:
    """For each list: the statements it ran and the items it answered."""
    client = app.test_client()
    found = {}
    for who, path in LISTS:
        headers = people[who]["headers"] if who else {}
        url = path.format(period=people["period"], first=people["first"])
        client.get(url, headers=headers)  # warm up: first-request work is not the list's
        with counted(app) as statements:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:500])
        if not response.is_json:  # an export: one line per item
            items = response.get_data(as_text=True).splitlines()
        elif isinstance(response.json, dict):
            items = response.json.get("items", response.json.get("features"))
        else:
            items = response.json
        found[who, path] = (len(statements), len(items))
    return found


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """The statements of every list over a database with FEW and one with MANY items."""
    from tests.conftest import build_app

    results = {}
    for count in (FEW, MANY):
        app = build_app(tmp_path_factory.mktemp(f"items{count}"))
        try:
            results[count] = measure(app, seed(app, count))
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return results


@pytest.mark.parametrize(("who", "path"), LISTS, ids=[f"{w}:{p}" for w, p in LISTS])
def test_list_statements_do_not_grow_with_items(measured, who, path):
    few, few_items = measured[FEW][who, path]
    many, many_items = measured[MANY][who, path]
    assert many_items > few_items, (few_items, many_items)  # the list really grew
    assert many == few, f"{few} statements for {few_items} items, {many} for {many_items}"
