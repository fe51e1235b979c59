"""The storage interface, the same behaviour from every backend, and S3 on a real endpoint."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from hazard_reporter.core.storage import LocalStorage, MemoryStorage, S3Storage
from hazard_reporter.errors import StorageUnavailable
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from hazard_reporter.reports.models import Report
from tests.conftest import build_app, s3_settings, start_s3_server
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    if request.param == "memory":
        return MemoryStorage()
    settings = s3_settings(request.getfixturevalue("s3_endpoint"))
    store = S3Storage(settings["S3_BUCKET"], endpoint_url=settings["S3_ENDPOINT_URL"])
    store.ensure_bucket()
    return store


def test_put_read_list_delete(backend):
    backend.put_bytes("originals/2026/11/28/a.jpg", b"abc", "image/jpeg")
    backend.put_bytes("derivatives/1/display.jpg", b"de", "image/jpeg")
    assert backend.read("originals/2026/11/28/a.jpg") == b"abc"
    assert backend.exists("derivatives/1/display.jpg")
    listed = {o.key: o.size for o in backend.list("originals/")}
    assert listed == {"originals/2026/11/28/a.jpg": 3}
    backend.delete("originals/2026/11/28/a.jpg")
    backend.delete("originals/2026/11/28/a.jpg")  # deleting twice is fine
    assert not backend.exists("originals/2026/11/28/a.jpg")
    with pytest.raises(FileNotFoundError):
        backend.read("originals/2026/11/28/a.jpg")


def test_modified_says_when_an_object_was_stored(backend):
    from datetime import UTC, datetime, timedelta

    backend.put_bytes("uploads/2026/12/04/" + "a" * 32, b"abc", "image/jpeg")
    stored = backend.modified("uploads/2026/12/04/" + "a" * 32)
    assert abs(stored - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(FileNotFoundError):
        backend.modified("uploads/2026/12/04/" + "b" * 32)


def test_a_file_removed_while_the_folder_is_listed_is_left_out(tmp_path):
    # A failed submission removes its original while the clean-up lists the same folder.
    store = LocalStorage(tmp_path / "store")
    for name in ("a", "b", "c"):
        store.put_bytes(f"originals/2026/12/04/{name}.jpg", b"x", "image/jpeg")
    listing = store.list("originals/")
    first = next(listing)
    store.delete("originals/2026/12/04/b.jpg")
    rest = [item.key for item in listing]
    assert first.key == "originals/2026/12/04/a.jpg"
    assert rest == ["originals/2026/12/04/c.jpg"]


def test_a_large_object_reads_back_whole(backend):
    # 3 MB: more than one read chunk, and more than S3 storage keeps in memory before spooling.
    data = bytes(range(256)) * (3 * 4096)
    backend.put_bytes("originals/2026/11/28/big.jpg", data, "image/jpeg")
    with backend.open("originals/2026/11/28/big.jpg") as fp:
        assert fp.read(10) == data[:10]
        fp.seek(0)
        assert fp.read() == data


def test_s3_connection_dropped_while_reading_is_storage_unavailable(s3_endpoint, monkeypatch):
    from botocore.exceptions import ReadTimeoutError
    from botocore.response import StreamingBody

    settings = s3_settings(s3_endpoint)
    store = S3Storage(settings["S3_BUCKET"], endpoint_url=settings["S3_ENDPOINT_URL"])
    store.ensure_bucket()
    store.put_bytes("originals/2026/11/28/cut.jpg", b"x" * 100_000, "image/jpeg")

    def dropped(self, chunk_size=1024):
        yield b"x" * 1000
        raise ReadTimeoutError(endpoint_url=s3_endpoint)

    monkeypatch.setattr(StreamingBody, "iter_chunks", dropped)
    with pytest.raises(StorageUnavailable):
        store.open("originals/2026/11/28/cut.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", "a//b", "", "a\\b"])
def test_keys_cannot_leave_the_storage_root(backend, key):
    with pytest.raises(ValueError):
        backend.put_bytes(key, b"x", "text/plain")


def test_a_folder_linked_to_another_disk_is_used_like_any_other(tmp_path):
    # An operator moves an old year to another disk and links it back in place.
    store = LocalStorage(tmp_path / "store")
    store.put_bytes("originals/2025/01/01/a.jpg", b"old", "image/jpeg")
    (tmp_path / "store/originals/2025").rename(tmp_path / "archive-2025")
    (tmp_path / "store/originals/2025").symlink_to(tmp_path / "archive-2025")
    assert store.read("originals/2025/01/01/a.jpg") == b"old"
    store.put_bytes("originals/2025/01/02/b.jpg", b"late", "image/jpeg")
    assert (tmp_path / "archive-2025/01/02/b.jpg").read_bytes() == b"late"


def test_local_storage_leaves_no_partial_file_when_the_write_fails(tmp_path):
    store = LocalStorage(tmp_path)

    class Exploding(io.BytesIO):
        def read(self, *args):
            raise OSError(28, "No space left on device")

    with pytest.raises(StorageUnavailable):
        store.put("originals/x.jpg", Exploding(), "image/jpeg")
    assert list(store.list("")) == []


@pytest.fixture
def s3_app(tmp_path, s3_endpoint):
    return build_app(tmp_path, **s3_settings(s3_endpoint))


def test_report_on_s3_keeps_the_original_and_redirects_to_a_clean_rendition(s3_app):
    client = s3_app.test_client()
    original = make_jpeg(2000, 1500, gps=MIANYANG, make="HUAWEI", model="P60")
    body = post_report(client, photos=[original]).json
    storage = s3_app.extensions["hazard_storage"]
    [key] = [o.key for o in storage.list("originals/")]
    assert storage.read(key) == original  # unaltered evidence
    response = client.get(body["photos"][0]["url"])
    assert response.status_code == 302
    fetched = requests.get(response.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    image = Image.open(io.BytesIO(fetched.content))
    assert image.size == (1600, 1200) and not image.getexif()


def test_s3_endpoint_down_is_503_then_the_retry_succeeds(tmp_path):
    server, url, port = start_s3_server()
    app = build_app(tmp_path, **s3_settings(url))
    client = app.test_client()
    storage = app.extensions["hazard_storage"]
    server.stop()
    try:
        down = post_report(client, headers={"Idempotency-Key": "retry-me"})
        assert down.status_code == 503 and down.headers["Retry-After"]
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Report)) == 0
    finally:
        server, _url, _port = start_s3_server(port)
    try:
        assert [o.key for o in storage.list("")] == []  # nothing half-made
        back = post_report(client, headers={"Idempotency-Key": "retry-me"})
        assert back.status_code == 201
    finally:
        server.stop()


def test_cleanup_command_removes_only_old_unreferenced_files(app, storage):
    client = app.test_client()
    body = post_report(client).json
    storage.put_bytes("originals/2020/01/01/orphan.jpg", b"left by a crash", "image/jpeg")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["photos", "cleanup-orphans", "--older-than", "0", "--dry-run"])
    assert "would remove originals/2020/01/01/orphan.jpg" in dry.output
    assert storage.exists("originals/2020/01/01/orphan.jpg")
    young = runner.invoke(args=["photos", "cleanup-orphans"])  # default grace: one hour
    assert "0 orphaned file(s) removed" in young.output
    result = runner.invoke(args=["photos", "cleanup-orphans", "--older-than", "0"])
    assert "1 orphaned file(s) removed" in result.output, result.output
    assert not storage.exists("originals/2020/01/01/orphan.jpg")
    assert client.get(body["photos"][0]["url"]).status_code in (200, 302)
    keys = [o.key for o in storage.list("")]
    assert len([k for k in keys if k.startswith("originals/")]) == 1


def test_cleanup_checks_the_listing_a_batch_at_a_time_and_keeps_every_named_file(app, storage):
    from datetime import timedelta

    from hazard_reporter.core.db import utcnow
    from hazard_reporter.photos.services import find_orphans

    client = app.test_client()
    kept = []
    for _ in range(3):
        [photo] = post_report(client).json["photos"]
        with app.app_context():
            row = db.session.get(Photo, photo["id"])
            kept += [row.original_key, row.display_key, row.thumbnail_key]
            db.session.remove()
    orphans = [
        "originals/2020/01/01/orphan.jpg",
        f"derivatives/{photo['id']}/display-old.jpg",  # a file its photo no longer names
        "derivatives/999999/display.jpg",  # a photo that is gone
        "derivatives/stray.jpg",
        "uploads/2020/01/01/never-claimed.jpg",
    ]
    for key in orphans:
        storage.put_bytes(key, b"left behind", "image/jpeg")

    with app.app_context():
        found = list(
            find_orphans(db.session, storage, older_than=utcnow() + timedelta(seconds=1), batch=2)
        )

    assert sorted(found) == sorted(orphans)
    assert all(storage.exists(key) for key in kept)


def test_pending_renditions_are_made_by_the_command(app, storage, monkeypatch):
    from hazard_reporter.core import tasks

    monkeypatch.setattr(tasks.InlineRunner, "enqueue", lambda self, task, *args: None)
    body = post_report(app.test_client())
    assert body.json["photos"][0]["status"] == "pending"
    assert app.test_client().get(body.json["photos"][0]["url"]).status_code == 404
    result = app.test_cli_runner().invoke(args=["photos", "process-pending"])
    assert result.exit_code == 0, result.output
    again = (
        app.test_client()
        .get(
            f"/api/v1/reports/{body.json['id']}",
            headers={"X-Followup-Token": body.json["followup_token"]},
        )
        .json
    )
    assert again["photos"][0]["status"] == "ready"


def test_cleanup_removes_half_written_temporaries_left_by_a_crash(tmp_path):
    from datetime import timedelta

    from hazard_reporter.core.db import utcnow
    from hazard_reporter.photos.services import find_orphans

    app = build_app(tmp_path)
    leftover = tmp_path / "uploads" / "originals" / "2026" / "11" / "28" / ".incoming-k3x9q"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a photo")
    result = app.test_cli_runner().invoke(args=["photos", "cleanup-orphans", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "1 orphaned file(s) removed" in result.output
    assert not leftover.exists()
    with app.app_context():
        assert (
            list(
                find_orphans(
                    db.session,
                    app.extensions["hazard_storage"],
                    older_than=utcnow() + timedelta(seconds=1),
                )
            )
            == []
        )
