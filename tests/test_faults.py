"""Faults from outside the code: the S3 endpoint stops, the database is locked or gone, the process
is killed, a unit's system is down for a day, the disk is full.

What must hold each time (README, "Nothing lost"): a 201 only for a report that is committed with
every original stored; otherwise 503 with ``Retry-After`` and a Chinese JSON error, no row, no file
(or only an orphan that ``photos cleanup-orphans`` removes); and the retry with the same
Idempotency-Key succeeds once the fault is gone.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.stub import Stubber
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError

from hazard_reporter import create_app
from hazard_reporter.core import db as core_db
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.storage import S3Storage
from hazard_reporter.deliveries import services as deliveries
from hazard_reporter.deliveries.models import Delivery, DeliveryStatus
from hazard_reporter.errors import StorageFull
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from hazard_reporter.photos.services import find_orphans
from hazard_reporter.reports.models import Report
from hazard_reporter.units.models import Unit
from tests.conftest import build_app, make_user, s3_settings, start_s3_server
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key"  # build_app's, so that a token made on one app works on another


# --- helpers -----------------------------------------------------------------------------------


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def keys(storage, prefix: str = "") -> list[str]:
    return sorted(o.key for o in storage.list(prefix))


def files_under(root: Path, *, besides: tuple[str, ...] = ()) -> list[str]:
    """Every file below ``root`` (hidden temporaries included), as relative paths."""
    found = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            relative = (Path(dirpath) / name).relative_to(root).as_posix()
            if relative not in besides:
                found.append(relative)
    return sorted(found)


def cleanup_orphans(app) -> str:
    result = app.test_cli_runner().invoke(args=["photos", "cleanup-orphans", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    return result.output


def assert_503(response, code: str, words: str) -> None:
    """A 503 in the one error shape, in Chinese by default, that tells the client when to retry."""
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    error = response.json["error"]
    assert error["code"] == code
    assert words in error["message"]


def closed_port() -> int:
    """A loopback port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photos(n: int) -> list[bytes]:
    """``n`` different GPS photos (the same bytes on every call, so a retry is the same request)."""
    return [make_jpeg(640 + 16 * i, 480, gps=MIANYANG) for i in range(n)]


# --- 1. the S3 endpoint stops in the middle of an upload ----------------------------------------


def test_s3_endpoint_stopped_after_the_first_photo_is_503_then_the_same_key_succeeds(tmp_path):
    endpoint, url, port = start_s3_server()
    app = build_app(tmp_path, **s3_settings(url))
    client = app.test_client()
    storage = app.extensions["hazard_storage"]
    stored_before_the_stop: list[int] = []
    stopped = threading.Event()

    def stop_after_first_put(http_response, **_):
        stored_before_the_stop.append(http_response.status_code)
        if len(stored_before_the_stop) == 1:
            endpoint.stop()  # the endpoint dies between the first and the second PutObject
            stopped.set()

    storage.client.meta.events.register("after-call.s3.PutObject", stop_after_first_put)
    three = photos(3)
    try:
        down = post_report(client, photos=three, headers={"Idempotency-Key": "s3-outage"})
        assert stored_before_the_stop == [200]
        assert_503(down, "storage_unavailable", "照片存储暂时不可用")
        assert count(app, Report) == 0 and count(app, Photo) == 0
    finally:
        storage.client.meta.events.unregister("after-call.s3.PutObject", stop_after_first_put)
        if not stopped.is_set():
            endpoint.stop()  # (the request failed before its first PutObject)
        # The same endpoint comes back (moto keeps its buckets in this process).
        restarted, _url, _port = start_s3_server(port)
    try:
        # The first original could not be removed while the endpoint was down: it is an orphan
        # (no row refers to it), and the clean-up removes it.
        [orphan] = keys(storage)
        assert orphan.startswith("originals/")
        assert f"removing {orphan}" in cleanup_orphans(app)
        assert keys(storage) == []

        back = post_report(client, photos=three, headers={"Idempotency-Key": "s3-outage"})
        assert back.status_code == 201, back.json
        assert "Idempotent-Replayed" not in back.headers  # the first attempt left no report
        assert count(app, Report) == 1 and count(app, Photo) == 3
        assert len(keys(storage, "originals/")) == 3
    finally:
        restarted.stop()


