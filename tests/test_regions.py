"""Region boundaries: import, point-in-region, and the pure polygon test."""

import io
import json

import pytest

from hazard_reporter.extensions import db
from hazard_reporter.geo.polygons import bbox, contains
from hazard_reporter.regions.services import locate

SQUARE = [[104.6, 31.4], [104.8, 31.4], [104.8, 31.6], [104.6, 31.6], [104.6, 31.4]]
HOLE = [[104.65, 31.45], [104.7, 31.45], [104.7, 31.5], [104.65, 31.5], [104.65, 31.45]]


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [(31.5, 104.7, True), (31.39, 104.7, False), (31.5, 104.81, False), (31.47, 104.67, False)],
)
def test_polygon_with_a_hole(lat, lon, inside):
    assert contains({"type": "Polygon", "coordinates": [SQUARE, HOLE]}, lat, lon) is inside


def test_multipolygon_and_its_box():
    far = [[[110.0, 30.0], [111.0, 30.0], [111.0, 31.0], [110.0, 30.0]]]
    geometry = {"type": "MultiPolygon", "coordinates": [[SQUARE], far]}
    assert contains(geometry, 30.2, 110.8) and contains(geometry, 31.5, 104.7)
    assert bbox(geometry) == (30.0, 104.6, 31.6, 111.0)


def feature(code, ring):
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_import_command_loads_boundaries_used_to_locate_reports(app, tmp_path):
    path = tmp_path / "mianyang.geojson"
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature("510703", SQUARE)]})
    )
    result = app.test_cli_runner().invoke(args=["regions", "import-boundaries", str(path)])
    assert result.exit_code == 0 and "510703" in result.output
    with app.app_context():
        assert locate(db.session, 31.5, 104.7).code == "510703"
        assert locate(db.session, 30.0, 104.7) is None


def test_import_command_refuses_unknown_codes_and_changes_nothing(app, tmp_path):
    path = tmp_path / "bad.geojson"
    features = [feature("510703", SQUARE), feature("999999", SQUARE)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = app.test_cli_runner().invoke(args=["regions", "import-boundaries", str(path)])
    assert result.exit_code != 0 and "999999" in result.output
    with app.app_context():
        assert locate(db.session, 31.5, 104.7) is None


# The region hierarchy from CSV: rows in any order, parents before children in the database.
HIERARCHY = """\ufeffcode,name_zh,name_en,level,parent_code
510802,利州区,Lizhou District,county,510800
510800,广元市,Guangyuan City,city,510000
510000,四川省,Sichuan Province,province,
510802001,利州经济开发区,,park,510802
500000,重庆市,Chongqing,province,
500101,万州区,,county,500000
"""


def import_regions(app, tmp_path, text):
    path = tmp_path / "regions.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["regions", "import", str(path)])


def test_import_loads_the_hierarchy_in_any_order_and_reports_can_name_it(app, tmp_path):
    from tests.test_reports_api import post_report

    result = import_regions(app, tmp_path, HIERARCHY)
    assert result.exit_code == 0, result.output
    assert "5 new, 0 updated, 1 unchanged" in result.output  # 四川省 was seeded alike
    with app.app_context():
        from hazard_reporter.regions.services import get_region, subtree_codes

        assert get_region(db.session, "510802").parent.name_zh == "广元市"
        assert get_region(db.session, "510802001").level == "park"
        assert get_region(db.session, "500101").name_en is None
        assert set(subtree_codes(db.session, "510800")) == {"510800", "510802", "510802001"}
        assert "510700" in subtree_codes(db.session, "510000")  # the seeded city stays
    report = post_report(app.test_client(), region_code="510802")
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["region"]["code"] == "510802"


def test_import_again_updates_names_and_keeps_boundaries(app, tmp_path):
    square = [[104.6, 31.4], [104.8, 31.4], [104.8, 31.6], [104.6, 31.6], [104.6, 31.4]]
    assert import_regions(app, tmp_path, HIERARCHY).exit_code == 0
    boundaries = tmp_path / "lizhou.geojson"
    boundaries.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature("510802", square)]})
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["regions", "import-boundaries", str(boundaries)]).exit_code == 0

    renamed = HIERARCHY.replace("利州区,Lizhou District", "利州区,Lizhou")
    result = import_regions(app, tmp_path, renamed)
    assert result.exit_code == 0 and "0 new, 1 updated, 5 unchanged" in result.output
    with app.app_context():
        assert locate(db.session, 31.5, 104.7).name_en == "Lizhou"
    listed = app.test_client().get("/api/v1/regions?parent=510800").get_json()
    assert [(r["code"], r["has_boundary"]) for r in listed] == [("510802", True)]


