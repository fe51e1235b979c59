"""The Celery task queue (``HAZARD_TASK_RUNNER=celery``): real Redis, real worker processes.

A report answers 201 before its renditions exist and says so; a worker killed in the middle of a
task loses nothing (the task is acknowledged late and goes to another worker) and a task delivered
twice duplicates nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hazard_reporter.core.queue import PERIODIC
from hazard_reporter.core.tasks import TASKS, CeleryRunner, InlineRunner
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import DerivativeState, Photo
from hazard_reporter.photos.tasks import make_derivatives_task, sweep_pending_derivatives_task
from tests.conftest import build_app
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

REDIS_URL = os.environ.get("HAZARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure means "not there"
        return (
            f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}); set HAZARD_TEST_REDIS_URL"
        )
    return None


requires_redis = pytest.mark.skipif((problem := _redis_problem()) is not None, reason=problem or "")


@pytest.fixture
def queued_app(tmp_path):
    """An app that sends its tasks to a queue of its own on the test Redis."""
    settings = {
        "TASK_RUNNER": "celery",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_QUEUE": f"test-{uuid.uuid4().hex[:10]}",
        "CELERY_VISIBILITY_SECONDS": 3,
    }
    app = build_app(tmp_path, **settings)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    import redis

    redis.Redis.from_url(REDIS_URL).delete(settings["CELERY_QUEUE"])


class Worker:
    """A ``celery worker`` (or, with ``beat``, ``celery beat`` sending the periodic tasks every
    second) over the same database, storage and queue as ``app``."""

    def __init__(
        self, app, tmp_path: Path, name: str, *, slow: bool = False, beat: bool = False
    ) -> None:
        config = app.config
        env = {
            **os.environ,
            "HAZARD_ENV": "testing",
            "HAZARD_SECRET_KEY": config["SECRET_KEY"],
            "HAZARD_DATABASE_URL": config["DATABASE_URL"],
            "HAZARD_STORAGE": config["STORAGE"],
            "HAZARD_UPLOAD_DIR": config["UPLOAD_DIR"],
            "HAZARD_S3_BUCKET": config["S3_BUCKET"],
            "HAZARD_CELERY_BROKER_URL": config["CELERY_BROKER_URL"],
            "HAZARD_CELERY_QUEUE": config["CELERY_QUEUE"],
            "HAZARD_CELERY_VISIBILITY_SECONDS": str(config["CELERY_VISIBILITY_SECONDS"]),
            "PYTHONPATH": str(ROOT),
        }
        if config.get("S3_ENDPOINT_URL"):
            env["HAZARD_S3_ENDPOINT_URL"] = config["S3_ENDPOINT_URL"]
        self.marker_dir = tmp_path / f"markers-{name}"
        self.marker_dir.mkdir()
        if slow:
            env["HAZARD_TEST_SLOW_RENDER_DIR"] = str(self.marker_dir)
        self.log_path = tmp_path / f"{name}.log"
        self._log = self.log_path.open("wb")
        if beat:
            env["HAZARD_BACKGROUND_SECONDS"] = "1"
            env["HAZARD_CELERY_BEAT_SCHEDULE_FILE"] = str(tmp_path / "beat-schedule")
            command = ["beat"]
        else:
            command = ["worker", "--concurrency", "1", "--hostname", f"{name}@%h",
                       "--without-gossip", "--without-mingle", "--without-heartbeat",
                       "--queues", config["CELERY_QUEUE"]]  # fmt: skip
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_harness",
                *command,
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the pool's children die with it
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def started_rendering(self) -> bool:
        return any(self.marker_dir.iterdir())

    def kill(self) -> None:
        """SIGKILL the whole worker, as a machine losing power would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