# --- 2. the database is locked or gone ----------------------------------------------------------


def test_sqlite_locked_by_another_writer_is_503_and_removes_the_originals_already_stored(
    tmp_path, monkeypatch
):
    # The busy timeout (30 s in production) is shortened so the test need not wait it out.
    monkeypatch.setattr(core_db, "SQLITE_BUSY_TIMEOUT_S", 1)
    path = tmp_path / "locked.db"
    app = build_app(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    client = app.test_client()
    admin = make_user(app, "admin")["headers"]
    two = photos(2)

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        locked = post_report(client, photos=two, headers={"Idempotency-Key": "locked"})
        # WAL: reading goes on while the writer holds the lock.
        assert client.get("/api/v1/reports", headers=admin).status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_503(locked, "database_unavailable", "数据库暂时不可用")
    assert count(app, Report) == 0 and count(app, Photo) == 0
    # Both originals were stored before the failed INSERT; both were removed again.
    assert files_under(tmp_path / "uploads") == []

    again = post_report(client, photos=two, headers={"Idempotency-Key": "locked"})
    assert again.status_code == 201, again.json
    assert count(app, Report) == 1 and count(app, Photo) == 2


def test_postgresql_down_is_503_for_reads_and_intake_and_stores_nothing(tmp_path):
    # A token signed with the same secret as the app below, which has no reachable database.
    admin = make_user(build_app(tmp_path / "seed"), "admin")["headers"]
    uploads = tmp_path / "uploads-pg"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": f"postgresql://hazard@127.0.0.1:{closed_port()}/hazard",
            "STORAGE": "local",
            "UPLOAD_DIR": str(uploads),
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    try:
        assert_503(
            client.get("/api/v1/reports", headers=admin), "database_unavailable", "数据库暂时不可用"
        )
        intake = post_report(client, photos=photos(2), headers={"Idempotency-Key": "pg-down"})
        assert_503(intake, "database_unavailable", "数据库暂时不可用")
        without_key = post_report(client, photos=photos(2))
        assert_503(without_key, "database_unavailable", "数据库暂时不可用")
        assert files_under(uploads) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def lost_commit_answer(*, committed: bool):
    """A COMMIT whose connection dies: after the server committed (the answer was lost) or
    before; either way the driver reports a disconnect, and the client cannot tell which."""
    real_commit = db.session.commit

    def commit():
        if committed:
            real_commit()
        raise OperationalError(
            "COMMIT",
            {},
            Exception("server closed the connection unexpectedly"),
            connection_invalidated=True,
        )

    return commit


def test_connection_lost_during_a_commit_that_happened_keeps_the_evidence_for_the_retry(
    tmp_path, monkeypatch
):
    app = build_app(tmp_path)
    client, storage = app.test_client(), app.extensions["hazard_storage"]
    two = photos(2)
    monkeypatch.setattr(db.session, "commit", lost_commit_answer(committed=True))
    lost = post_report(client, photos=two, headers={"Idempotency-Key": "lost-answer"})
    monkeypatch.undo()
    assert_503(lost, "database_unavailable", "数据库暂时不可用")

    # The report did commit; deleting its originals now would leave it without its evidence.
    replay = post_report(client, photos=two, headers={"Idempotency-Key": "lost-answer"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        stored = db.session.scalars(select(Photo).order_by(Photo.position)).all()
        assert [storage.read(p.original_key) for p in stored] == two
    assert "0 orphaned file(s) removed" in cleanup_orphans(app)


def test_connection_lost_during_a_commit_that_did_not_happen_leaves_orphans_then_succeeds(
    tmp_path, monkeypatch
):
    app = build_app(tmp_path)
    client, storage = app.test_client(), app.extensions["hazard_storage"]
    two = photos(2)
    monkeypatch.setattr(db.session, "commit", lost_commit_answer(committed=False))
    lost = post_report(client, photos=two, headers={"Idempotency-Key": "lost-commit"})
    monkeypatch.undo()
    assert_503(lost, "database_unavailable", "数据库暂时不可用")
    assert count(app, Report) == 0
    # The service could not know the commit failed, so it kept the files: orphans, which the
    # clean-up removes because no row refers to them.
    assert len(keys(storage, "originals/")) == 2
    assert "2 orphaned file(s) removed" in cleanup_orphans(app)
    assert keys(storage) == []

    again = post_report(client, photos=two, headers={"Idempotency-Key": "lost-commit"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_exhausted_connection_pool_is_503_not_500(tmp_path):
    app = build_app(
        tmp_path,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2},
    )
    admin = make_user(app, "admin")["headers"]
    client = app.test_client()
    with app.app_context(), db.engine.connect():  # a long request holds the only connection
        busy = client.get("/api/v1/reports", headers=admin)
    assert_503(busy, "database_unavailable", "数据库暂时不可用")
    assert client.get("/api/v1/reports", headers=admin).status_code == 200


# --- 3. the process is killed between storing the originals and committing ---------------------

CHILD = """
import io, os, signal, sys

from sqlalchemy.orm import Session

from hazard_reporter import create_app
from hazard_reporter.reports import services

database_url, upload_dir, photo_path, key = sys.argv[1:]
app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": database_url,
                  "STORAGE": "local", "UPLOAD_DIR": upload_dir, "RATELIMIT_ENABLED": False})
store_originals = services.store_originals


def store_then_die_at_commit(storage, photos, keys):
    store_originals(storage, photos, keys)
    print("stored", *keys, flush=True)
    Session.commit = lambda self: os.kill(os.getpid(), signal.SIGKILL)


services.store_originals = store_then_die_at_commit
with open(photo_path, "rb") as fp:
    photo = fp.read()
response = app.test_client().post(
    "/api/v1/reports",
    data={"sector": "gas_network", "description": "燃气表箱门损坏",
          "photos": [(io.BytesIO(photo), "photo0.jpg")]},
    headers={"Idempotency-Key": key},
    content_type="multipart/form-data",
)
print("answered", response.status_code, flush=True)
"""


def test_process_killed_between_storing_and_committing_leaves_an_orphan_and_the_retry_succeeds(
    tmp_path,
):
    app = build_app(tmp_path)
    storage = app.extensions["hazard_storage"]
    [photo] = photos(1)
    (tmp_path / "photo.jpg").write_bytes(photo)
    (tmp_path / "child.py").write_text(CHILD)
    child = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "child.py"),
            app.config["DATABASE_URL"],
            app.config["UPLOAD_DIR"],
            str(tmp_path / "photo.jpg"),
            "killed-at-commit",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "answered" not in child.stdout  # the client never got a 201
    [stored] = [line.split()[1:] for line in child.stdout.splitlines() if line.startswith("stored")]

    # The INSERTs were flushed in the open transaction, which died with the process.
    assert count(app, Report) == 0 and count(app, Photo) == 0
    assert keys(storage) == stored and storage.read(stored[0]) == photo
    with app.app_context():
        assert list(find_orphans(db.session, storage, older_than=utcnow())) == stored
    assert "1 orphaned file(s) removed" in cleanup_orphans(app)
    assert keys(storage) == []

    retry = post_report(
        app.test_client(), photos=[photo], headers={"Idempotency-Key": "killed-at-commit"}
    )
    assert retry.status_code == 201, retry.json
    assert count(app, Report) == 1 and len(keys(storage, "originals/")) == 1


# --- 4. a unit's system is down for a day ------------------------------------------------------


class UnitSystem:
    """A unit's webhook receiver on 127.0.0.1: 503 while ``down``, else 200; records each call."""

    def __init__(self):
        self.down = True
        self.calls: list[dict] = []
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = 503 if system.down else 200
                system.calls.append(
                    {"id": self.headers["X-Hazard-Delivery"], "status": status, "body": body}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hazard"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def unit_system():
    system = UnitSystem()
    yield system
    system.stop()


def forwarded_report(app, client, channel: dict) -> tuple[int, dict, int, str]:
    """A report forwarded through the API to the demo gas company, whose one channel is
    ``channel``: (report id, the inspector's headers, the forwarding's delivery id, the
    reporter's follow-up token)."""
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.slug == "my-gas-demo"))
        unit.channels = [channel]
        db.session.commit()
    inspector = make_user(app, "inspector", regions=["510700"])["headers"]
    created = post_report(client, region_code="510703")
    assert created.status_code == 201, created.json
    rid = created.json["id"]
    for action in ("triage", "forward"):
        done = client.post(f"/api/v1/reports/{rid}/{action}", json={}, headers=inspector)
        assert done.status_code == 200, done.json
    with app.app_context():
        delivery_id = db.session.scalar(
            select(Delivery.id).where(
                Delivery.report_id == rid, Delivery.kind == "report.forwarded"
            )
        )
    return rid, inspector, delivery_id, created.json["followup_token"]


def attempt(app, delivery_id: int, now, rng) -> Delivery:
    """One pass of the outbox at simulated time ``now`` (this delivery only); its row after."""
    deliveries.process_due(db.session, now=now, config=app.config, rng=rng, ids=[delivery_id])
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def timeline_actions(client, rid, headers) -> list[str]:
    return [
        e["action"] for e in client.get(f"/api/v1/reports/{rid}", headers=headers).json["timeline"]
    ]


def test_unit_down_for_a_day_is_retried_on_the_backoff_and_delivered_once_when_back(
    app, client, unit_system
):
    rid, inspector, delivery_id, _ = forwarded_report(
        app, client, {"type": "webhook", "url": unit_system.url, "secret": "s" * 32}
    )
    policy = deliveries.RetryPolicy.from_config(app.config)
    assert (policy.base_seconds, policy.cap_seconds, policy.max_attempts) == (30, 3600, 12)
    rng, mirror = random.Random(2026), random.Random(2026)
    with app.app_context():
        start = now = db.session.get(Delivery, delivery_id).next_attempt_at
        while now < start + timedelta(hours=24):
            delivery = attempt(app, delivery_id, now, rng)
            assert delivery.status == DeliveryStatus.PENDING.value  # not dead within the day
            # Exponential back-off with full jitter: the very draw the policy makes.
            draw = deliveries.backoff_seconds(
                delivery.attempts, base=policy.base_seconds, cap=policy.cap_seconds, rng=mirror
            )
            ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** (delivery.attempts - 1))
            waited = (delivery.next_attempt_at - now).total_seconds()
            assert draw <= ceiling and draw <= waited < draw + 1  # (+ the attempt's own time)
            now = delivery.next_attempt_at
        failed = delivery.attempts
        # More than the 12 attempts that alone used to dead-letter it after about 2½ hours.
        assert failed > policy.max_attempts
        assert delivery.last_error.endswith("HTTP 503")

        unit_system.down = False
        delivery = attempt(app, delivery_id, now, rng)
        assert delivery.status == DeliveryStatus.SENT.value and delivery.attempts == failed + 1
        for later in (now + timedelta(hours=1), now + timedelta(days=4)):
            attempt(app, delivery_id, later, rng)  # nothing more to send

    calls = unit_system.calls
    assert len(calls) == failed + 1 and {c["id"] for c in calls} == {delivery.idempotency_id}
    assert [c["status"] for c in calls] == [503] * failed + [200]
    assert len({c["body"] for c in calls}) == 1  # every retry the same signed message
    actions = timeline_actions(client, rid, inspector)
    assert actions.count("delivered") == 1
    assert actions.index("delivered") > actions.index("status:forwarded")


def test_unit_unreachable_beyond_the_retry_window_is_dead_lettered_and_the_timeline_says_so(
    app, client
):
    rid, inspector, delivery_id, followup = forwarded_report(
        app,
        client,
        {"type": "webhook", "url": f"http://127.0.0.1:{closed_port()}/h", "secret": "s" * 32},
    )
    rng = random.Random(7)
    with app.app_context():
        created = now = db.session.get(Delivery, delivery_id).created_at
        delivery = attempt(app, delivery_id, now, rng)
        while delivery.status == DeliveryStatus.PENDING.value:
            now = delivery.next_attempt_at
            delivery = attempt(app, delivery_id, now, rng)
        assert delivery.status == DeliveryStatus.DEAD.value
        assert delivery.last_error.endswith("ConnectionError")
        # Given up on at the first failure after 72 hours, not before.
        assert timedelta(hours=72) <= now - created < timedelta(hours=73)
    actions = timeline_actions(client, rid, inspector)
    assert actions.count("delivery_failed") == 1 and "delivered" not in actions
    # The reporter follows the report's progress, not the outbox.
    assert "delivery_failed" not in timeline_actions(client, rid, {"X-Followup-Token": followup})


# --- 5. the disk is full -----------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MiB tmpfs (root only); skipped where it cannot be mounted."""
    mount_point = tmp_path / "uploads"
    mount_point.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root; ENOSPC is also covered by the fsync test")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip()}); the fsync test covers ENOSPC"
        )
    yield mount_point
    if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(path: Path, *, leave: int) -> None:
    """Fill the file system of ``path`` up, then free ``leave`` bytes again."""
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as fp:  # unbuffered: nothing left to fail at close
        try:
            while True:
                fp.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        size = fp.tell()
    os.truncate(path, max(0, size - leave))


