"""GET /api/v1/reports.geojson: RFC 7946 points of the reports in scope, nothing about reporters."""

from __future__ import annotations

import pytest

from hazard_reporter.geo.coords import distance_m, from_wgs84
from hazard_reporter.maps.services import BBox
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import post_report

URL = "/api/v1/reports.geojson"
LAT, LON = 31.4675, 104.6796  # 涪城区, 绵阳; swapping the two would put it in the Indian Ocean
CHENGDU = (30.6586, 104.0648)
AROUND_MIANYANG = "104.5,31.3,104.9,31.6"
PROPERTIES = {"id", "status", "severity", "sector", "sector_name", "submitted_at", "region_code"}


@pytest.fixture
def admin_headers(app):
    return make_user(app, "admin")["headers"]


def report_at(client, lat=LAT, lon=LON, *, headers=None, **fields) -> int:
    """POST a report with the phone's fix at (lat, lon); its id."""
    fields.setdefault("region_code", "510703")
    created = post_report(
        client, photos=[make_jpeg(gps=(lat, lon))], headers=headers, lat=lat, lon=lon, **fields
    )
    assert created.status_code == 201, created.json
    return created.json["id"]


def geojson(client, headers, **params):
    response = client.get(URL, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_answer_is_an_rfc7946_feature_collection_of_lon_lat_points(client, admin_headers):
    report_id = report_at(client)
    response = geojson(client, admin_headers)

    assert response.mimetype == "application/geo+json"
    body = response.get_json(force=True)
    assert body["type"] == "FeatureCollection" and body["next_cursor"] is None
    assert body["coord_system"] == "wgs84"
    [feature] = body["features"]
    assert feature["type"] == "Feature" and feature["id"] == report_id
    assert feature["geometry"] == {"type": "Point", "coordinates": [LON, LAT]}
    lon, lat = feature["geometry"]["coordinates"]
    assert -180 <= lon <= 180 and -90 <= lat <= 90
    assert set(feature["properties"]) == PROPERTIES
    properties = feature["properties"]
    assert properties["id"] == report_id and properties["sector"] == "gas_network"
    assert properties["sector_name"] == "城市燃气管网" and properties["region_code"] == "510703"
    assert properties["status"] == "submitted" and properties["severity"] in {
        "red",
        "orange",
        "yellow",
        "blue",
    }
    assert properties["submitted_at"].endswith("+00:00")


def test_coordinates_are_rounded_to_six_decimals(client, admin_headers):
    report_at(client, 31.467512345678, 104.679687654321)
    [feature] = geojson(client, admin_headers).get_json(force=True)["features"]
    assert feature["geometry"]["coordinates"] == [104.679688, 31.467512]


def test_nothing_about_the_reporter_appears_anywhere(app, client, admin_headers):
    worker = make_user(app, "worker", name="王小明")
    # No camera metadata: the report carries the no_camera_metadata flag.
    created = post_report(
        client, photos=[make_jpeg()], headers=worker["headers"], lat=LAT, lon=LON, anonymous=False
    )
    assert created.status_code == 201 and created.json["flags"]
    text = geojson(client, admin_headers).get_data(as_text=True)
    assert str(created.json["id"]) in text
    for secret in (
        "reporter",
        "anonymous",
        "phone",
        "flags",
        "no_camera_metadata",
        "photo",
        "original",
        "followup",
        "description",
        worker["phone"],
        "王小明",
        f'"{worker["id"]}"',
    ):
        assert secret not in text, secret


def test_reports_without_a_point_are_left_out(client, admin_headers):
    located = report_at(client)
    unlocated = post_report(client, photos=[make_jpeg()], region_code="510703")
    assert unlocated.status_code == 201 and unlocated.json["location"]["lat"] is None
    ids = [f["id"] for f in geojson(client, admin_headers).get_json(force=True)["features"]]
    assert ids == [located]


def test_bbox_keeps_only_the_reports_inside(client, admin_headers):
    mianyang = report_at(client)
    chengdu = report_at(client, *CHENGDU, region_code="510000")

    def ids(bbox):
        features = geojson(client, admin_headers, bbox=bbox).get_json(force=True)["features"]
        return [f["id"] for f in features]

    assert ids(AROUND_MIANYANG) == [mianyang]
    assert ids("103.9,30.5,104.2,30.8") == [chengdu]
    assert ids("100,20,110,40") == [chengdu, mianyang]
    assert ids("0,0,1,1") == []
    # West greater than east crosses the antimeridian (RFC 7946 §5.2).
    assert ids("170,0,-170,60") == []
    assert ids("104.3,0,-170,60") == [mianyang]


@pytest.mark.parametrize(
    "bbox",
    [
        "104.5,31.3,104.9",  # three numbers
        "104.5,31.3,104.9,31.6,1",  # five
        "a,b,c,d",
        "nan,31.3,104.9,31.6",
        "104.5,31.3,inf,31.6",
        "31.3,104.5,31.6,104.9",  # lat,lon order: a latitude beyond 90
        "104.5,31.6,104.9,31.3",  # minLat > maxLat
        "181,0,182,1",
        "",
    ],
)
def test_a_malformed_bbox_is_422_naming_the_field(client, admin_headers, bbox):
    response = client.get(URL, query_string={"bbox": bbox}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json["error"]["field"] == "bbox"


def test_gcj02_answer_is_shifted_as_the_map_sdks_expect(client, admin_headers):
    report_at(client)
    wgs = geojson(client, admin_headers).get_json(force=True)["features"][0]
    gcj = geojson(client, admin_headers, coord_system="gcj02").get_json(force=True)
    assert gcj["coord_system"] == "gcj02"
    lon, lat = gcj["features"][0]["geometry"]["coordinates"]
    expected_lat, expected_lon = from_wgs84(LAT, LON, "gcj02")
    assert [lon, lat] == [round(expected_lon, 6), round(expected_lat, 6)]
    # GCJ-02 moves this point a few hundred metres from its WGS-84 fix.
    assert 100 < distance_m(LAT, LON, lat, lon) < 1000
    assert [lon, lat] != wgs["geometry"]["coordinates"]
    bd = geojson(client, admin_headers, coord_system="bd09").get_json(force=True)
    bd_lat, bd_lon = from_wgs84(LAT, LON, "bd09")
    assert bd["features"][0]["geometry"]["coordinates"] == [round(bd_lon, 6), round(bd_lat, 6)]


def test_bbox_is_read_in_the_coordinate_system_asked_for(client, admin_headers):
    report_id = report_at(client)
    glat, glon = from_wgs84(LAT, LON, "gcj02")
    # A box of about ±50 m around the GCJ-02 position: the WGS-84 fix (~350 m away) is outside.
    tight = f"{glon - 0.0005},{glat - 0.0005},{glon + 0.0005},{glat + 0.0005}"

    def ids(system):
        body = geojson(client, admin_headers, bbox=tight, coord_system=system).get_json(force=True)
        return [f["id"] for f in body["features"]]

    assert ids("gcj02") == [report_id]
    assert ids("wgs84") == []


def test_bbox_widened_for_shifted_systems_stays_inside_the_globe():
    box = BBox(min_lon=-180, min_lat=-90, max_lon=180, max_lat=90).widened(0.03)
    assert (box.min_lon, box.min_lat, box.max_lon, box.max_lat) == (-180, -90, 180, 90)
    crossing = BBox(min_lon=10, min_lat=0, max_lon=9.99, max_lat=1).widened(0.03)
    assert crossing.min_lon == -180 and crossing.max_lon == 180


def test_inspector_of_another_region_sees_no_features(app, client):
    report_at(client)
    elsewhere = make_user(app, "inspector", regions=["510704"])["headers"]
    here = make_user(app, "inspector", regions=["510700"])["headers"]
    assert geojson(client, elsewhere).get_json(force=True)["features"] == []
    assert len(geojson(client, here).get_json(force=True)["features"]) == 1


def test_worker_sees_only_their_own_reports(app, client):
    mine, theirs = make_user(app, "worker"), make_user(app, "worker")
    own = report_at(client, headers=mine["headers"], anonymous=False)
    report_at(client, headers=theirs["headers"], anonymous=False)
    features = geojson(client, mine["headers"]).get_json(force=True)["features"]
    assert [f["id"] for f in features] == [own]


def test_without_a_token_it_is_401(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "auth_required"


def test_pages_follow_next_cursor(client, admin_headers):
    first, second, third = (report_at(client) for _ in range(3))
    page = geojson(client, admin_headers, limit=2).get_json(force=True)
    assert [f["id"] for f in page["features"]] == [third, second] and page["next_cursor"]
    rest = geojson(client, admin_headers, limit=2, cursor=page["next_cursor"]).get_json(force=True)
    assert [f["id"] for f in rest["features"]] == [first] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 5001}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "bogus"}, "cursor")],
)
def test_limit_and_cursor_are_checked(client, admin_headers, params, field):
    response = client.get(URL, query_string=params, headers=admin_headers)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_the_list_filters_apply(client, admin_headers):
    report_id = report_at(client)

    def ids(**params):
        return [f["id"] for f in geojson(client, admin_headers, **params).json["features"]]

    assert ids(sector="gas_network", region="510700", limit=5000) == [report_id]
    assert ids(sector="construction") == []
    assert ids(status="forwarded") == []
    assert ids(region="510704") == []
    unknown = client.get(URL, query_string={"region": "999999"}, headers=admin_headers)
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_region"


def test_the_endpoint_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/reports.geojson"]["get"]
    assert "application/geo+json" in operation["responses"]["200"]["content"]
    assert "bbox" in {p["name"] for p in operation["parameters"]}
