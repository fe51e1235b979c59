"""The embedded background loop: outbox, escalation and missed renditions in the serving process."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from hazard_reporter.core import background
from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.duty import tasks as duty_tasks
from hazard_reporter.extensions import db
from hazard_reporter.units.models import Unit
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import post_report


def test_one_pass_sends_the_red_alert_and_the_forwarded_report(app, client, receiver, monkeypatch):
    # The pass would also send the day's duty reports after 15:30 in Beijing; this test is about
    # the reports' own deliveries, so its duty-report clock reads 09:00 there.
    morning = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(duty_tasks, "utcnow", lambda: morning)
    url, received = receiver
    with app.app_context():
        for unit in db.session.scalars(select(Unit)):
            unit.channels = [{"type": "webhook", "url": url, "secret": "shh"}]
        db.session.commit()
    inspector = make_user(app, "inspector", regions=["510000"])
    rid = post_report(
        client, region_code="510703", photos=[make_jpeg()], description="地下室燃气泄漏"
    ).json["id"]
    client.post(f"/api/v1/reports/{rid}/triage", json={}, headers=inspector["headers"])
    client.post(f"/api/v1/reports/{rid}/forward", json={}, headers=inspector["headers"])
    background.run_once(app)
    assert sorted(r["event"] for r in received) == ["alert.red", "report.forwarded"]
    background.run_once(app)  # nothing is sent twice
    assert len(received) == 2
    with app.app_context():
        assert {d.status for d in db.session.scalars(select(Delivery))} == {"sent"}


def test_the_loop_is_not_started_by_the_factory_or_when_switched_off(app):
    assert not any(t.name == "hazard-background" for t in threading.enumerate())
    app.config["BACKGROUND_SECONDS"] = 0
    assert background.start(app) is False


def test_the_loop_starts_with_the_first_request_served(tmp_path, monkeypatch):
    from tests.conftest import build_app

    started = []

    class FakeThread:
        def __init__(self, target, name, daemon):
            self.name = name

        def start(self):
            started.append(self.name)

    monkeypatch.setattr(background.threading, "Thread", FakeThread)
    app = build_app(tmp_path, BACKGROUND_SECONDS=3600)
    assert background.start(app) is True
    assert started == []  # nothing yet: a command importing the app runs no loop
    app.test_client().get("/api/v1/sectors")
    app.test_client().get("/api/v1/sectors")
    assert started == ["hazard-background"]  # one loop, however many requests
