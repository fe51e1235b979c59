"""Direct uploads (S3 deployments): the phone asks ``POST /api/v1/uploads`` for a presigned POST,
sends the photo straight to the bucket, and the report names the key in ``upload_keys``; the
server checks each object like any other photo before accepting it, and removes the unclaimed."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from hazard_reporter.core.db import utcnow
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from hazard_reporter.photos.services import remove_unclaimed_uploads
from tests.conftest import build_app, s3_settings
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report


@pytest.fixture
def s3_app(tmp_path, s3_endpoint):
    return build_app(tmp_path, **s3_settings(s3_endpoint))


def upload(client, data: bytes, content_type: str = "image/jpeg") -> tuple[str, int]:
    """Ask for a ticket, then send ``data`` to the bucket as a phone would; (key, bucket status)."""
    ticket = client.post("/api/v1/uploads", json={"content_type": content_type})
    assert ticket.status_code == 201, ticket.get_json()
    body = ticket.get_json()
    answer = requests.post(
        body["url"], data=body["fields"], files={"file": ("photo", data, content_type)}, timeout=10
    )
    return body["key"], answer.status_code


def report_with_keys(client, keys, **fields):
    return post_report(client, photos=[], upload_keys=keys, **fields)


def test_a_report_names_photos_uploaded_straight_to_the_bucket(s3_app):
    client = s3_app.test_client()
    photo = make_jpeg(gps=MIANYANG)
    key, status = upload(client, photo)
    assert status in (200, 201, 204)
    assert key.startswith("uploads/")

    response = report_with_keys(client, [key])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["location"]["source"] == "exif"  # the metadata was read from the object itself
    with s3_app.app_context():
        stored = db.session.get(Photo, body["photos"][0]["id"])
        assert stored.upload_key == key and stored.original_key.startswith("originals/")
        assert s3_app.extensions["hazard_storage"].read(stored.original_key) == photo
        assert stored.sha256 == hashlib.sha256(photo).hexdigest()
        assert stored.size_bytes == len(photo)


def test_photos_sent_inline_and_uploaded_mix_in_one_report(s3_app):
    client = s3_app.test_client()
    key, _ = upload(client, make_jpeg(gps=MIANYANG))
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG)], upload_keys=[key])
    assert response.status_code == 201
    assert len(response.get_json()["photos"]) == 2


def test_the_server_decides_the_format_from_the_uploaded_bytes(s3_app):
    client = s3_app.test_client()
    key, _ = upload(client, b"%PDF-1.7\n" + b"0" * 2000)  # declared image/jpeg
    response = report_with_keys(client, [key], lat=31.46, lon=104.68)
    assert response.status_code == 415
    assert response.get_json()["error"]["field"] == "photos"


def test_an_upload_over_the_size_limit_is_refused(tmp_path, s3_endpoint):
    photo = make_jpeg(gps=MIANYANG)
    app = build_app(tmp_path, **s3_settings(s3_endpoint), MAX_PHOTO_BYTES=len(photo) - 1)
    client = app.test_client()
    key, status = upload(client, photo)
    if status < 300:  # a bucket that does not enforce the policy: the server still does
        response = report_with_keys(client, [key])
        assert response.status_code == 413
        assert response.get_json()["error"]["field"] == "upload_keys"
    else:
        assert status == 400  # the bucket enforced content-length-range


@pytest.mark.parametrize(
    "key",
    ["originals/2026/11/28/" + "a" * 32, "uploads/../originals/x", "uploads/2026/11/28/zz", ""],
)
def test_only_keys_the_upload_endpoint_hands_out_are_accepted(s3_app, key):
    response = report_with_keys(s3_app.test_client(), [key], lat=31.46, lon=104.68)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "upload_key_invalid" and error["field"] == "upload_keys"


def test_a_key_never_uploaded_is_named_in_the_error(s3_app):
    key = f"uploads/{utcnow():%Y/%m/%d}/{'0' * 32}"
    response = report_with_keys(s3_app.test_client(), [key], lat=31.46, lon=104.68)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "upload_missing" and key in error["message"]


def test_an_upload_belongs_to_one_report_and_a_retry_replays_it(s3_app):
    client = s3_app.test_client()
    key, _ = upload(client, make_jpeg(gps=MIANYANG))
    first = report_with_keys(client, [key], headers={"Idempotency-Key": "phone-1-report-1"})
    assert first.status_code == 201
    again = report_with_keys(client, [key], headers={"Idempotency-Key": "phone-1-report-1"})
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    other = report_with_keys(client, [key])
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "upload_already_used"


def test_a_report_naming_one_upload_twice_is_refused_naming_the_field(s3_app):
    # The second photo row could not take the same original: a 500, which the page retried.
    client = s3_app.test_client()
    key, _ = upload(client, make_jpeg(gps=MIANYANG))
    for headers in ({}, {"Idempotency-Key": "phone-1-report-7"}):
        response = report_with_keys(client, [key, key], headers=headers)
        assert response.status_code == 422, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and error["field"] == "upload_keys"
        assert "upload_keys" in error["message"] and "重复" in error["message"]
    assert report_with_keys(client, [key]).status_code == 201  # the upload is still unclaimed


def test_uploads_are_removed_after_the_keep_period(s3_app):
    client = s3_app.test_client()
    photo = make_jpeg(gps=MIANYANG)
    claimed, _ = upload(client, photo)
    unclaimed, _ = upload(client, make_jpeg(gps=MIANYANG))
    assert report_with_keys(client, [claimed]).status_code == 201
    storage = s3_app.extensions["hazard_storage"]
    keep = timedelta(hours=s3_app.config["UPLOAD_KEEP_HOURS"])
    with s3_app.app_context():
        assert remove_unclaimed_uploads(db.session, storage, now=utcnow(), keep=keep) == 0
        later = utcnow() + keep + timedelta(minutes=1)
        assert remove_unclaimed_uploads(db.session, storage, now=later, keep=keep) == 2
        kept = db.session.scalars(select(Photo.original_key)).one()
    # The claimed upload went too: its report keeps the bytes it checked under a key of its own.
    assert not storage.exists(claimed) and not storage.exists(unclaimed)
    assert storage.read(kept) == photo


def test_an_upload_claimed_before_its_key_was_kept_apart_stays_and_stays_claimed(s3_app):
    # Photos claimed before migration 0014 (or by a process still running the code before it,
    # during an upgrade) have their upload's key as their original, and no upload_key.
    client = s3_app.test_client()
    key, _ = upload(client, make_jpeg(gps=MIANYANG))
    assert report_with_keys(client, [key]).status_code == 201
    storage = s3_app.extensions["hazard_storage"]
    keep = timedelta(hours=s3_app.config["UPLOAD_KEEP_HOURS"])
    with s3_app.app_context():
        photo = db.session.scalars(select(Photo)).one()
        photo.original_key, photo.upload_key = key, None
        db.session.commit()
    again = report_with_keys(client, [key])
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["error"]["code"] == "upload_already_used"
    with s3_app.app_context():
        later = utcnow() + keep + timedelta(minutes=1)
        assert remove_unclaimed_uploads(db.session, storage, now=later, keep=keep) == 0
    assert storage.exists(key)


def test_an_upload_written_again_after_its_report_took_it_changes_nothing(s3_app):
    # The presigned POST stays good for HAZARD_S3_PRESIGN_SECONDS after the report claimed the
    # upload: whoever holds it could replace the evidence behind its recorded sha256.
    client = s3_app.test_client()
    photo = make_jpeg(gps=MIANYANG)
    ticket = client.post("/api/v1/uploads", json={"content_type": "image/jpeg"}).get_json()

    def send(data: bytes) -> int:
        files = {"file": ("photo", data, "image/jpeg")}
        return requests.post(
            ticket["url"], data=ticket["fields"], files=files, timeout=10
        ).status_code

    assert send(photo) < 300
    response = report_with_keys(client, [ticket["key"]])
    assert response.status_code == 201, response.get_json()
    other = make_jpeg(640, 480)
    assert send(other) < 300  # the bucket takes it: the form has not expired
    storage = s3_app.extensions["hazard_storage"]
    assert storage.read(ticket["key"]) == other
    with s3_app.app_context():
        stored = db.session.get(Photo, response.get_json()["photos"][0]["id"])
        assert storage.read(stored.original_key) == photo
        assert stored.sha256 == hashlib.sha256(storage.read(stored.original_key)).hexdigest()


def test_an_upload_near_the_end_of_its_keep_period_is_not_claimed(s3_app, monkeypatch):
    # The sweep (another process) removes uploads older than the keep period. A report claiming
    # one in its last minutes could have it removed under it and keep a photo row without its
    # original; such a claim is refused instead, and the page then sends the photo itself.
    from hazard_reporter.photos.services import CLAIM_MARGIN
    from hazard_reporter.reports import routes

    client = s3_app.test_client()
    late, _ = upload(client, make_jpeg(gps=MIANYANG))
    early, _ = upload(client, make_jpeg(gps=MIANYANG))
    claimed, _ = upload(client, make_jpeg(gps=MIANYANG))
    first = report_with_keys(client, [claimed], headers={"Idempotency-Key": "phone-1-report-9"})
    assert first.status_code == 201
    keep = timedelta(hours=s3_app.config["UPLOAD_KEEP_HOURS"])
    uploaded = utcnow()

    monkeypatch.setattr(
        routes, "utcnow", lambda: uploaded + keep - CLAIM_MARGIN + timedelta(minutes=1)
    )
    refused = report_with_keys(client, [late])
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "upload_expired" and late in error["message"]
    assert "72" in error["message"]
    assert s3_app.extensions["hazard_storage"].exists(late)  # left for the sweep
    # a retry of the report that claimed its upload in time still gets its answer
    again = report_with_keys(client, [claimed], headers={"Idempotency-Key": "phone-1-report-9"})
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]

    monkeypatch.setattr(
        routes, "utcnow", lambda: uploaded + keep - CLAIM_MARGIN - timedelta(minutes=1)
    )
    assert report_with_keys(client, [early]).status_code == 201


def test_without_a_bucket_direct_upload_is_refused_clearly(tmp_path):
    app = build_app(tmp_path, STORAGE="local")
    response = app.test_client().post("/api/v1/uploads", json={"content_type": "image/jpeg"})
    assert response.status_code == 501
    error = response.get_json()["error"]
    assert error["code"] == "direct_upload_unavailable" and "直传" in error["message"]


def test_the_upload_ticket_is_for_photo_types_only(s3_app):
    response = s3_app.test_client().post("/api/v1/uploads", json={"content_type": "text/html"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "content_type"


def test_pages_may_show_photos_from_the_bucket(s3_app, s3_endpoint):
    # Rendition links redirect to the bucket's signed URLs: the pages' CSP must allow it.
    csp = s3_app.test_client().get("/inspect").headers["Content-Security-Policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert s3_endpoint in img_src.split()


def test_the_report_page_uploads_to_the_bucket_only_with_one(s3_app, s3_endpoint, tmp_path):
    response = s3_app.test_client().get("/report")
    csp = response.headers["Content-Security-Policy"]
    connect_src = next(d for d in csp.split(";") if d.strip().startswith("connect-src"))
    assert s3_endpoint in connect_src.split()  # the page POSTs the photos there
    assert b'data-direct-uploads="true"' in response.data

    local = build_app(tmp_path / "local", STORAGE="local").test_client().get("/report")
    assert "connect-src 'self';" in local.headers["Content-Security-Policy"]
    assert b'data-direct-uploads="false"' in local.data


def test_phones_get_links_and_upload_forms_at_the_public_endpoint(tmp_path, s3_endpoint):
    settings = s3_settings(s3_endpoint)
    app = build_app(tmp_path, **settings, S3_PUBLIC_ENDPOINT_URL="https://oss.example.cn")
    ticket = app.test_client().post("/api/v1/uploads", json={"content_type": "image/png"})
    assert ticket.get_json()["url"].startswith("https://oss.example.cn")


def test_two_reports_taking_one_upload_at_once_get_one_201_and_one_409(s3_app, monkeypatch):
    # Both pass the look-up for a report holding the upload before either is written: the
    # upload's key is unique among the photos, so the second write fails and is answered 409.
    import threading

    from hazard_reporter.reports import services

    store = services.store_originals
    both_checked = threading.Barrier(2, timeout=10)

    def store_when_both_checked(*args, **kwargs):
        both_checked.wait()
        return store(*args, **kwargs)

    monkeypatch.setattr(services, "store_originals", store_when_both_checked)
    key, _ = upload(s3_app.test_client(), make_jpeg(gps=MIANYANG))
    answers: list[int] = []

    def send() -> None:
        answers.append(report_with_keys(s3_app.test_client(), [key]).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [201, 409]
    with s3_app.app_context():
        assert db.session.scalars(select(Photo.upload_key)).all() == [key]
