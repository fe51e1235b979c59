"""Coordinate conversions against published reference points."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazard_reporter.geo.coords import (
    bd09_to_gcj02,
    distance_m,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_gcj02,
)

# (wgs_lat, wgs_lon, gcj_lat, gcj_lon): googollee/eviltransform's test vectors.
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_published_points(wlat, wlon, glat, glon):
    lat, lon = wgs84_to_gcj02(wlat, wlon)
    assert distance_m(lat, lon, glat, glon) < 0.01


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_gcj02_to_wgs84_recovers_the_gps_point(wlat, wlon, glat, glon):
    lat, lon = gcj02_to_wgs84(glat, glon)
    assert distance_m(lat, lon, wlat, wlon) < 0.01


def test_wandergis_reference_point_in_beijing():
    # wandergis/coordtransform's README: wgs84togcj02(116.404, 39.915) and gcj02tobd09(116.404, 39.915)
    lat, lon = wgs84_to_gcj02(39.915, 116.404)
    assert (lat, lon) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    blat, blon = gcj02_to_bd09(39.915, 116.404)
    assert (blat, blon) == pytest.approx((39.92133699351021, 116.41036949371029), abs=1e-9)
    # bd09togcj02(116.404, 39.915): the closed-form inverse, which we refine to sub-centimetre.
    glat, glon = bd09_to_gcj02(39.915, 116.404)
    assert distance_m(glat, glon, 39.90865673957631, 116.39762729119315) < 1.0


def test_gcj02_shifts_points_in_china_by_hundreds_of_metres():
    # Mianyang: the shift is what puts a GPS point on the wrong street of an AMap map.
    lat, lon = wgs84_to_gcj02(31.4675, 104.6796)
    assert 100 < distance_m(lat, lon, 31.4675, 104.6796) < 1000


@pytest.mark.parametrize(("lat", "lon"), [(41.853, 12.4888), (-33.86, 151.21), (47.62, -122.33)])
def test_no_shift_outside_china(lat, lon):
    assert out_of_china(lat, lon)
    for system in ("gcj02", "bd09"):
        assert from_wgs84(lat, lon, system) == (lat, lon)
        assert to_wgs84(lat, lon, system) == (lat, lon)


china = st.tuples(st.floats(18.0, 53.0), st.floats(74.0, 134.0))


@given(china)
def test_gcj02_round_trip_within_1_m_inside_china(point):
    lat, lon = point
    back = to_wgs84(*from_wgs84(lat, lon, "gcj02"), "gcj02")
    assert distance_m(*back, lat, lon) < 1.0


@given(china)
def test_bd09_round_trip_within_1_m_inside_china(point):
    lat, lon = point
    back = to_wgs84(*from_wgs84(lat, lon, "bd09"), "bd09")
    assert distance_m(*back, lat, lon) < 1.0


@given(st.tuples(st.floats(20.0, 50.0), st.floats(80.0, 130.0)))
def test_bd09_inverse_is_exact_to_a_centimetre(point):
    lat, lon = point
    assert distance_m(*bd09_to_gcj02(*gcj02_to_bd09(lat, lon)), lat, lon) < 0.01


def test_distance_of_one_degree_of_latitude():
    assert distance_m(30.0, 104.0, 31.0, 104.0) == pytest.approx(111_195, rel=1e-3)
