"""Open311 GeoReport v2 as a client sees it, over HTTP against the running server."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from hazard_reporter.extensions import db
from hazard_reporter.open311 import services
from hazard_reporter.reports.models import Report, Status
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG

V2 = "/open311/v2"
GAS_LEAK = "地下室食堂燃气泄漏，闻到很浓的燃气味"
SERVICE_KEYS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}


@pytest.fixture
def http(live_server):
    """A requests session against the live server: ``http.get("/open311/v2/…")``."""

    class Client(requests.Session):
        def request(self, method, url, *args, **kwargs):
            kwargs.setdefault("timeout", 30)
            return super().request(method, live_server + url, *args, **kwargs)

    with Client() as session:
        yield session


@pytest.fixture
def inspector(app):
    return make_user(app, "inspector", regions=["510000"])["headers"]


def file_request(http, *, media=None, **fields):
    """POST requests.json as an Open311 client does: form fields and a ``media`` file."""
    data = {
        "service_code": "gas_network",
        "lat": str(MIANYANG[0]),
        "long": str(MIANYANG[1]),
        "description": "燃气表箱门损坏",
        "api_key": "any-key-is-ignored",
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    content = make_jpeg(gps=MIANYANG) if media is None else media
    files = {"media": ("photo.jpg", content, "image/jpeg")} if content else None
    return http.post(f"{V2}/requests.json", data=data, files=files)


def forward(http, report_id, headers):
    for action in ("triage", "forward"):
        response = http.post(f"/api/v1/reports/{report_id}/{action}", json={}, headers=headers)
        assert response.status_code == 200, response.text


def assert_open311_error(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    [error] = response.json()
    assert set(error) == {"code", "description"}
    assert error["code"] == status and error["description"]
    return error["description"]


# --- services ----------------------------------------------------------------------------------


def test_services_are_the_sectors_in_chinese(http):
    response = http.get(f"{V2}/services.json")
    assert response.status_code == 200
    listed = response.json()
    assert [s["service_code"] for s in listed] == [s.value for s in Sector]
    assert all(set(s) == SERVICE_KEYS for s in listed)
    gas = next(s for s in listed if s["service_code"] == "gas_network")
    assert gas["service_name"] == "城市燃气管网" and gas["group"] == "安全生产"
    assert gas["metadata"] is False and gas["type"] == "realtime"
    assert "燃气" in gas["keywords"] and gas["description"]


@pytest.mark.parametrize(
    ("params", "headers"), [({"locale": "en"}, {}), ({}, {"Accept-Language": "en-US,en;q=0.9"})]
)
def test_services_in_english_on_request(http, params, headers):
    listed = http.get(f"{V2}/services.json", params=params, headers=headers).json()
    gas = next(s for s in listed if s["service_code"] == "gas_network")
    assert gas["service_name"] == "Urban gas network" and gas["group"] == "Workplace safety"


# --- the client flow ---------------------------------------------------------------------------


def test_file_forward_and_read_back_a_service_request(app, http, live_server, inspector):
    created = file_request(http, email="someone@example.com", first_name="张", phone="13800001111")
    assert created.status_code == 201, created.text
    [answer] = created.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id", "token"}
    request_id = answer["service_request_id"]
    assert request_id.isdigit() and answer["account_id"] is None
    assert answer["token"] and answer["service_notice"]

    # The token is the report's follow-up token: it opens the report in the main API.
    followed = http.get(
        f"/api/v1/reports/{request_id}", headers={"X-Followup-Token": answer["token"]}
    )
    assert followed.status_code == 200 and followed.json()["status"] == "submitted"
    with app.app_context():
        report = db.session.get(Report, int(request_id))
        assert report.anonymous and report.reporter_id is None
        assert "13800001111" not in report.description

    # Not public until an inspector has vetted and forwarded it.
    assert_open311_error(http.get(f"{V2}/requests/{request_id}.json"), 404)
    listed = http.get(f"{V2}/requests.json").json()
    assert request_id not in [r["service_request_id"] for r in listed]

    forward(http, request_id, inspector)
    response = http.get(f"{V2}/requests/{request_id}.json")
    assert response.status_code == 200, response.text
    [item] = response.json()
    with app.app_context():
        report = db.session.get(Report, int(request_id))
        unit = db.session.get(Unit, report.unit_id)
        unit_name, submitted = unit.name_zh, report.submitted_at
    assert item["service_request_id"] == request_id
    assert item["status"] == "open" and item["status_notes"] == "已转办责任单位"
    assert item["service_code"] == "gas_network" and item["service_name"] == "城市燃气管网"
    assert item["description"] == "燃气表箱门损坏"
    assert item["agency_responsible"] == unit_name
    assert [item["lat"], item["long"]] == list(MIANYANG)
    assert item["address"] is None
    requested = datetime.fromisoformat(item["requested_datetime"])
    updated = datetime.fromisoformat(item["updated_datetime"])
    assert requested == submitted.replace(microsecond=0) and updated >= requested
    assert item["expected_datetime"]

    # The photo: a signed absolute link to the metadata-free display rendition.
    assert item["media_url"].startswith(f"{live_server}/api/v1/photos/")
    photo = requests.get(item["media_url"], timeout=30)
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(photo.content))
    assert image.format == "JPEG" and not image.getexif()

    # Nothing about the reporter anywhere in the public answer.
    text = response.text
    for secret in ("token", "anonymous", "reporter", "13800001111", "someone@example.com"):
        assert secret not in text, secret
    assert answer["token"] not in text and "original" not in text

    listed = http.get(f"{V2}/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [request_id]


def test_public_list_filters(http, inspector):
    [gas] = file_request(http).json()
    [site] = file_request(
        http, service_code="construction", description="脚手架缺少防护栏杆", media=make_jpeg()
    ).json()
    [held] = file_request(http, description="还没有转办的报告").json()
    for answer in (gas, site):
        forward(http, answer["service_request_id"], inspector)

    def ids(**params):
        response = http.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    gas_id, site_id = gas["service_request_id"], site["service_request_id"]
    assert ids() == [site_id, gas_id]  # newest first; the unforwarded one is not public
    assert held["service_request_id"] not in ids()
    assert ids(service_code="gas_network") == [gas_id]
    assert ids(service_code="gas_network,construction") == [site_id, gas_id]
    assert ids(status="open") == [site_id, gas_id]
    assert ids(status="closed") == []
    assert ids(service_request_id=f"{gas_id},{held['service_request_id']},999999") == [gas_id]
    now = datetime.now(UTC)
    assert ids(start_date=(now - timedelta(days=1)).isoformat()) == [site_id, gas_id]
    assert ids(end_date=(now - timedelta(days=1)).isoformat()) == []
    assert ids(start_date="2020-01-01", end_date="2020-03-01") == []


def test_english_read_back(http, inspector, app):
    [answer] = file_request(http).json()
    forward(http, answer["service_request_id"], inspector)
    [item] = http.get(
        f"{V2}/requests/{answer['service_request_id']}.json", params={"locale": "en"}
    ).json()
    with app.app_context():
        unit = db.session.scalar(
            select(Unit)
            .join(Report, Report.unit_id == Unit.id)
            .where(Report.id == int(answer["service_request_id"]))
        )
        name_en = unit.name_en
    assert item["status_notes"] == "Forwarded to the responsible unit"
    assert item["service_name"] == "Urban gas network" and item["agency_responsible"] == name_en


def test_a_red_hazard_answers_with_evacuation_advice_first(http):
    created = file_request(http, description=GAS_LEAK)
    assert created.status_code == 201
    assert created.json()[0]["service_notice"].startswith("紧急避险")
    # and in English for an English client, the advice included (it was always in Chinese)
    english = file_request(http, description=GAS_LEAK, locale="en")
    assert english.json()[0]["service_notice"].startswith("Get clear now! This may be a major")


def test_media_with_gps_locates_a_request_without_lat_long(http):
    created = file_request(http, lat=None, long=None)
    assert created.status_code == 201, created.text


# --- errors in Open311's shape, never a 500 ----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "mentions"),
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "potholes"}, 400, "potholes"),
        ({"description": None}, 400, "description"),
        ({"description": "x" * 2001}, 400, "description"),
        ({"description": "燃气表箱\x00门损坏"}, 400, "description"),  # PostgreSQL cannot store it
        ({"lat": "91"}, 400, "lat"),
        ({"long": "abc"}, 400, "long"),
        ({"long": None}, 400, "long"),
        ({"region_code": "Sichuan"}, 400, "region_code"),
    ],
)
def test_bad_fields_are_open311_errors(http, fields, status, mentions):
    assert mentions in assert_open311_error(file_request(http, **fields), status)


def test_without_any_location_it_is_422(http):
    response = file_request(http, lat=None, long=None, media=make_jpeg())
    assert "region_code" in assert_open311_error(response, 422)


def test_a_file_that_is_not_an_image_is_refused(http):
    response = file_request(http, media=b"%PDF-1.4 this is not a photo at all")
    assert "JPEG" in assert_open311_error(response, 415)


def test_media_url_is_never_fetched(http):
    response = file_request(http, media=b"", media_url="http://127.0.0.1:9/photo.jpg")
    assert "media_url" in assert_open311_error(response, 400)


def test_media_is_required(http):
    assert "media" in assert_open311_error(file_request(http, media=b""), 400)


def test_an_empty_file_input_counts_as_no_media(http):
    data = {"service_code": "gas_network", "lat": "31.4675", "long": "104.6796", "description": "x"}
    response = http.post(
        f"{V2}/requests.json", data=data, files={"media": ("", b"", "application/octet-stream")}
    )
    assert "media" in assert_open311_error(response, 400)


def test_errors_follow_the_locale_argument(http):
    answer = http.get(f"{V2}/requests.json", params={"status": "pending", "locale": "en"})
    assert answer.status_code == 400
    assert answer.json()[0]["description"].startswith("The parameter 'status' is not valid")


def test_errors_follow_accept_language(http):
    response = http.post(
        f"{V2}/requests.json", data={"lat": "31"}, headers={"Accept-Language": "en"}
    )
    assert assert_open311_error(response, 400) == "The parameter 'service_code' is required."


@pytest.mark.parametrize(
    "path", ["/services.xml", "/requests.xml", "/requests/1.xml", "/requests.csv"]
)
def test_only_json_is_supported(http, path):
    assert "JSON" in assert_open311_error(http.get(V2 + path), 404)


def test_xml_posts_are_refused_too(http):
    response = http.post(f"{V2}/requests.xml", data={"service_code": "gas_network"})
    assert "JSON" in assert_open311_error(response, 404)


@pytest.mark.parametrize(
    "path", ["/requests/999999.json", "/requests/abc.json", "/discovery.json", "/tokens/x.json"]
)
def test_unknown_things_are_open311_404s(http, path):
    assert_open311_error(http.get(V2 + path), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01", "end_date": "2025-01-01"},
        {"start_date": "2025-01-01", "end_date": "2025-06-01"},
        {"status": "pending"},
        {"service_code": "potholes"},
        {"service_request_id": "1,abc"},
        {"service_request_id": "²"},  # a digit to str.isdigit, not to int(): it was a 500
        {"start_date": "9999-12-31"},  # the 90-day window past datetime's end: a 500
        {"end_date": "0001-01-01"},
    ],
)
def test_bad_query_arguments_are_400(http, params):
    assert_open311_error(http.get(f"{V2}/requests.json", params=params), 400)


def test_a_bad_bearer_token_is_an_open311_401(http):
    response = http.get(f"{V2}/services.json", headers={"Authorization": "Bearer forged"})
    assert_open311_error(response, 401)


# --- pure pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [(s, "closed" if s in {"verified", "rejected", "duplicate"} else "open") for s in Status],
)
def test_open311_status(status, expected):
    assert services.open311_status(status) == expected


NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def parse(**args):
    return services.parse_request_query(args, now=NOW, local_timezone="Asia/Shanghai")


def test_default_window_is_the_last_90_days():
    query = parse()
    assert query.end == NOW and query.start == NOW - timedelta(days=90)


def test_one_date_gives_a_90_day_window_from_it():
    query = parse(start_date="2026-01-01T00:00:00Z")
    assert query.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert query.end == query.start + timedelta(days=90)


def test_dates_without_an_offset_are_local_time():
    query = parse(start_date="2026-04-01", end_date="2026-04-02T08:00:00+08:00")
    assert query.start == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert query.end == datetime(2026, 4, 2, 0, 0, tzinfo=UTC)


def test_request_ids_make_the_other_filters_unused():
    query = parse(service_request_id="3, 1,3", service_code="potholes", status="nonsense")
    assert query.ids == (3, 1) and query.start is None
