"""The report contract as a phone sees it: POST, GET one, GET a page."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import String, func, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.test import EnvironBuilder

from hazard_reporter.core.db import insert_as_loaded, utcnow
from hazard_reporter.errors import StorageUnavailable
from hazard_reporter.extensions import db
from hazard_reporter.geo.coords import distance_m, from_wgs84
from hazard_reporter.photos.models import Photo
from hazard_reporter.regions.models import RegionLevel
from hazard_reporter.regions.services import upsert_region
from hazard_reporter.reports.models import Event, Report
from hazard_reporter.reports.services import _insert_report
from tests.fixtures import make_jpeg
from tests.test_photos_imaging import jpeg_with_exif_thumbnail

MIANYANG = (31.4675, 104.6796)  # 涪城区, WGS-84


def post_report(client, photos=None, headers=None, **fields):
    """POST a report; ``photos`` is a list of bytes or (bytes, filename)."""
    if photos is None:
        photos = [make_jpeg(gps=MIANYANG)]
    data = {"sector": "gas_network", "description": "燃气表箱门损坏"}
    data.update({k: v if isinstance(v, str | list) else str(v) for k, v in fields.items()})
    data = {k: v for k, v in data.items() if v != "None"}
    files = []
    for i, photo in enumerate(photos):
        content, name = photo if isinstance(photo, tuple) else (photo, f"photo{i}.jpg")
        files.append((io.BytesIO(content), name))
    data["photos"] = files
    builder = EnvironBuilder(
        path="/api/v1/reports",
        method="POST",
        data=data,
        headers=headers or {},
        content_type="multipart/form-data",
    )
    environ = builder.get_environ()
    try:
        response = client.open(environ)
        response.get_data()
    finally:
        # The test client spools large bodies to a temporary file it never closes itself.
        environ["wsgi.input"].close()
        builder.close()
    return response


def fetch(client, url) -> bytes:
    """A rendition's bytes: served by the app, or by S3 behind the app's redirect."""
    response = client.get(url)
    if response.status_code == 302:
        import requests

        direct = requests.get(response.headers["Location"], timeout=10)
        assert direct.status_code == 200 and direct.headers["Content-Type"] == "image/jpeg"
        return direct.content
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    return response.data


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def stored_keys(storage) -> list[str]:
    return [o.key for o in storage.list("")]


# --- a report from a phone photo -----------------------------------------------------------


def test_gps_photo_gives_a_located_report_with_safe_photo_links(client):
    response = post_report(client, photos=[make_jpeg(1200, 900, gps=MIANYANG)])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "submitted"
    assert body["severity"] == "orange"  # gas network's base level
    assert body["location"]["source"] == "exif"
    assert body["location"]["lat"] == pytest.approx(MIANYANG[0], abs=1e-5)
    assert body["location"]["lon"] == pytest.approx(MIANYANG[1], abs=1e-5)
    assert len(body["followup_token"]) >= 32
    [photo] = body["photos"]
    assert (photo["width"], photo["height"]) == (1200, 900)
    assert photo["status"] == "ready"
    assert response.headers["Location"] == f"/api/v1/reports/{body['id']}"

    image = Image.open(io.BytesIO(fetch(client, photo["url"])))
    assert max(image.size) <= 1600 and not image.getexif()
    thumb = Image.open(io.BytesIO(fetch(client, photo["thumbnail_url"])))
    assert max(thumb.size) <= 400


def test_report_records_its_submission_in_the_timeline(client, app):
    created = post_report(client).json
    body = client.get(
        f"/api/v1/reports/{created['id']}",
        headers={"X-Followup-Token": created["followup_token"]},
    ).json
    assert [e["action"] for e in body["timeline"]] == ["submitted"]
    assert body["timeline"][0]["to_status"] == "submitted"
    assert "followup_token" not in body  # shown once, at creation
    with app.app_context():
        assert db.session.scalar(select(Event.actor)) == "reporter"


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")
def test_served_renditions_carry_no_exif_xmp_or_gps_by_exiftool(client, tmp_path):
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    jpeg = make_jpeg(gps=MIANYANG, make="Apple", model="iPhone 15", xmp=xmp)
    body = post_report(client, photos=[jpeg]).json
    for url in (body["photos"][0]["url"], body["photos"][0]["thumbnail_url"]):
        path = tmp_path / "rendition.jpg"
        path.write_bytes(fetch(client, url))
        out = subprocess.run(
            ["exiftool", "-j", "-a", "-G1", str(path)], capture_output=True, text=True, check=True
        ).stdout
        assert "GPS" not in out and "XMP" not in out and "IFD0" not in out and "iPhone" not in out


def test_phone_fix_comes_first_and_a_far_photo_gps_is_flagged(client):
    far = (MIANYANG[0] + 0.01, MIANYANG[1])  # ~1.1 km north
    body = post_report(
        client, photos=[make_jpeg(gps=far)], lat=MIANYANG[0], lon=MIANYANG[1], accuracy_m=12
    ).json
    assert body["location"]["source"] == "device"
    assert body["location"]["lat"] == pytest.approx(MIANYANG[0])
    assert body["location"]["accuracy_m"] == 12
    assert "location_mismatch" in body["flags"]


def test_phone_fix_near_the_photo_gps_is_not_flagged(client):
    near = (MIANYANG[0] + 0.001, MIANYANG[1])  # ~110 m
    body = post_report(client, photos=[make_jpeg(gps=near)], lat=MIANYANG[0], lon=MIANYANG[1]).json
    assert "location_mismatch" not in body["flags"]


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_map_coordinates_are_stored_as_wgs84_and_answered_in_any_system(client, system):
    lat, lon = from_wgs84(*MIANYANG, system)
    body = post_report(client, photos=[make_jpeg()], lat=lat, lon=lon, coord_system=system).json
    assert distance_m(body["location"]["lat"], body["location"]["lon"], *MIANYANG) < 1.0
    again = client.get(
        f"/api/v1/reports/{body['id']}?coord_system={system}",
        headers={"X-Followup-Token": body["followup_token"]},
    ).json["location"]
    assert distance_m(again["lat"], again["lon"], lat, lon) < 1.0
    assert again["coord_system"] == system


def test_region_code_alone_locates_the_report_in_that_region(client):
    body = post_report(client, photos=[make_jpeg()], region_code="510703").json
    assert body["region"] == {"code": "510703", "name": "涪城区"}
    assert body["location"]["source"] == "manual" and body["location"]["lat"] is None


def test_point_inside_a_loaded_boundary_finds_the_smallest_region(client, app):
    square = {
        "type": "Polygon",
        "coordinates": [
            [[104.6, 31.4], [104.8, 31.4], [104.8, 31.6], [104.6, 31.6], [104.6, 31.4]]
        ],
    }
    city = {
        "type": "Polygon",
        "coordinates": [
            [[104.0, 31.0], [105.5, 31.0], [105.5, 32.5], [104.0, 32.5], [104.0, 31.0]]
        ],
    }
    with app.app_context():
        upsert_region(
            db.session,
            code="510700",
            name_zh="绵阳市",
            level=RegionLevel.CITY,
            parent_code="510000",
            boundary=city,
        )
        upsert_region(
            db.session,
            code="510703",
            name_zh="涪城区",
            level=RegionLevel.COUNTY,
            parent_code="510700",
            boundary=square,
        )
        db.session.commit()
    inside = post_report(client, photos=[make_jpeg(gps=MIANYANG)]).json
    assert inside["region"]["code"] == "510703"
    in_city_only = post_report(client, photos=[make_jpeg(gps=(32.0, 105.0))]).json
    assert in_city_only["region"]["code"] == "510700"


def test_immediate_danger_makes_the_report_red(client):
    body = post_report(client, immediate_danger="true", sector="construction").json
    assert body["severity"] == "red" and body["immediate_danger"] is True


def test_photo_without_camera_metadata_and_an_old_photo_are_flagged(client):
    plain = post_report(client, photos=[make_jpeg()], region_code="510703").json
    assert "no_camera_metadata" in plain["flags"]
    old = post_report(
        client, photos=[make_jpeg(gps=MIANYANG, taken_at="2020:01:02 10:00:00", make="Xiaomi")]
    ).json
    assert "stale_photo" in old["flags"] and "no_camera_metadata" not in old["flags"]
    assert old["captured_at"].startswith("2020-01-02T02:00:00")  # read in Asia/Shanghai


def test_an_old_photo_is_flagged_stale_whichever_photo_comes_first(client):
    now = datetime.now(UTC) + timedelta(hours=8)  # the phone's clock in Asia/Shanghai
    fresh = make_jpeg(gps=MIANYANG, taken_at=f"{now:%Y:%m:%d %H:%M:%S}", make="Xiaomi")
    old = make_jpeg(gps=MIANYANG, taken_at="2023:01:01 10:00:00", make="Xiaomi", color=(9, 9, 9))
    for photos in ([old, fresh], [fresh, old]):
        body = post_report(client, photos=photos).json
        assert "stale_photo" in body["flags"], body["flags"]
    assert "stale_photo" not in post_report(client, photos=[fresh, fresh]).json["flags"]


def test_several_photos_keep_their_order(client):
    photos = [make_jpeg(300 + i * 10, 200, gps=MIANYANG) for i in range(3)]
    body = post_report(client, photos=photos).json
    assert [p["width"] for p in body["photos"]] == [300, 310, 320]


# --- bad input is a clear 4xx ---------------------------------------------------------------


def test_no_location_at_all_is_refused_in_chinese_and_english(client, app):
    response = post_report(client, photos=[make_jpeg()])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "location_required"
    assert "定位" in response.json["error"]["message"]
    english = post_report(client, photos=[make_jpeg()], headers={"Accept-Language": "en-US,en"})
    assert "location" in english.json["error"]["message"]
    assert count(app, Report) == 0


def test_unknown_region_code_is_refused(client):
    response = post_report(client, photos=[make_jpeg()], region_code="999999")
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "unknown_region",
        "message": "未知的地区代码“999999”。",
        "field": "region_code",
    }


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"sector": None}, "sector", "missing_field"),
        ({"sector": "volcano"}, "sector", "validation_error"),
        ({"description": None}, "description", "missing_field"),
        ({"lat": "95", "lon": "104"}, "lat", "validation_error"),
        ({"lat": "31.4"}, "lon", "validation_error"),
        ({"lat": "nan", "lon": "104"}, "lat", "validation_error"),
        ({"coord_system": "utm"}, "coord_system", "validation_error"),
    ],
)
def test_bad_fields_are_named_in_the_error(client, fields, field, code):
    response = post_report(client, **fields)
    assert response.status_code == 422
    error = response.json["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert field in error["message"]


def test_blank_description_is_refused(client):
    response = post_report(client, description="   ")
    assert response.status_code == 422 and response.json["error"]["field"] == "description"


def test_no_photo_is_refused(client):
    response = client.post(
        "/api/v1/reports",
        data={"sector": "gas_network", "description": "x"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["error"]["field"] == "photos"


def test_seven_photos_are_refused(client, app):
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG, width=64, height=48)] * 7)
    assert response.status_code == 422 and response.json["error"]["code"] == "photo_count"
    assert count(app, Report) == 0


def test_a_non_image_is_415_naming_the_accepted_formats(client):
    response = post_report(client, photos=[(b"%PDF-1.7\n1 0 obj\n", "hazard.jpg")])
    assert response.status_code == 415
    assert "JPEG、PNG、WebP、HEIC" in response.json["error"]["message"]
    assert response.json["error"]["field"] == "photos"


def test_an_empty_file_is_400(client):
    response = post_report(client, photos=[(b"", "empty.jpg")])
    assert response.status_code == 400 and response.json["error"]["code"] == "photo_empty"


def test_a_photo_over_the_size_limit_is_413(tmp_path):
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_PHOTO_BYTES=20_000)
    response = post_report(app.test_client(), photos=[make_jpeg(1600, 1200, gps=MIANYANG)])
    assert response.status_code == 413
    assert response.json["error"]["code"] == "photo_too_large"


def test_a_request_over_the_total_limit_is_413_json(tmp_path):
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_CONTENT_LENGTH=10_000)
    response = post_report(app.test_client(), photos=[make_jpeg(1600, 1200, gps=MIANYANG)])
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_too_large"


def test_truncated_jpeg_is_refused_and_nothing_is_kept(client, app, storage):
    data = make_jpeg(800, 600, gps=MIANYANG)
    response = post_report(client, photos=[data[: len(data) // 2]])
    assert response.status_code == 422 and response.json["error"]["code"] == "photo_unreadable"
    assert count(app, Report) == 0 and stored_keys(storage) == []


def test_a_jpeg_cut_short_after_its_exif_thumbnail_is_refused_without_decoding(tmp_path):
    # With a task queue intake decodes nothing; the thumbnail's end-of-image marker (inside the
    # EXIF, before the picture) once passed for the photo's own, and the worker failed later.
    from tests.conftest import build_app

    app = build_app(tmp_path, INTAKE_DECODE=False)
    client = app.test_client()
    data = jpeg_with_exif_thumbnail()
    response = post_report(client, photos=[data[: len(data) * 2 // 3]], region_code="510703")
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "photo_unreadable"
    assert "损坏或不完整" in response.json["error"]["message"]
    assert count(app, Report) == 0
    assert post_report(client, photos=[data], region_code="510703").status_code == 201


def test_one_bad_photo_among_good_ones_refuses_the_report_whole(client, app, storage):
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG), (b"GIF89a....", "b.gif")])
    assert response.status_code == 415
    assert count(app, Report) == 0 and stored_keys(storage) == []


def test_unknown_report_is_a_json_404(client, admin):
    for url in ("/api/v1/reports/12345", "/api/v1/reports/99999999999999999999999"):
        response = client.get(url, headers=admin)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"


def test_wrong_method_is_405_with_allow_header(client):
    response = client.delete("/api/v1/sectors")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.json["error"]["code"] == "method_not_allowed"


# --- idempotency ------------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_first_report_and_its_token(client, app):
    photo = make_jpeg(gps=MIANYANG)
    headers = {"Idempotency-Key": "phone-42-report-7"}
    first = post_report(client, photos=[photo], headers=headers)
    again = post_report(client, photos=[photo], headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert again.json["followup_token"] == first.json["followup_token"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(app, Report) == 1 and count(app, Photo) == 1


def test_same_key_with_different_content_is_refused(client, app):
    headers = {"Idempotency-Key": "k-1"}
    post_report(client, photos=[make_jpeg(gps=MIANYANG)], headers=headers)
    other = post_report(
        client, photos=[make_jpeg(gps=MIANYANG)], headers=headers, description="另一处隐患"
    )
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert count(app, Report) == 1


def test_malformed_idempotency_key_is_400(client):
    response = post_report(client, headers={"Idempotency-Key": "x" * 300})
    assert response.status_code == 400
    assert response.json["error"]["field"] == "Idempotency-Key"


def test_fifty_concurrent_posts_with_one_key_create_exactly_one_report(app, live_server, storage):
    import concurrent.futures

    import requests

    photo = make_jpeg(1024, 768, gps=MIANYANG)

    def send(_):
        return requests.post(
            f"{live_server}/api/v1/reports",
            data={"sector": "gas_network", "description": "燃气泄漏"},
            files={"photos": ("p.jpg", photo, "image/jpeg")},
            headers={"Idempotency-Key": "same-key-50"},
            timeout=120,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(send, range(50)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["followup_token"] for r in responses}) == 1
    assert count(app, Report) == 1 and count(app, Photo) == 1
    # The losers' stored originals were removed: one original, two renditions.
    keys = stored_keys(storage)
    assert len([k for k in keys if k.startswith("originals/")]) == 1


# --- nothing half-made when storage or the database fails -----------------------------------


def test_storage_failure_is_503_with_retry_after_and_keeps_nothing(
    client, app, storage, monkeypatch
):
    real_put = storage.put
    calls = []

    def put_then_fail(key, fp, content_type):
        calls.append(key)
        if len(calls) > 1:
            raise StorageUnavailable(retry_after=30)
        return real_put(key, fp, content_type)

    monkeypatch.setattr(storage, "put", put_then_fail)
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG), make_jpeg(gps=MIANYANG)])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"]["code"] == "storage_unavailable"
    assert count(app, Report) == 0 and stored_keys(storage) == []


def test_database_failure_after_storing_is_503_and_removes_the_files(
    client, app, storage, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    def broken_commit():
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    with app.app_context():
        monkeypatch.setattr(db.session, "commit", broken_commit)
        response = post_report(client)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["error"]["code"] == "database_unavailable"
    monkeypatch.undo()
    assert count(app, Report) == 0 and stored_keys(storage) == []


# --- reading -------------------------------------------------------------------------------


def test_list_filters_by_sector_severity_and_region_subtree(client, admin):
    post_report(client, sector="gas_network", region_code="510703", photos=[make_jpeg()])
    post_report(client, sector="construction", region_code="510781", photos=[make_jpeg()])
    post_report(
        client,
        sector="construction",
        region_code="510703",
        photos=[make_jpeg()],
        immediate_danger="true",
    )

    def ids(query):
        response = client.get(f"/api/v1/reports?{query}", headers=admin)
        assert response.status_code == 200, response.json
        return [r["sector"] + ":" + r["region"]["code"] for r in response.json["items"]]

    assert ids("sector=construction") == ["construction:510703", "construction:510781"]
    assert ids("severity=red") == ["construction:510703"]
    assert ids("region=510781") == ["construction:510781"]
    assert len(ids("region=510700")) == 3  # the city's subtree
    assert ids("status=verified") == []


def test_cursor_pagination_walks_every_report_once(client, admin):
    created = [
        post_report(client, photos=[make_jpeg()], region_code="510703").json["id"] for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        url = "/api/v1/reports?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin).json
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(created, reverse=True)


@pytest.mark.parametrize(
    "query",
    ["cursor=%%%", "cursor=bm9wZQ", "limit=0", "limit=1000", "sector=volcano", "region=999999"],
)
def test_bad_list_queries_are_4xx(client, admin, query):
    response = client.get(f"/api/v1/reports?{query}", headers=admin)
    assert response.status_code == 422
    assert response.json["error"]["field"] in {"cursor", "limit", "sector", "region"}


def test_the_default_total_limit_follows_the_photo_limits(tmp_path):
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_PHOTOS=2, MAX_PHOTO_BYTES=5_000)
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 5_000 + 2**20
    body = b"x" * (2 * 5_000 + 2**20 + 1)
    response = app.test_client().post(
        "/api/v1/reports", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_too_large"


def test_a_description_with_a_nul_character_is_refused_and_nothing_is_kept(app, client):
    # PostgreSQL's text columns cannot hold U+0000 (SQLite's can): a 422 on both, not a 500.
    response = post_report(client, description="燃气表箱\x00门损坏")
    assert response.status_code == 422
    assert response.json["error"]["field"] == "description"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_an_exact_duplicate_is_a_photo_of_someone_elses_report(app, client):
    from hazard_reporter.reports.services import _photos_on_file
    from tests.conftest import make_user

    zhang, li = make_user(app), make_user(app)
    response = post_report(client, photos=[make_jpeg(gps=MIANYANG)], headers=zhang["headers"])
    assert response.status_code == 201, response.json
    with app.app_context():
        photo = db.session.scalar(select(Photo))
        sha, unseen = photo.sha256, "0" * 64

        def on_file(reporter):
            return _photos_on_file(db.session, sha256s=[unseen, sha], reporter_id=reporter)

        # (a report of someone else holds it, some photo on file has these bytes)
        assert on_file(zhang["id"]) == (False, True)  # his own photo again
        assert on_file(li["id"]) == (True, True)
        assert on_file(None) == (True, True)  # an anonymous sender cannot be told apart
        assert _photos_on_file(db.session, sha256s=[unseen], reporter_id=None) == (False, False)
        photo.kind = "rectification"  # a unit's photo of the repair is not a report's photo
        db.session.commit()
        assert on_file(li["id"]) == (False, True)
        photo.kind = "report"
        photo.report.reporter_id = None  # an anonymous report is someone else's for everyone
        db.session.commit()
        assert on_file(zhang["id"]) == (True, True)


def _report_with_photo_and_event(tag: str) -> Report:
    """A new report as intake builds one, with a photo and its first event; ``tag`` keeps the
    photo's storage key unique."""
    now = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    report = Report(
        sector="gas_network",
        description="燃气表箱门损坏",
        severity="yellow",
        lat=MIANYANG[0],
        lon=MIANYANG[1],
        location_source="device",
        submitted_at=now,
        anonymous=True,
        request_fingerprint="f" * 64,
        flags=["no_camera_metadata"],
    )
    report.photos = [
        Photo(
            position=0,
            original_key=f"originals/{tag}.jpg",
            sha256="a" * 64,
            size_bytes=1234,
            format="jpeg",
            width=64,
            height=48,
            metadata_={"make": "HUAWEI"},
        )
    ]
    report.events = [Event(at=now, actor="reporter", action="submitted", data={"photos": 1})]
    return report


