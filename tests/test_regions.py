"""Region boundaries: import, point-in-region, and the pure polygon test."""

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
