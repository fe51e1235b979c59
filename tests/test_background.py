"""The embedded background loop: outbox, escalation and missed renditions in the serving process."""

from __future__ import annotations

import json
import threading

from sqlalchemy import select

from hazard_reporter.core import background
from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.extensions import db
from hazard_reporter.units.models import Unit
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import post_report


def test_one_pass_sends_the_red_alert_and_the_forwarded_report(app, client, receiver):
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
    assert background.start(app) is None


def test_duty_report_goes_out_once_per_region_after_1530(app, receiver):
    from datetime import UTC, datetime

    from hazard_reporter.duty.services import send_due_duty_reports

    url, received = receiver
    with app.app_context():
        office = db.session.scalar(select(Unit).where(Unit.is_union_department.is_(True)))
        office.channels = [{"type": "webhook", "url": url, "secret": "shh"}]
        db.session.commit()
        before = datetime(2026, 6, 1, 7, 29, tzinfo=UTC)  # 15:29 in Asia/Shanghai
        after = datetime(2026, 6, 1, 7, 31, tzinfo=UTC)
        assert send_due_duty_reports(db.session, now=before) == 0
        first = send_due_duty_reports(db.session, now=after)
        assert first >= 1  # 四川省 and 绵阳市 both report to the province's union office
        assert send_due_duty_reports(db.session, now=after) == 0
    background.run_once(app)
    duty = [r for r in received if r["event"] == "duty.report"]
    assert len(duty) == first
    assert all("无事报平安" in json.dumps(r["body"], ensure_ascii=False) for r in duty)