def wait_for(condition, timeout: float, what: str, logs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    detail = "\n".join(w.log()[-3000:] for w in logs)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{detail}")


def photo_state(app, photo_id: int) -> str:
    with app.app_context():
        state = db.session.get(Photo, photo_id).derivatives
        db.session.remove()
        return state


@requires_redis
def test_killed_worker_loses_no_task_and_a_second_worker_completes_it_once(queued_app, tmp_path):
    app = queued_app
    client = app.test_client()
    response = post_report(client)
    assert response.status_code == 201
    photo = response.get_json()["photos"][0]
    # Answered before the renditions exist, and the photo's entry says so.
    assert photo["status"] == DerivativeState.PENDING
    pending = client.get(photo["thumbnail_url"])
    assert pending.status_code == 404 and pending.get_json()["error"]["code"] == "photo_processing"
    assert pending.headers["Retry-After"]

    first = Worker(app, tmp_path, "first", slow=True)
    try:
        wait_for(first.started_rendering, 60, "the first worker to start rendering", [first])
        first.kill()
    finally:
        first.stop()
    assert photo_state(app, photo["id"]) == DerivativeState.PENDING
    assert "renditions made" not in first.log()

    second = Worker(app, tmp_path, "second")
    try:
        wait_for(
            lambda: photo_state(app, photo["id"]) == DerivativeState.READY,
            60,
            "the second worker to take over the task",
            [second],
        )
        assert client.get(photo["thumbnail_url"]).status_code == 200

        # The same task delivered again (a broker's redelivery) changes nothing.
        with app.app_context():
            stored = db.session.get(Photo, photo["id"])
            files = [
                Path(app.config["UPLOAD_DIR"], k)
                for k in (stored.display_key, stored.thumbnail_key)
            ]
            db.session.remove()
        written = [f.stat().st_mtime_ns for f in files]
        with app.test_request_context():
            app.extensions["hazard_runner"].enqueue(make_derivatives_task, photo["id"])
        wait_for(
            lambda: "renditions already made" in second.log(), 30, "the repeated task", [second]
        )
        assert [f.stat().st_mtime_ns for f in files] == written
    finally:
        second.stop()
    made = first.log().count("renditions made") + second.log().count("renditions made")
    assert made == 1


@requires_redis
def test_the_runner_queues_the_message_celery_itself_would(queued_app):
    import json

    import redis

    celery, runner = queued_app.extensions["hazard_celery"], queued_app.extensions["hazard_runner"]
    queue = queued_app.config["CELERY_QUEUE"]
    celery.send_task(make_derivatives_task.task_name, args=(7,))
    with queued_app.app_context():
        runner.enqueue(make_derivatives_task, 7)
    # LPUSH: the newest first
    ours, theirs = (json.loads(m) for m in redis.Redis.from_url(REDIS_URL).lrange(queue, 0, -1))

    def fresh_ids_removed(message):
        # Each message has its own task id (three places) and delivery tag.
        headers, properties = message["headers"], message["properties"]
        assert headers["id"] == headers["root_id"] == properties["correlation_id"]
        for fresh in ("id", "root_id"):
            headers.pop(fresh)
        properties.pop("correlation_id")
        assert properties.pop("delivery_tag")
        return message

    assert fresh_ids_removed(ours) == fresh_ids_removed(theirs)
    assert ours["headers"]["task"] == "hazard_reporter.photos.tasks.make_derivatives_task"
    assert ours["properties"]["delivery_info"]["routing_key"] == queue


def test_unreachable_broker_still_takes_the_report_and_the_sweep_renders_it_later(tmp_path):
    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    response = post_report(app.test_client())
    assert response.status_code == 201
    photo = response.get_json()["photos"][0]
    assert photo["status"] == DerivativeState.PENDING
    # Once the broker is back, beat's sweep queues the photos still pending after the grace.
    app.config["RENDITION_SWEEP_GRACE_SECONDS"] = -60
    app.extensions["hazard_runner"] = InlineRunner()
    with app.app_context():
        assert sweep_pending_derivatives_task() == 1
    assert photo_state(app, photo["id"]) == DerivativeState.READY


def test_beat_schedules_every_periodic_job_as_a_registered_task(tmp_path):
    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    runner = app.extensions["hazard_runner"]
    assert isinstance(runner, CeleryRunner)
    celery = app.extensions["hazard_celery"]
    schedule = celery.conf.beat_schedule
    assert set(schedule) == set(PERIODIC)
    for entry in schedule.values():
        assert entry["task"] in celery.tasks and entry["task"] in TASKS
    assert celery.conf.task_acks_late and celery.conf.task_reject_on_worker_lost
    assert celery.conf.worker_prefetch_multiplier == 1


def test_with_a_queue_intake_checks_the_file_end_and_the_worker_finds_inner_damage(tmp_path):
    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    client = app.test_client()
    photo = make_jpeg(gps=MIANYANG)
    truncated = post_report(client, photos=[photo[: len(photo) // 2]])
    assert truncated.status_code == 422
    assert truncated.get_json()["error"]["code"] == "photo_unreadable"

    # A Huffman table whose code counts are impossible: the header reads, the pixels do not.
    table = photo.index(b"\xff\xc4")
    damaged = photo[: table + 4] + b"\x00" + b"\xff" * 16 + photo[table + 21 :]
    response = post_report(client, photos=[damaged])
    assert response.status_code == 201  # the report is kept: its evidence is the original
    photo_id = response.get_json()["photos"][0]["id"]
    with app.test_request_context():
        make_derivatives_task(photo_id)
    state = photo_state(app, photo_id)
    assert state == DerivativeState.FAILED
    entry = client.get(
        response.headers["Location"],
        headers={"X-Followup-Token": response.get_json()["followup_token"]},
    ).get_json()["photos"][0]
    assert entry["status"] == state


@requires_redis
def test_beat_and_a_worker_send_a_due_delivery(queued_app, tmp_path, receiver):
    from hazard_reporter.core.db import utcnow
    from hazard_reporter.deliveries import services as deliveries
    from hazard_reporter.deliveries.models import Delivery, DeliveryStatus

    url, received = receiver
    app = queued_app
    with app.app_context():
        [delivery] = deliveries.enqueue(
            db.session,
            kind="integration.test",
            payload={"report_id": 1, "message": "测试"},
            targets=[{"type": "webhook", "url": url, "secret": "s3cret"}],
            now=utcnow(),
        )
        db.session.commit()
        delivery_id = delivery.id
        db.session.remove()

    def status() -> str:
        with app.app_context():
            value = db.session.get(Delivery, delivery_id).status
            db.session.remove()
            return value

    worker, beat = Worker(app, tmp_path, "worker"), Worker(app, tmp_path, "beat", beat=True)
    try:
        wait_for(lambda: status() == DeliveryStatus.SENT, 60, "the delivery", [worker, beat])
    finally:
        beat.stop()
        worker.stop()
    assert [r["event"] for r in received] == ["integration.test"]


class WorkerKilled(BaseException):
    """The process dies in the middle of decoding (the OOM killer, a codec crash): no except
    clause of the app's runs, and nothing after this line is committed."""


def test_a_photo_that_kills_its_worker_is_failed_after_three_decodings(tmp_path, monkeypatch):
    from hazard_reporter.photos import services as photo_services
    from hazard_reporter.photos.services import MAX_RENDER_ATTEMPTS, pending_photo_ids

    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    body = post_report(app.test_client(), photos=[make_jpeg(gps=MIANYANG)]).json
    photo_id = body["photos"][0]["id"]

    def dies(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(photo_services, "make_derivatives", dies)
    for attempt in range(1, MAX_RENDER_ATTEMPTS + 1):
        with app.app_context(), pytest.raises(WorkerKilled):
            make_derivatives_task(photo_id)  # as Celery redelivers it to the next worker
        with app.app_context():
            db.session.remove()  # a new process: only what was committed remains
            photo = db.session.get(Photo, photo_id)
            assert (photo.derivatives, photo.derivatives_attempts) == ("pending", attempt)
            db.session.remove()

    with app.app_context():
        make_derivatives_task(photo_id)  # the next delivery does not decode it again
        photo = db.session.get(Photo, photo_id)
        assert photo.derivatives == DerivativeState.FAILED
        assert "stopped the worker 3 times" in photo.derivatives_error
        assert photo_id not in pending_photo_ids(db.session)  # the sweep leaves it be
        db.session.remove()


def test_a_broker_that_never_answers_holds_a_report_only_seconds(tmp_path):
    # A Redis that takes the connection and then says nothing (a hung server, a half-open
    # network path): each photo's task would wait for it in turn.
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []

    def accept_and_say_nothing():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    port = listener.getsockname()[1]
    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0")
    try:
        started = time.monotonic()
        photos = [make_jpeg(320, 240, gps=MIANYANG) for _ in range(6)]
        response = post_report(app.test_client(), photos=photos, immediate_danger="true")
        waited = time.monotonic() - started
        assert response.status_code == 201
        assert {p["status"] for p in response.get_json()["photos"]} == {"pending"}
        # the first task's two tries (2 s each), then none for the next 30 s: not 6 x 3 x 10 s
        assert waited < 15, waited
        assert len(accepted) <= 2
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def test_the_copy_is_flagged_not_the_original_whichever_is_rendered_first(tmp_path):
    # 张 sends a photo; 王 sends the same picture re-encoded. If 王's renditions are made first
    # (张's task lost, made again later by the sweep), 张 was flagged as the copier.
    from hazard_reporter.reports.models import Report
    from tests.conftest import make_user

    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    zhang, wang = make_user(app, "worker"), make_user(app, "worker")
    picture = make_jpeg(1200, 900, gps=MIANYANG)
    copy = make_jpeg(1200, 900, gps=MIANYANG, comment=b"resent")  # other bytes, the same picture
    assert picture != copy
    original = post_report(client, headers=zhang["headers"], photos=[picture]).json
    copied = post_report(client, headers=wang["headers"], photos=[copy]).json
    with app.app_context():
        make_derivatives_task(copied["photos"][0]["id"])  # the copy's renditions first
        make_derivatives_task(original["photos"][0]["id"])
        flags = {
            rid: db.session.get(Report, rid).flags or [] for rid in (original["id"], copied["id"])
        }
        db.session.remove()
    assert "duplicate_photo" not in flags[original["id"]]
    assert "duplicate_photo" in flags[copied["id"]]


def test_storage_full_while_writing_renditions_leaves_the_photo_pending(tmp_path, monkeypatch):
    # Each try counted as a decoding that killed its worker: three tries with the disk full and
    # the photo was failed for good ("stopped the worker 3 times"), its preview "still processing"
    # for ever, and the sweep never tried it again once space was freed.
    from hazard_reporter.core.tasks import current_storage
    from hazard_reporter.errors import StorageFull
    from hazard_reporter.photos.services import MAX_RENDER_ATTEMPTS, pending_photo_ids

    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    photo = post_report(client, photos=[make_jpeg(gps=MIANYANG)]).json["photos"][0]
    with app.app_context():
        storage = current_storage()
        put_bytes = storage.put_bytes

    def full(key, data, content_type):
        raise StorageFull()

    monkeypatch.setattr(storage, "put_bytes", full)
    for _ in range(MAX_RENDER_ATTEMPTS + 1):
        with app.app_context(), pytest.raises(StorageFull):
            make_derivatives_task(photo["id"])
    with app.app_context():
        assert photo["id"] in pending_photo_ids(db.session)  # the sweep will try it again
        db.session.remove()
    assert photo_state(app, photo["id"]) == DerivativeState.PENDING

    monkeypatch.setattr(storage, "put_bytes", put_bytes)  # space freed
    with app.app_context():
        make_derivatives_task(photo["id"])
    assert photo_state(app, photo["id"]) == DerivativeState.READY
    assert client.get(photo["thumbnail_url"]).status_code == 200


def test_a_photo_that_cannot_be_rendered_says_so_not_still_processing(tmp_path, monkeypatch):
    from hazard_reporter.photos import services as photo_services

    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    photo = post_report(client, photos=[make_jpeg(gps=MIANYANG)]).json["photos"][0]

    def unreadable(*args, **kwargs):
        raise OSError("image file is truncated")

    monkeypatch.setattr(photo_services, "make_derivatives", unreadable)
    with app.app_context():
        make_derivatives_task(photo["id"])
    assert photo_state(app, photo["id"]) == DerivativeState.FAILED
    answer = client.get(photo["thumbnail_url"])
    assert answer.status_code == 404 and answer.json["error"]["code"] == "photo_not_rendered"
    assert "Retry-After" not in answer.headers
    assert "无法生成预览图" in answer.json["error"]["message"]
