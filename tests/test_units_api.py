"""Administrators keep the units that fix hazards: create one, then change a field at a time."""

from __future__ import annotations

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
