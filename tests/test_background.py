"""The embedded background loop: outbox, escalation, missed renditions and unclaimed uploads in
the serving process."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hazard_reporter.core import background
from hazard_reporter.core.db import utcnow
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


def new_upload(app) -> str:
    """A phone's direct upload filed where ``POST /api/v1/uploads`` files it today; its key."""
    key = f"uploads/{utcnow():%Y/%m/%d}/{uuid.uuid4().hex}"
    app.extensions["hazard_storage"].put_bytes(key, make_jpeg(), "image/jpeg")
    return key


@pytest.fixture
def keep_period_over(app, monkeypatch):
    """The uploads sweep's clock set past the keep period: every upload is unclaimed too long."""
    from hazard_reporter.photos import tasks as photo_tasks

    keep = timedelta(hours=app.config["UPLOAD_KEEP_HOURS"])
    monkeypatch.setattr(photo_tasks, "utcnow", lambda: utcnow() + keep + timedelta(minutes=1))


def test_the_loop_removes_unclaimed_direct_uploads_once_an_interval(app, keep_period_over):
    storage = app.extensions["hazard_storage"]
    first = new_upload(app)
    assert background.run_once(app, clock=1000.0)["unclaimed uploads"] is True
    assert not storage.exists(first)  # no report claimed it within the keep period

    second = new_upload(app)
    ran = background.run_once(app, clock=1000.0 + 15)  # the next tick: the sweep is not due yet
    assert "unclaimed uploads" not in ran and ran["deliveries"] is True
    assert storage.exists(second)
    background.run_once(app, clock=1000.0 + app.config["UPLOAD_SWEEP_SECONDS"])
    assert not storage.exists(second)


def test_a_failed_uploads_sweep_runs_again_at_the_next_tick(app, keep_period_over, monkeypatch):
    from hazard_reporter.photos import tasks as photo_tasks

    key = new_upload(app)
    sweep = photo_tasks.remove_unclaimed_uploads_task

    def bucket_away():
        raise RuntimeError("the bucket is away")

    monkeypatch.setattr(photo_tasks, "remove_unclaimed_uploads_task", bucket_away)
    assert background.run_once(app, clock=1000.0)["unclaimed uploads"] is False
    monkeypatch.setattr(photo_tasks, "remove_unclaimed_uploads_task", sweep)
    assert background.run_once(app, clock=1000.0 + 15)["unclaimed uploads"] is True
    assert not app.extensions["hazard_storage"].exists(key)


def test_the_background_command_runs_every_job_and_says_how_each_went(
    app, keep_period_over, monkeypatch
):
    from hazard_reporter.deliveries import tasks as delivery_tasks

    key = new_upload(app)
    result = app.test_cli_runner().invoke(args=["background"])
    assert result.exit_code == 0, result.output
    for job in ("duty report", "deliveries", "escalation", "renditions", "unclaimed uploads"):
        assert f"{job} ok" in result.output
    assert not app.extensions["hazard_storage"].exists(key)

    def database_away():
        raise RuntimeError("the database is away")

    monkeypatch.setattr(delivery_tasks, "process_deliveries_task", database_away)
    app.extensions.pop("hazard_background_last_runs")  # a new process: the sweep is due again
    key = new_upload(app)
    result = app.test_cli_runner().invoke(args=["background"])
    assert result.exit_code == 1  # a cron job or a unit sees the failure
    assert "deliveries FAILED" in result.output
    assert "escalation ok" in result.output and "unclaimed uploads ok" in result.output
    assert not app.extensions["hazard_storage"].exists(key)  # the jobs after it still ran


@pytest.mark.parametrize(
    ("runner", "seconds", "note"),
    [
        ("inline", 0, None),  # the setting the command is for: nothing else runs the jobs
        ("inline", 15, "the serving processes' loop already runs these jobs"),
        ("celery", 15, "Celery's beat already runs these jobs;"),
        ("celery", 0, "all but due deliveries (HAZARD_BACKGROUND_SECONDS is 0)"),
    ],
)
def test_the_background_command_says_when_something_else_runs_the_jobs(app, runner, seconds, note):
    app.config.update(TASK_RUNNER=runner, BACKGROUND_SECONDS=seconds)
    result = app.test_cli_runner().invoke(args=["background"])
    assert result.exit_code == 0, result.output
    if note is None:
        assert "note:" not in result.stderr
    else:
        assert note in result.stderr


