"""Sectors, regions, the OpenAPI document and its docs page."""

import re


def test_sectors_are_listed_in_chinese_by_default(client):
    sectors = client.get("/api/v1/sectors").json
    assert [s["key"] for s in sectors][:3] == ["construction", "hazardous_chemicals", "gas_network"]
    assert len(sectors) == 9
    gas = next(s for s in sectors if s["key"] == "gas_network")
    assert gas["name"] == "城市燃气管网" and gas["name_en"] == "Urban gas network"


def test_sectors_in_english_on_request(client):
    sectors = client.get("/api/v1/sectors", headers={"Accept-Language": "en"}).json
    assert sectors[0]["name"] == "Construction"


def test_regions_form_the_mianyang_hierarchy(client):
    regions = client.get("/api/v1/regions").json
    by_code = {r["code"]: r for r in regions}
    assert by_code["510000"]["name"] == "四川省" and by_code["510000"]["parent_code"] is None
    assert by_code["510703"]["parent_code"] == "510700"
    children = client.get("/api/v1/regions?parent=510700").json
    assert {r["code"] for r in children} >= {"510703", "510704", "510705", "510781"}
    assert all(r["level"] == "county" for r in children)


def test_openapi_document_describes_the_contract(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/reports",
        "/api/v1/reports/{report_id}",
        "/api/v1/sectors",
        "/api/v1/regions",
    ):
        assert path in paths, path
    post = paths["/api/v1/reports"]["post"]
    ref = post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"sector", "description", "photos", "upload_keys", "lat", "lon", "coord_system"} <= set(
        body["properties"]
    )
    # Photos come in the body or as keys of direct uploads: either may be left out.
    assert set(body["required"]) == {"sector", "description"}
    assert body["properties"]["photos"]["items"]["format"] == "binary"
    assert "201" in post["responses"] and "415" in post["responses"]


def test_docs_page_loads_only_local_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for asset in sources:
        with client.get(asset) as response:
            assert response.status_code == 200, asset
