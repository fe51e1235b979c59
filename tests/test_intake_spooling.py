"""Uploads spooled into the storage's incoming files: hashed on the way in, kept by a rename on
local disk, and never left behind by a request that stores nothing."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import tempfile
import threading
import time

import pytest
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from hazard_reporter.core.formparser import piece_size
from hazard_reporter.core.storage import IncomingFile, LocalStorage, MemoryStorage
from hazard_reporter.errors import StorageFull, StorageUnavailable
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from tests.conftest import STORAGE_KIND, build_app
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

local_only = pytest.mark.skipif(STORAGE_KIND != "local", reason="the local backend's files")


def write_in_chunks(target, data: bytes, size: int = 64 * 1024) -> None:
    for start in range(0, len(data), size):
        target.write(data[start : start + size])


def incoming_names(root) -> list[str]:
    return sorted(
        os.path.join(dirpath, name)
        for dirpath, _dirs, names in os.walk(root)
        for name in names
        if name.startswith(".incoming-")
    )


# --- IncomingFile -----------------------------------------------------------------------------


@pytest.mark.parametrize("named", [True, False])
def test_an_incoming_file_knows_the_sha256_of_what_was_written(tmp_path, named):
    data = os.urandom(300_000)
    spool = IncomingFile.create_in(tmp_path) if named else IncomingFile.anonymous()
    with spool:
        write_in_chunks(spool, data)
        spool.seek(0)
        assert spool.sha256 == hashlib.sha256(data).hexdigest()
        assert spool.read() == data


def test_a_write_after_a_seek_forgets_the_hash(tmp_path):
    with IncomingFile.create_in(tmp_path) as spool:
        spool.write(b"abcdef")
        spool.seek(0)
        spool.write(b"X")
        assert spool.sha256 is None


def test_closing_an_unkept_incoming_file_removes_it(tmp_path):
    spool = IncomingFile.create_in(tmp_path)
    spool.write(b"partial upload")
    spool.close()
    assert os.listdir(tmp_path) == []


class FullDisk(io.FileIO):
    """A file on a disk with no space left."""

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def full_disk_incoming_file(directory) -> IncomingFile:
    fd, path = tempfile.mkstemp(dir=directory, prefix=".incoming-")
    return IncomingFile(FullDisk(fd, "r+"), path)


def test_a_full_disk_while_spooling_is_storage_full(tmp_path):
    spool = full_disk_incoming_file(tmp_path)
    with pytest.raises(StorageFull):
        spool.write(b"x" * 100_000)
    spool.close()
    assert os.listdir(tmp_path) == []


# --- LocalStorage.put of an incoming file -----------------------------------------------------


def test_local_storage_keeps_its_own_incoming_file_by_renaming_it(tmp_path):
    store = LocalStorage(tmp_path / "store")
    data = os.urandom(200_000)
    spool = store.incoming_file("originals")
    write_in_chunks(spool, data)
    spool.seek(0)
    inode = os.fstat(spool.fileno()).st_ino
    store.put("originals/2026/11/28/a.jpg", spool, "image/jpeg")
    spool.close()  # after the move, closing must not remove the stored file
    stored = tmp_path / "store" / "originals/2026/11/28/a.jpg"
    assert stored.stat().st_ino == inode  # moved, not copied
    assert stored.read_bytes() == data
    assert incoming_names(tmp_path) == []


def test_an_upload_goes_to_the_disk_while_the_request_goes_on_and_put_waits_for_it(
    tmp_path, monkeypatch
):
    store = LocalStorage(tmp_path / "store")
    spool = store.incoming_file("originals")
    data = os.urandom(300_000)
    write_in_chunks(spool, data)
    real_fsync, started, release, synced = os.fsync, threading.Event(), threading.Event(), []

    def slow_fsync(fd):
        if threading.current_thread() is not threading.main_thread():
            started.set()
            release.wait(5)
        real_fsync(fd)
        synced.append(threading.current_thread().name)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    spool.sync_soon()
    assert started.wait(5)  # the background fsync runs; the caller is not held up by it
    threading.Timer(0.2, release.set).start()
    spool.seek(0)
    store.put("originals/2026/11/28/s.jpg", spool, "image/jpeg")
    assert release.is_set()  # put returned only after the background fsync had finished
    assert synced[0].startswith("fsync")
    spool.close()
    assert store.read("originals/2026/11/28/s.jpg") == data


@pytest.mark.parametrize(
    ("code", "error"), [(errno.EIO, StorageUnavailable), (errno.ENOSPC, StorageFull)]
)
def test_a_failed_background_fsync_fails_the_put_though_another_fsync_would_pass(
    tmp_path, monkeypatch, code, error
):
    # Linux reports a failed write-back to one fsync only: a second one may return success
    # over bytes that never reached the disk. The background fsync's failure must be the put's.
    store = LocalStorage(tmp_path / "store")
    spool = store.incoming_file("originals")
    spool.write(b"photo bytes")
    real_fsync, failures = os.fsync, [OSError(code, os.strerror(code))]

    def fails_once(fd):
        if failures:
            raise failures.pop()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fails_once)
    spool.sync_soon()
    spool.seek(0)
    with pytest.raises(error):
        store.put("originals/2026/11/28/f.jpg", spool, "image/jpeg")
    spool.close()
    assert not failures  # the background fsync was the one that failed
    assert not store.exists("originals/2026/11/28/f.jpg")
    assert incoming_names(tmp_path) == []


@pytest.mark.parametrize("written_after", [False, True])
def test_put_fsyncs_the_file_again_only_for_bytes_the_background_fsync_missed(
    tmp_path, monkeypatch, written_after
):
    store = LocalStorage(tmp_path / "store")
    spool = store.incoming_file("originals")
    spool.write(b"photo bytes")
    real_fsync, synced = os.fsync, []

    def recording_fsync(fd):
        real_fsync(fd)
        synced.append((threading.current_thread() is threading.main_thread(), fd))

    monkeypatch.setattr(os, "fsync", recording_fsync)
    spool.sync_soon()
    if written_after:
        spool.write(b" and a late tail")
    spool.seek(0)
    file_fd = spool.fileno()
    store.put("originals/2026/11/28/h.jpg", spool, "image/jpeg")
    assert (False, file_fd) in synced  # the background fsync
    assert ((True, file_fd) in synced) is written_after  # put's own, only for the late bytes
    spool.close()
    expected = b"photo bytes and a late tail" if written_after else b"photo bytes"
    assert store.read("originals/2026/11/28/h.jpg") == expected


@pytest.mark.parametrize("moved", [True, False])
def test_a_failed_directory_fsync_leaves_nothing_at_the_key(tmp_path, monkeypatch, moved):
    store = LocalStorage(tmp_path / "store")
    spool = store.incoming_file("originals") if moved else io.BytesIO()
    spool.write(b"photo bytes")
    spool.seek(0)
    real_fsync = os.fsync

    def directories_fail(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", directories_fail)
    with pytest.raises(StorageUnavailable):
        store.put("originals/2026/11/28/d.jpg", spool, "image/jpeg")
    spool.close()
    monkeypatch.undo()
    assert not store.exists("originals/2026/11/28/d.jpg")
    assert incoming_names(tmp_path) == []


def test_closing_an_unkept_file_waits_for_its_background_fsync(tmp_path, monkeypatch):
    spool = IncomingFile.create_in(tmp_path)
    spool.write(b"refused upload")
    real_fsync, finished = os.fsync, []

    def slow_fsync(fd):
        time.sleep(0.2)
        real_fsync(fd)  # fails if the descriptor was closed under it
        finished.append(True)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    spool.sync_soon()
    spool.close()
    assert finished == [True]
    assert os.listdir(tmp_path) == []


def test_local_storage_copies_an_incoming_file_of_another_disk(tmp_path):
    store = LocalStorage(tmp_path / "store")
    other = LocalStorage(tmp_path / "other")
    with other.incoming_file("originals") as spool:
        spool.write(b"photo bytes")
        spool.seek(0)
        store.put("originals/2026/11/28/b.jpg", spool, "image/jpeg")
    assert store.read("originals/2026/11/28/b.jpg") == b"photo bytes"
    assert incoming_names(tmp_path) == []


def test_other_backends_take_an_anonymous_incoming_file():
    store = MemoryStorage()
    with store.incoming_file("originals") as spool:
        spool.write(b"photo bytes")
        spool.seek(0)
        assert spool.path is None
        store.put("originals/2026/11/28/c.jpg", spool, "image/jpeg")
    assert store.read("originals/2026/11/28/c.jpg") == b"photo bytes"


# --- through the API --------------------------------------------------------------------------


def test_the_stored_original_has_the_uploads_sha256(client, app, storage):
    upload = make_jpeg(1200, 900, gps=MIANYANG)
    response = post_report(client, photos=[upload])
    assert response.status_code == 201, response.json
    with app.app_context():
        photo = db.session.scalars(select(Photo)).one()
        stored = storage.read(photo.original_key)
    assert stored == upload
    assert photo.sha256 == hashlib.sha256(upload).hexdigest()
    assert [o.key for o in storage.list("") if ".incoming-" in o.key] == []


@local_only
def test_intake_writes_the_upload_to_the_disk_in_the_background_before_answering(
    client, app, monkeypatch
):
    real_fsync, synced_by = os.fsync, []

    def recording_fsync(fd):
        real_fsync(fd)
        synced_by.append(threading.current_thread().name)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    response = post_report(client, photos=[make_jpeg(1600, 1200, gps=MIANYANG)])
    assert response.status_code == 201, response.json
    assert any(name.startswith("fsync") for name in synced_by)  # started early, off the request
    assert threading.main_thread().name in synced_by  # and put's own fsync before the answer


@local_only
def test_the_upload_starts_for_the_disk_as_soon_as_the_body_is_in(client, app, monkeypatch):
    from hazard_reporter.reports import services

    real_submit, syncing_at_submit = services.submit_report, []

    def submit_report(*, submission, **kwargs):
        syncing_at_submit.extend(p.stream._syncing is not None for p in submission.photos)
        return real_submit(submission=submission, **kwargs)

    monkeypatch.setattr(services, "submit_report", submit_report)
    photos = [make_jpeg(gps=MIANYANG), make_jpeg(800, 600, gps=MIANYANG)]
    assert post_report(client, photos=photos).status_code == 201
    assert syncing_at_submit == [True, True]  # before the checks and the report's making


@local_only
def test_a_refused_upload_leaves_no_incoming_file(client, app):
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG), (b"%PDF-1.7\n", "x.jpg")])
    assert response.status_code == 415
    assert "JPEG" in response.json["error"]["message"]
    assert incoming_names(app.config["UPLOAD_DIR"]) == []


@local_only
def test_an_upload_cut_off_midway_leaves_no_incoming_file(client, app, monkeypatch):
    made = []
    real_create_in = IncomingFile.create_in.__func__

    def create_in(cls, directory):
        made.append(real_create_in(cls, directory))
        return made[-1]

    monkeypatch.setattr(IncomingFile, "create_in", classmethod(create_in))
    builder = EnvironBuilder(
        path="/api/v1/reports",
        method="POST",
        data={
            "sector": "gas_network",
            "description": "燃气表箱门损坏",
            "photos": (io.BytesIO(make_jpeg(1600, 1200, gps=MIANYANG)), "a.jpg"),
        },
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    body = environ["wsgi.input"].read()
    environ["wsgi.input"] = io.BytesIO(body[: len(body) // 2])  # the phone lost its network
    response = client.open(environ)
    builder.close()
    assert response.status_code == 422  # the form never arrived whole
    assert len(made) == 1 and made[0].closed
    assert incoming_names(app.config["UPLOAD_DIR"]) == []


@local_only
def test_a_full_disk_while_spooling_the_upload_is_a_json_503(tmp_path, monkeypatch):
    app = build_app(tmp_path)
    monkeypatch.setattr(
        IncomingFile, "create_in", classmethod(lambda _cls, d: full_disk_incoming_file(d))
    )
    response = post_report(app.test_client())
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_full"
    assert "存储空间不足" in response.json["error"]["message"]
    assert incoming_names(tmp_path / "uploads") == []


def test_the_answer_shows_the_report_as_stored(client, app):
    created = post_report(client, photos=[make_jpeg(gps=MIANYANG), make_jpeg(gps=MIANYANG)])
    assert created.status_code == 201, created.json
    body = created.json
    again = client.get(
        f"/api/v1/reports/{body['id']}", headers={"X-Followup-Token": body["followup_token"]}
    )
    assert again.status_code == 200
    shown = {k: v for k, v in again.json.items() if k != "timeline"}
    # The photo links' tokens carry the second they were signed in; the rest must be the same.
    assert without_link_tokens({k: body[k] for k in shown}) == without_link_tokens(shown)


def without_link_tokens(value):
    if isinstance(value, dict):
        return {k: without_link_tokens(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_link_tokens(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"([?&]t=)[^&]*", r"\1…", value)
    return value


# --- reading the body in pieces ------------------------------------------------------------------


def test_the_body_is_read_in_pieces_the_form_memory_limit_allows():
    assert piece_size(None) == 256 * 1024
    assert piece_size(500_000) == 250_000  # Flask's default limit
    assert piece_size(100_000) == 50_000
    assert piece_size(10) == 1024


def test_a_photo_larger_than_a_piece_arrives_whole_under_a_small_form_memory_limit(tmp_path):
    # A piece larger than MAX_FORM_MEMORY_SIZE would be refused by Werkzeug with 413.
    app = build_app(tmp_path, MAX_FORM_MEMORY_SIZE=100_000)
    upload = make_jpeg(3000, 2000, gps=MIANYANG)
    assert len(upload) > 200_000
    response = post_report(app.test_client(), photos=[upload])
    assert response.status_code == 201, response.json
    with app.app_context():
        photo = db.session.scalars(select(Photo)).one()
        assert app.extensions["hazard_storage"].read(photo.original_key) == upload
