"""Administrators keep the units that fix hazards: create one, then change a field at a time."""

from __future__ import annotations

import pytest

UNIT = {
    "slug": "fc-zjj",
    "name_zh": "涪城区住建局",
    "region_code": "510703",
    "sectors": ["construction"],
    "channels": [{"type": "email", "to": ["zjj@example.org"]}],
}


def test_an_administrator_changes_one_field_of_a_unit_and_keeps_the_rest(client, admin):
    made = client.post("/api/v1/units", json=UNIT, headers=admin)
    assert made.status_code == 201, made.json
    unit_id = made.json["id"]

    renamed = client.patch(
        f"/api/v1/units/{unit_id}", json={"name_zh": "涪城区住房和城乡建设局"}, headers=admin
    )

    assert renamed.status_code == 200, renamed.json
    assert renamed.json["name_zh"] == "涪城区住房和城乡建设局"
    assert renamed.json["slug"] == "fc-zjj" and renamed.json["region_code"] == "510703"
    assert renamed.json["sectors"] == ["construction"]


def test_a_bad_field_in_a_change_is_named(client, admin):
    unit_id = client.post("/api/v1/units", json=UNIT, headers=admin).json["id"]

    bad = client.patch(f"/api/v1/units/{unit_id}", json={"region_code": "绵阳"}, headers=admin)

    assert bad.status_code == 422
    assert "region_code" in bad.json["error"]["details"]["json"]


def test_the_api_description_marks_no_field_of_a_unit_change_required(client):
    spec = client.get("/api/v1/openapi.json").json

    def body_schema(path: str, method: str) -> dict:
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
        return spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]

    assert "required" not in body_schema("/api/v1/units/{unit_id}", "patch")
    assert {"slug", "name_zh", "region_code"} <= set(
        body_schema("/api/v1/units", "post")["required"]
    )


def import_units(client, admin, body: str):
    return client.post(
        "/api/v1/units/import", data=body.encode(), content_type="text/csv", headers=admin
    )


@pytest.mark.parametrize(
    ("bad_row", "says"),
    [
        ("Bad Slug 燃气!,某燃气公司,510703", "slug"),
        ("a" + "b" * 64 + ",某燃气公司,510703", "slug"),  # 65 characters: the API's limit is 64
        ("x,某燃气公司,510703", "slug"),  # one character: the API asks for two
        ("long-name," + "某" * 201 + ",510703", "name_zh"),
        ("long-name,某燃气公司,510703," + "a" * 201, "name_en"),
    ],
)
def test_a_units_file_row_the_api_would_refuse_is_refused_naming_its_line(
    client, admin, bad_row, says
):
    # The file goes through the same checks as the API: else a bad slug is stored on SQLite and
    # an over-long one is a 500 on PostgreSQL.
    body = f"slug,name_zh,region_code,name_en\nfc-gas,涪城燃气公司,510703,\n{bad_row}\n"

    refused = import_units(client, admin, body)

    assert refused.status_code == 422, refused.json
    error = refused.json["error"]
    assert error["code"] == "validation_error" and error["field"] == "csv"
    assert error["message"].startswith("字段“csv”无效：第 3 行：") and says in error["message"]
    slugs = [unit["slug"] for unit in client.get("/api/v1/units", headers=admin).json]
    assert "fc-gas" not in slugs  # all rows or none


def test_a_units_file_row_at_the_api_limits_is_imported(client, admin):
    slug = "a" + "b" * 63
    body = f"slug,name_zh,region_code,name_en\n{slug},{'某' * 200},510703,{'a' * 200}\n"

    imported = import_units(client, admin, body)

    assert imported.status_code == 200 and imported.json == {"imported": 1}, imported.json


@pytest.mark.parametrize("field", ["slug", "region_code"])
def test_a_code_ending_in_a_newline_is_refused(client, admin, field):
    # "$" also matches before a trailing newline: the API stored "gas-co\n", which no CSV import
    # could name, and the units import then made a second "gas-co".
    made = client.post("/api/v1/units", json={**UNIT, field: UNIT[field] + "\n"}, headers=admin)
    assert made.status_code == 422 and made.json["error"]["field"] == field