@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        ("510803,昭化区,,county,519999", "line 8: parent_code 519999 is neither"),
        ("510803,昭化区,,district,510800", "line 8: level 'district' is not one of"),
        ("510803,昭化区,,county,", "line 8: a province has no parent_code"),
        ("510800,广元,,city,510000", "line 8: code 510800 is already on line 3"),
        ("51-803,昭化区,,county,510800", "line 8: code '51-803' is not 6 to 12 digits"),
        ("510803,,,county,510800", "line 8: name_zh is required"),
        ("510803,昭化区," + "Z" * 101 + ",county,510800", "line 8: name_en is longer than 100"),
        ("510803,昭化区,,city,510802", "line 8: a city cannot be under 510802, a county"),
        ("510700,绵阳市,,park,510000", "line 8: 510700 cannot become a park: 510703, a county"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_imported(app, tmp_path, bad_row, says):
    result = import_regions(app, tmp_path, HIERARCHY + bad_row + "\n")
    assert result.exit_code == 1
    assert says in result.output
    with app.app_context():
        from hazard_reporter.regions.services import get_region

        assert get_region(db.session, "510800") is None  # all rows or none
        assert get_region(db.session, "510700").level == "city"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("编码,名称\n510800,广元市\n", "line 1: no column code, name_zh, name_en, level"),
        # without name_en, a re-import would have cleared every English name
        ("code,name_zh,level,parent_code\n510700,绵阳市,city,510000\n", "no column name_en"),
        (
            HIERARCHY.replace("parent_code", "parent_code,code", 1),
            "column code is in the header twice",
        ),
        ("", "the file is empty; its first line must be the header code,name_zh"),
        ("\n\n", "the file is empty"),
    ],
)
def test_a_file_without_the_header_is_refused(app, tmp_path, text, says):
    result = import_regions(app, tmp_path, text)
    assert result.exit_code == 1 and says in result.output
    with app.app_context():
        from hazard_reporter.regions.services import get_region

        assert get_region(db.session, "510700").name_en == "Mianyang City"


def test_rows_are_named_by_the_line_they_start_on_and_empty_rows_are_skipped(app, tmp_path):
    text = (
        "code,name_zh,name_en,level,parent_code\n"
        '510800,广元市,"Guangyuan\nCity",city,510000\n'  # a quoted cell over two lines
        "\n"
        ",,,,\n"  # Excel's empty rows
        "510803,,,county,510800\n"  # line 6
    )
    result = import_regions(app, tmp_path, text)
    assert result.exit_code == 1 and "line 6: name_zh is required" in result.output
    fixed = text.replace("510803,,", "510803,昭化区,") + ",,,,\n,,,,\n"
    result = import_regions(app, tmp_path, fixed)
    assert result.exit_code == 0 and "2 new" in result.output


