"""The report page's pin map settings: the tile server's origin reaches the pages' CSP only when
an operator sets MAP_TILE_URL, and the settings reach the page as data- attributes."""

from __future__ import annotations

from hazard_reporter.core.security import HTML_CSP, tile_origins
from tests.conftest import build_app

AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&style=8&x={x}&y={y}&z={z}"


def img_src(csp: str) -> str:
    return next(part.strip() for part in csp.split(";") if part.strip().startswith("img-src"))


def test_csp_is_unchanged_without_a_tile_url(client):
    response = client.get("/report")
    assert response.headers["Content-Security-Policy"] == HTML_CSP
    assert img_src(response.headers["Content-Security-Policy"]) == "img-src 'self' data: blob:"
    assert b'data-tile-url=""' in response.data


def test_csp_allows_the_tile_origin_when_configured(tmp_path):
    app = build_app(
        tmp_path,
        MAP_TILE_URL=AMAP,
        MAP_TILE_SUBDOMAINS="1234",
        MAP_TILE_ATTRIBUTION="© 高德地图",
    )
    with app.test_client() as client:
        response = client.get("/report")
        sources = img_src(response.headers["Content-Security-Policy"]).split()
        assert sources[:4] == ["img-src", "'self'", "data:", "blob:"]
        assert sources[4:] == [f"https://webrd0{n}.is.autonavi.com" for n in "1234"]
        assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
        assert 'data-tile-url="https://webrd0{s}.is.autonavi.com/appmaptile?' in response.text
        assert 'data-tile-attribution="© 高德地图"' in response.text
        assert b"<script>" not in response.data
        # JSON answers keep their own, stricter policy.
        api = client.get("/api/v1/sectors")
        assert "autonavi" not in api.headers["Content-Security-Policy"]


def test_tile_origins_from_templates():
    assert tile_origins(None) == []
    assert tile_origins("") == []
    assert tile_origins("https://{s}.tile.example.org/{z}/{x}/{y}.png") == [
        "https://a.tile.example.org",
        "https://b.tile.example.org",
        "https://c.tile.example.org",
    ]
    assert tile_origins("https://tiles.example.org:8443/{z}/{x}/{y}.png") == [
        "https://tiles.example.org:8443"
    ]
    assert tile_origins("//tiles.example.org/{z}/{x}/{y}.png") == ["https://tiles.example.org"]
    assert tile_origins("https://t{r}.maps.example.org/{z}") == ["https://*.maps.example.org"]
    assert tile_origins("https://{q}.org/{z}") == []  # no wildcard over a top-level domain
    assert tile_origins("javascript:alert(1)") == []