def test_full_disk_is_503_storage_full_keeps_nothing_and_succeeds_once_space_is_freed(
    tmp_path, tiny_disk
):
    app = build_app(tmp_path, UPLOAD_DIR=str(tiny_disk))
    client = app.test_client()
    small, large = make_jpeg(gps=MIANYANG), make_jpeg(1600, 1200, gps=MIANYANG)
    filler = tiny_disk / "filler"
    # Room for the first photo, not for the second: the first is stored, then must go again.
    fill(filler, leave=len(small) + 32 * 1024)
    assert len(large) > 64 * 1024

    full = post_report(client, photos=[small, large], headers={"Idempotency-Key": "full"})
    assert_503(full, "storage_full", "存储空间不足")
    assert count(app, Report) == 0 and count(app, Photo) == 0
    assert files_under(tiny_disk, besides=("filler",)) == []  # no original, no temporary

    filler.unlink()  # an operator frees space
    again = post_report(client, photos=[small, large], headers={"Idempotency-Key": "full"})
    assert again.status_code == 201, again.json
    assert count(app, Report) == 1 and count(app, Photo) == 2


def test_enospc_reported_only_by_fsync_is_storage_full_and_keeps_nothing(tmp_path, monkeypatch):
    app = build_app(tmp_path)
    client = app.test_client()
    real_fsync, fsyncs = os.fsync, []

    def fsync(fd):
        fsyncs.append(fd)
        if len(fsyncs) == 3:  # after the two photos' own fsyncs (in the background) passed
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    full = post_report(client, photos=photos(2), headers={"Idempotency-Key": "fsync-full"})
    monkeypatch.undo()
    assert_503(full, "storage_full", "存储空间不足")
    assert full.headers["Retry-After"] == "300"
    assert count(app, Report) == 0 and files_under(tmp_path / "uploads") == []

    again = post_report(client, photos=photos(2), headers={"Idempotency-Key": "fsync-full"})
    assert again.status_code == 201, again.json