def test_the_background_command_loops_and_spaces_the_uploads_sweep(app, monkeypatch):
    from hazard_reporter import cli

    class Stop(Exception):
        pass

    ticks = []

    def sleep(seconds):
        ticks.append(seconds)
        if len(ticks) == 3:
            raise Stop  # after three passes

    monkeypatch.setattr(cli.time, "sleep", sleep)
    result = app.test_cli_runner().invoke(args=["background", "--loop", "15"])
    assert isinstance(result.exception, Stop) and ticks == [15, 15, 15]
    passes = [line for line in result.output.splitlines() if "deliveries" in line]
    assert len(passes) == 3
    assert "unclaimed uploads ok" in passes[0]
    assert not any("unclaimed uploads" in line for line in passes[1:])  # once an hour, not a tick


def pending_again(app, photo_id: int, *, age: timedelta) -> None:
    """Make a rendered photo look as if its renditions were never made, ``age`` ago."""
    from hazard_reporter.photos.models import DerivativeState, Photo

    with app.app_context():
        photo = db.session.get(Photo, photo_id)
        photo.derivatives = DerivativeState.PENDING
        photo.created_at = utcnow() - age
        db.session.commit()
        db.session.remove()


def derivative_states(app, ids: list[int]) -> list[str]:
    from hazard_reporter.photos.models import Photo

    with app.app_context():
        states = [db.session.get(Photo, i).derivatives for i in ids]
        db.session.remove()
    return states


def test_missing_renditions_wait_for_the_grace_and_one_bad_photo_holds_up_none(
    app, client, monkeypatch
):
    from hazard_reporter.photos import tasks as photo_tasks

    ids = [post_report(client).json["photos"][0]["id"] for _ in range(3)]
    grace = timedelta(seconds=app.config["RENDITION_SWEEP_GRACE_SECONDS"])
    for photo_id in ids:
        pending_again(app, photo_id, age=grace + timedelta(minutes=1))
    young = post_report(client).json["photos"][0]["id"]
    pending_again(app, young, age=timedelta(seconds=5))  # its request may be rendering it now

    make = photo_tasks.make_derivatives_task

    def unreadable_first(photo_id):
        if photo_id == ids[0]:  # its original cannot be read (the medium refuses it)
            raise RuntimeError("permission denied")
        make(photo_id)

    monkeypatch.setattr(photo_tasks, "make_derivatives_task", unreadable_first)
    assert background.run_once(app)["renditions"] is False  # said, and tried again next pass
    assert derivative_states(app, [*ids, young]) == ["pending", "ready", "ready", "pending"]
    monkeypatch.setattr(photo_tasks, "make_derivatives_task", make)
    assert background.run_once(app)["renditions"] is True
    assert derivative_states(app, ids) == ["ready"] * 3


def test_a_spaced_job_set_to_zero_is_off_as_it_is_for_beat(app, keep_period_over):
    app.config["UPLOAD_SWEEP_SECONDS"] = 0
    key = new_upload(app)
    assert "unclaimed uploads" not in background.run_once(app, clock=1000.0)
    assert app.extensions["hazard_storage"].exists(key)


@pytest.mark.slow
def test_a_gunicorn_worker_starts_its_loop_before_any_request(tmp_path):
    # gunicorn reads gunicorn.conf.py from the folder it starts in: its hook starts each worker's
    # loop once the app is loaded. No request is made; the loop renders a photo left pending.
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.conftest import build_app, close_app
    from tests.test_security import free_port

    repo = Path(__file__).resolve().parent.parent
    database = f"sqlite:///{tmp_path / 'g.db'}"
    app = build_app(tmp_path, DATABASE_URL=database)
    photo_id = post_report(app.test_client()).json["photos"][0]["id"]
    pending_again(app, photo_id, age=timedelta(hours=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    env.update(
        {
            "HAZARD_ENV": "production",
            "HAZARD_SECRET_KEY": "k" * 48,
            "HAZARD_DATABASE_URL": database,
            "HAZARD_UPLOAD_DIR": app.config["UPLOAD_DIR"],
            "HAZARD_BACKGROUND_SECONDS": "1",
        }
    )
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [*gunicorn, f"127.0.0.1:{free_port()}", "wsgi:app"],
            cwd=repo,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and derivative_states(app, [photo_id]) != ["ready"]:
            assert server.poll() is None, log.read_text()
            time.sleep(0.3)
        assert derivative_states(app, [photo_id]) == ["ready"], log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
        close_app(app)