def test_intake_writes_the_rows_and_objects_an_orm_flush_would(app):
    """Intake writes a new report with plain INSERTs (``_insert_report``) rather than the ORM's
    flush: the rows, and the objects left in the session, must be those the flush gives."""

    def state(obj) -> dict:
        skip = {"id", "report_id", "original_key"}
        columns = [a.key for a in inspect(obj).mapper.column_attrs if a.key not in skip]
        values = {key: getattr(obj, key) for key in columns}
        if "created_at" in values:  # the time of writing: the two were written moments apart
            values["created_at"] = abs(values["created_at"] - utcnow()) < timedelta(minutes=1)
        return values

    with app.app_context():
        by_orm = _report_with_photo_and_event("orm")
        db.session.add(by_orm)
        db.session.flush()
        by_insert = _report_with_photo_and_event("insert")
        _insert_report(db.session, by_insert)

        assert not db.session.new and not db.session.dirty  # nothing left to write
        assert db.session.get(Report, by_insert.id) is by_insert
        for orm_row, inserted in [
            (by_orm, by_insert),
            (by_orm.photos[0], by_insert.photos[0]),
            (by_orm.events[0], by_insert.events[0]),
        ]:
            assert inspect(inserted).persistent
            # Nothing to read back that the flushed one need not read back (the flush leaves
            # the columns it wrote NULL to unloaded; the insert knows them to be None).
            assert inspect(inserted).unloaded <= inspect(orm_row).unloaded
            assert state(inserted) == state(orm_row)
        ids = (by_orm.id, by_insert.id)
        db.session.commit()
        db.session.expunge_all()

        # What the database holds, read afresh.
        orm_row, inserted = (db.session.get(Report, i) for i in ids)
        assert state(inserted) == state(orm_row)
        assert state(inserted.photos[0]) == state(orm_row.photos[0])
        assert state(inserted.events[0]) == state(orm_row.events[0])
        assert inserted.photos[0].derivatives == "pending"
        assert inserted.region is None and inserted.severity_rank == 3