def test_a_full_s3_store_is_storage_full():
    store = S3Storage("hazard-photos", endpoint_url="http://127.0.0.1:9")
    with Stubber(store.client) as stub:
        stub.add_client_error(
            "put_object",
            service_error_code="XMinioStorageFull",
            service_message="Storage backend has reached its minimum free drive threshold.",
            http_status_code=507,
        )
        with pytest.raises(StorageFull):
            store.put_bytes("originals/2026/11/28/a.jpg", b"x", "image/jpeg")


def test_a_photo_file_gone_from_storage_is_a_clear_404_and_records_no_read(app, client):
    # A bucket restored from an older backup, a file removed by hand: the reader is told what is
    # wrong and whom to ask, and the timeline does not record a read that never happened.
    from hazard_reporter.reports.models import Event

    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    body = post_report(client, region_code="510703").get_json()
    photo_id = body["photos"][0]["id"]
    storage = app.extensions["hazard_storage"]
    with app.app_context():
        photo = db.session.get(Photo, photo_id)
        storage.delete(photo.original_key)
        storage.delete(photo.display_key)
        db.session.remove()
    for path in (f"/api/v1/photos/{photo_id}/original", f"/api/v1/photos/{photo_id}/display"):
        answer = client.get(path, headers={**inspector, "Accept-Language": "zh"})
        assert answer.status_code == 404, path
        error = answer.get_json()["error"]
        assert error["code"] == "photo_file_missing" and "备份" in error["message"]
    with app.app_context():
        reads = db.session.scalar(
            select(func.count()).select_from(Event).where(Event.action == "original_photo_read")
        )
        assert reads == 0
        db.session.remove()


