"""The pure location decision and capture-time reading."""

from datetime import UTC, datetime

import pytest

from hazard_reporter.reports.location import Fix, capture_time_utc, resolve_location
from hazard_reporter.reports.models import LocationSource

MIANYANG = (31.4675, 104.6796)


def test_phone_fix_wins_over_photo_gps_and_measures_the_gap():
    where = resolve_location(Fix(*MIANYANG, accuracy_m=8), [(31.4775, 104.6796)], has_region=False)
    assert (where.lat, where.lon, where.source) == (*MIANYANG, LocationSource.DEVICE)
    assert where.mismatch_m == pytest.approx(1112, rel=0.01)


def test_first_photo_with_gps_is_used_without_a_phone_fix():
    where = resolve_location(None, [None, (30.0, 104.0), (31.0, 105.0)], has_region=True)
    assert (where.lat, where.lon, where.source) == (30.0, 104.0, LocationSource.EXIF)


def test_region_alone_gives_a_manual_location_without_a_point():
    where = resolve_location(None, [None], has_region=True)
    assert where.source == LocationSource.MANUAL and where.lat is None


def test_nothing_locates_the_hazard():
    assert resolve_location(None, [None, None], has_region=False) is None


def test_capture_time_with_its_own_offset():
    got = capture_time_utc(datetime(2022, 8, 14, 14, 12, 31), 180, "Asia/Shanghai")
    assert got == datetime(2022, 8, 14, 11, 12, 31, tzinfo=UTC)


def test_capture_time_without_offset_is_read_in_the_local_zone():
    got = capture_time_utc(datetime(2026, 6, 1, 8, 0, 0), None, "Asia/Shanghai")
    assert got == datetime(2026, 6, 1, 0, 0, 0, tzinfo=UTC)


def test_no_capture_time():
    assert capture_time_utc(None, None, "Asia/Shanghai") is None