def test_a_change_to_an_inserted_report_is_written_with_its_transaction(app):
    with app.app_context():
        report = _report_with_photo_and_event("changed")
        _insert_report(db.session, report)
        report.status = "verified"  # as a red report's alert or a later step may change it
        report.photos[0].derivatives = "ready"
        assert report in db.session.dirty
        report_id = report.id
        db.session.commit()
        db.session.expunge_all()
        again = db.session.get(Report, report_id)
        assert (again.status, again.photos[0].derivatives) == ("verified", "ready")
        assert len(again.events) == 1


def test_intake_insert_refuses_an_object_with_a_key(app):
    with app.app_context():
        report = _report_with_photo_and_event("keyed")
        report.id = 77
        with pytest.raises(ValueError, match="has a key already"):
            insert_as_loaded(db.session.connection(), report)
        db.session.rollback()


@pytest.mark.parametrize(
    "default",
    [
        {"server_default": "draft"},  # the database fills it in: the lean INSERT would send NULL
        {"default": text("'draft'")},  # a SQL expression, which it does not evaluate either
    ],
    ids=["server_default", "sql_expression_default"],
)
def test_intake_insert_refuses_a_table_whose_defaults_it_cannot_fill_in(app, default):
    class Base(DeclarativeBase):
        pass

    class Note(Base):
        __tablename__ = "lean_insert_note"
        id: Mapped[int] = mapped_column(primary_key=True)
        state: Mapped[str] = mapped_column(String(10), **default)

    with app.app_context():
        with pytest.raises(ValueError, match="only Python-side defaults"):
            insert_as_loaded(db.session.connection(), Note())
        db.session.rollback()