def test_a_file_not_in_utf8_is_refused_saying_how_to_save_it(app, client, tmp_path):
    from tests.conftest import make_user

    gbk = "code,name_zh,name_en,level,parent_code\n510800,广元市,,city,510000\n".encode("gbk")
    path = tmp_path / "regions.csv"
    path.write_bytes(gbk)
    result = app.test_cli_runner().invoke(args=["regions", "import", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "line 2: not UTF-8 text (GBK?); save it as CSV UTF-8" in result.output
    admin = make_user(app, "admin")["headers"]
    for body in (gbk, "code,name_zh\n".encode("utf-16")):
        answer = client.post(
            "/api/v1/regions/import", data=body, content_type="text/csv", headers=admin
        )
        assert answer.status_code == 422
        assert "CSV UTF-8" in answer.get_json()["error"]["message"]
    with app.app_context():
        from hazard_reporter.regions.services import get_region

        assert get_region(db.session, "510800") is None  # nothing stored garbled


def test_admins_import_the_hierarchy_through_the_api_too(app, client):
    from tests.conftest import make_user

    admin = make_user(app, "admin")["headers"]
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    body = HIERARCHY.encode()
    refused = client.post(
        "/api/v1/regions/import", data=body, content_type="text/csv", headers=inspector
    )
    assert refused.status_code == 403
    response = client.post(
        "/api/v1/regions/import", data=body, content_type="text/csv", headers=admin
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"imported": 6, "created": 5, "updated": 0, "unchanged": 1}
    children = client.get("/api/v1/regions?parent=510800").get_json()
    assert [(r["code"], r["name_zh"], r["has_boundary"]) for r in children] == [
        ("510802", "利州区", False)
    ]

    form = client.post(  # curl -F file=@regions.csv
        "/api/v1/regions/import",
        data={"file": (io.BytesIO(body), "regions.csv")},
        content_type="multipart/form-data",
        headers=admin,
    )
    assert form.status_code == 200 and form.get_json()["unchanged"] == 6

    bad = client.post(
        "/api/v1/regions/import",
        data=body + b"510803,,,county,510800\n",
        content_type="text/csv",
        headers={**admin, "Accept-Language": "zh"},
    )
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["message"] == "字段“csv”无效：第 8 行：name_zh 不能为空"
    english = client.post(
        "/api/v1/regions/import",
        data=body + b"510803,,,county,510800\n",
        content_type="text/csv",
        headers={**admin, "Accept-Language": "en"},
    )
    assert english.get_json()["error"]["message"] == (
        "Field 'csv' is not valid: line 8: name_zh is required"
    )


def test_an_import_racing_another_is_refused_whole_with_a_409(app, client, monkeypatch):
    # Two admins import at once: the second's INSERT meets a code the first has just written.
    from sqlalchemy.exc import IntegrityError

    from hazard_reporter.regions import services
    from tests.conftest import make_user

    admin = make_user(app, "admin")["headers"]
    upsert = services.upsert_region

    def written_meanwhile(session, **data):
        if data["code"] == "510802":
            raise IntegrityError("INSERT INTO regions", {}, Exception("duplicate key"))
        return upsert(session, **data)

    monkeypatch.setattr(services, "upsert_region", written_meanwhile)
    answer = client.post(
        "/api/v1/regions/import", data=HIERARCHY.encode(), content_type="text/csv", headers=admin
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "import_conflict"
    with app.app_context():
        assert services.get_region(db.session, "510800") is None  # nothing of it kept


def test_region_codes_are_ascii_digits_everywhere(client):
    arabic_indic = "٥١٠٠٠٠"  # matches \d in Python, names no region
    answer = client.get(f"/api/v1/regions?parent={arabic_indic}")
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == "parent"
    assert client.get("/api/v1/regions?parent=510000").status_code == 200


@pytest.mark.parametrize(
    ("bad_row", "zh"),
    [
        ("510803,昭化区,,city,510802", "第 8 行：市级地区不能位于 510802（县级）之下"),
        ("510700,绵阳市,,park,510000", "第 8 行：510700 不能改为园区级：其下有 510703（县级）"),
        ("51-803,昭化区,,county,510800", "第 8 行：code '51-803' 须为 6 到 12 位数字（GB/T 2260）"),
    ],
)
def test_a_bad_row_is_named_in_chinese_through_the_api(app, client, bad_row, zh):
    from tests.conftest import make_user

    admin = make_user(app, "admin")["headers"]
    refused = client.post(
        "/api/v1/regions/import",
        data=(HIERARCHY + bad_row + "\n").encode(),
        content_type="text/csv",
        headers={**admin, "Accept-Language": "zh"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["message"] == f"字段“csv”无效：{zh}"