def test_storage_away_while_a_photo_is_read_says_so_not_that_a_report_was_lost(
    app, client, monkeypatch
):
    from hazard_reporter.core.storage import LocalStorage
    from hazard_reporter.errors import StorageUnavailable

    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    photo_id = post_report(client, region_code="510703").get_json()["photos"][0]["id"]

    def away(self, key):
        raise StorageUnavailable(retry_after=30)

    monkeypatch.setattr(LocalStorage, "open", away)
    answer = client.get(
        f"/api/v1/photos/{photo_id}/thumbnail", headers={**inspector, "Accept-Language": "en"}
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    error = answer.get_json()["error"]
    assert error["code"] == "storage_unavailable"
    assert "report" not in error["message"] and "try again shortly" in error["message"]


class ReadOnlyTransaction(Exception):
    """What psycopg raises when PostgreSQL refuses a write (SQLSTATE 25006)."""

    sqlstate = "25006"


@pytest.mark.parametrize(
    "error",
    [
        # a database switched to read-only, or a standby not yet promoted after a failover
        lambda: InternalError("COMMIT", {}, ReadOnlyTransaction()),
        lambda: InterfaceError("SELECT 1", {}, OSError("gone")),
    ],
    ids=["read-only", "connection-gone"],
)
def test_a_database_refusing_work_is_a_503_on_both_apis(app, client, monkeypatch, error):
    import io

    from hazard_reporter.open311 import routes as open311_routes
    from hazard_reporter.reports import services as report_services

    def refuse(*args, **kwargs):
        raise error()

    monkeypatch.setattr(report_services, "submit_report", refuse)
    answer = post_report(client)
    assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["error"]["code"] == "database_unavailable"

    monkeypatch.setattr(open311_routes, "take_in", refuse)
    answer = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "gas_network",
            "lat": str(MIANYANG[0]),
            "long": str(MIANYANG[1]),
            "description": "燃气表箱门损坏",
            "media": (io.BytesIO(make_jpeg()), "photo.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
    assert answer.get_json()[0]["code"] == 503
