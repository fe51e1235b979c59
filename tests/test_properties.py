"""Properties of the pure decision functions, checked with hypothesis over generated inputs.

Adds to the example tests of each module rather than repeating them: EXIF values of any type and
raw EXIF entries as a file carries them (test_photos_metadata has hand-picked cases), GPS written
by Pillow and read back, the coordinate conversions over the whole area GCJ-02 covers and the
whole world outside it (test_geo_coords samples an inner box), triage under *any* valid rules file
(test_triage_rules checks the shipped one), and the points rules (example tests only).
"""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from itertools import pairwise

import pytest
from exifread.utils import Ratio
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL.TiffImagePlugin import IFDRational

from hazard_reporter.awards.points import (
    POINTS_BY_COLOUR,
    Cluster,
    ClusterMember,
    credit_for,
    rank,
    report_points,
)
from hazard_reporter.geo.coords import distance_m, from_wgs84, out_of_china, to_wgs84
from hazard_reporter.photos import metadata
from hazard_reporter.photos.imaging import ImageFormat
from hazard_reporter.photos.metadata import PhotoMetadata, read_metadata
from hazard_reporter.triage.engine import LEVELS, SECTORS, Facts, assess, load_rules
from tests.fixtures import (
    jpeg_with_raw_exif,
    make_jpeg,
    make_png,
    png_with_raw_exif,
    raw_ifd,
    raw_tiff,
)

# Pure functions are fast; the file-based properties build a small image per example.
PURE = settings(max_examples=300, deadline=None)
RULES = settings(max_examples=100, deadline=None)  # a rules file is parsed per example
FILES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def colour_rank(colour: str) -> int:
    return LEVELS.index(colour)


# --- EXIF metadata ----------------------------------------------------------------------------

TAG_NAMES = [
    "GPSLatitude", "GPSLatitudeRef", "GPSLongitude", "GPSLongitudeRef", "GPSAltitude",
    "GPSAltitudeRef", "Orientation", "Make", "Model", "DateTime", "DateTimeOriginal",
    "DateTimeDigitized", "OffsetTime", "OffsetTimeOriginal", "OffsetTimeDigitized",
    "SubSecTime", "SubSecTimeOriginal", "SubSecTimeDigitized", "_gps_ifd", "_count",
]  # fmt: skip
big_ints = st.integers(min_value=-(2**64), max_value=2**64)
u32 = st.integers(min_value=0, max_value=2**32 - 1)
s32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    big_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.fractions(),
    st.builds(IFDRational, u32, u32),  # Pillow's, 0/0 included
    st.builds(Ratio, s32, s32),  # ExifRead's
    st.sampled_from(["N", "S", "E", "W", "n", "Q", "", "\x00", b"N\x00", b"S", "2024:05:06 07:08:09",
                     "0000:00:00 00:00:00", "+08:00", "-03:30", "Z", "+99:99"]),
)  # fmt: skip
exif_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner, inner),
    max_leaves=12,
)
exif_tags = st.dictionaries(st.sampled_from(TAG_NAMES), exif_values, max_size=len(TAG_NAMES))


def assert_sane(meta: PhotoMetadata) -> None:
    """Whatever went in, what comes out is usable as it is."""
    assert "metadata_error" not in meta.problems  # the catch-all for bugs was never needed
    json.dumps(meta.as_dict())
    meta.taken_at_utc  # noqa: B018 - must not raise
    if meta.gps_lat is None or meta.gps_lon is None:
        assert meta.gps_lat is None and meta.gps_lon is None and meta.gps_alt is None
    else:
        assert math.isfinite(meta.gps_lat) and -90 <= meta.gps_lat <= 90
        assert math.isfinite(meta.gps_lon) and -180 <= meta.gps_lon <= 180
        assert not (meta.gps_lat == 0 and meta.gps_lon == 0)
    if meta.gps_alt is not None:
        assert -12_000 <= meta.gps_alt <= 50_000
    assert meta.orientation is None or 1 <= meta.orientation <= 8
    for text in (meta.make, meta.model):
        assert text is None or (
            0 < len(text) <= 100 and text.isprintable() and text == text.strip()
        )
    offset = meta.utc_offset_minutes
    assert offset is None or -14 * 60 <= offset <= 14 * 60


@PURE
@given(exif_tags, st.sampled_from(["exifread", "pillow"]))
def test_exif_values_of_any_type_never_raise_and_come_out_sane(tags, reader):
    assert_sane(metadata._interpret(tags, reader, []))


# Raw entries as a file carries them: the tags the reader looks at, any type (including ones that
# do not exist), counts from none to absurd, values inline or at an offset (possibly past the end).
TAGS_OF_IFD0 = [0x010F, 0x0110, 0x0112, 0x0132, 0x8769, 0x8825, 0x9003, 0x1234]
TAGS_OF_GPS = [0, 1, 2, 3, 4, 5, 6, 7, 0x1D, 0x8825]
entry_counts = st.one_of(st.integers(0, 8), st.sampled_from([999, 1000, 65535, 2**31, 2**32 - 1]))
entry_values = st.one_of(st.binary(min_size=4, max_size=4), st.integers(0, 400), u32)


def entries(tags):
    return st.lists(
        st.tuples(st.sampled_from(tags), st.integers(0, 14), entry_counts, entry_values),
        max_size=8,
    )


@st.composite
def raw_exif(draw) -> bytes:
    """IFD0 at 8, a GPS IFD at 200 that IFD0 may point to, and a value area of random bytes."""
    little = draw(st.booleans())
    ifd0 = draw(entries(TAGS_OF_IFD0))
    if draw(st.booleans()):
        ifd0.append((0x8825, 4, 1, 200))
    gps = draw(entries(TAGS_OF_GPS))
    area = draw(st.binary(min_size=0, max_size=300))
    return raw_tiff(
        {8: raw_ifd(ifd0[:15], little=little), 200: raw_ifd(gps, little=little), 400: area},
        little=little,
    )


# Pillow warns about corrupt EXIF while it reads it; in production that is a warning and reading
# goes on, which is what is tested (warnings are errors in this suite).
@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@FILES
@given(raw_exif(), st.sampled_from(["jpeg", "png"]))
def test_raw_exif_entries_of_any_type_and_count_never_raise(tiff, container):
    if container == "jpeg":
        data, fmt = jpeg_with_raw_exif(tiff, 16, 16), ImageFormat.JPEG
    else:
        data, fmt = png_with_raw_exif(tiff, 16, 16), ImageFormat.PNG
    assert_sane(read_metadata(io.BytesIO(data), fmt))


def dms(degrees: Fraction) -> list[Fraction]:
    """Unsigned degrees, minutes and seconds, exactly."""
    degrees = abs(degrees)
    whole = int(degrees)
    minutes = int((degrees - whole) * 60)
    return [Fraction(whole), Fraction(minutes), (degrees - whole - Fraction(minutes, 60)) * 3600]


magnitudes = st.fractions(min_value=0, max_value=400, max_denominator=10**6)


@PURE
@given(magnitudes, magnitudes, st.sampled_from("NS"), st.sampled_from("EW"))
def test_gps_in_range_is_a_fix_and_out_of_range_or_0_0_is_none(lat, lon, lat_ref, lon_ref):
    tags = {
        "GPSLatitude": dms(lat),
        "GPSLatitudeRef": lat_ref,
        "GPSLongitude": dms(lon),
        "GPSLongitudeRef": lon_ref,
    }
    problems: list[str] = []
    got_lat, got_lon, _ = metadata._gps(tags, problems)
    if lat > 90 or lon > 180:
        assert (got_lat, got_lon) == (None, None) and "gps_out_of_range" in problems
    elif lat == 0 and lon == 0:
        assert (got_lat, got_lon) == (None, None) and "gps_null_island" in problems
    else:
        assert got_lat == pytest.approx(float(lat) * (-1 if lat_ref == "S" else 1), abs=1e-9)
        assert got_lon == pytest.approx(float(lon) * (-1 if lon_ref == "W" else 1), abs=1e-9)
        assert problems == []


@PURE
@given(
    st.floats(-90, 90), st.floats(-180, 180), st.sampled_from([0, 1, 2, 83, 78, 1.0]), st.booleans()
)
def test_gps_ref_that_is_not_text_never_gives_a_position(lat, lon, ref, as_list):
    """A number where N/S/E/W belongs does not say the hemisphere: no fix, not a mirrored one."""
    value = [ref] if as_list else ref
    tags = {"GPSLatitude": dms(Fraction(lat)), "GPSLatitudeRef": value,
            "GPSLongitude": dms(Fraction(lon)), "GPSLongitudeRef": "E"}  # fmt: skip
    problems: list[str] = []
    assert metadata._gps(tags, problems) == (None, None, None)
    assert "gps_invalid" in problems


positions = st.tuples(st.floats(-90, 90), st.floats(-180, 180)).filter(
    lambda p: abs(p[0]) > 1e-6 or abs(p[1]) > 1e-6
)
altitudes = st.one_of(st.none(), st.floats(-11_000, 49_000))


@FILES
@given(positions, altitudes, st.sampled_from(["jpeg", "png"]))
def test_gps_written_by_pillow_reads_back_within_a_centimetre(position, altitude, container):
    lat, lon = position
    maker = make_jpeg if container == "jpeg" else make_png
    data = maker(16, 16, gps=position, altitude=altitude, pattern=False)
    meta = read_metadata(io.BytesIO(data), ImageFormat(container))
    assert meta.gps_lat == pytest.approx(lat, abs=1e-7)  # ~1 cm
    assert meta.gps_lon == pytest.approx(lon, abs=1e-7)
    if altitude is None:
        assert meta.gps_alt is None
    else:
        assert meta.gps_alt == pytest.approx(altitude, abs=2e-3)  # written to 1/1000 m
    assert meta.reader == ("exifread" if container == "jpeg" else "pillow")
    assert meta.problems == ()


# --- coordinate conversions -------------------------------------------------------------------

# The box GCJ-02 applies in (out_of_china's), less 0.05 degrees along each edge: a point within
# ~700 m of the box's edge may be shifted out of it and then is not shifted back. Those edges lie
# outside China's territory (it spans 73.5-134.8 E, 3.8-53.6 N), where no report comes from.
MARGIN = 0.05
gcj_area = st.tuples(
    st.floats(0.8293 + MARGIN, 55.8271 - MARGIN), st.floats(72.004 + MARGIN, 137.8347 - MARGIN)
)
anywhere = st.tuples(st.floats(-90, 90), st.floats(-180, 180))
CHINESE_SYSTEMS = st.sampled_from(["gcj02", "bd09"])


@PURE
@given(gcj_area, CHINESE_SYSTEMS)
def test_round_trip_through_chinese_maps_is_within_1_m_wherever_gcj02_applies(point, system):
    back = to_wgs84(*from_wgs84(*point, system), system)
    assert distance_m(*back, *point) < 1.0


@PURE
@given(gcj_area, CHINESE_SYSTEMS)
def test_a_map_point_converted_to_gps_and_back_is_the_same_map_point(point, system):
    """The other way round: what a Chinese map SDK gave is what the API answers back."""
    again = from_wgs84(*to_wgs84(*point, system), system)
    assert distance_m(*again, *point) < 1.0


@PURE
@given(anywhere, CHINESE_SYSTEMS)
def test_outside_china_every_conversion_is_the_identity(point, system):
    assume(out_of_china(*point))
    assert from_wgs84(*point, system) == point
    assert to_wgs84(*point, system) == point


@PURE
@given(anywhere)
def test_wgs84_in_and_out_is_the_identity_and_shifts_stay_under_a_kilometre_and_a_half(point):
    assert from_wgs84(*point, "wgs84") == to_wgs84(*point, "wgs84") == point
    for system in ("gcj02", "bd09"):
        shifted = from_wgs84(*point, system)
        assert all(math.isfinite(c) for c in shifted)
        assert distance_m(*shifted, *point) < 1_500  # GCJ ~700 m at most, BD-09 ~1 km more


# --- triage under any valid rules file ----------------------------------------------------------

ZH_WORDS = ["漏气", "裂缝", "堵塞", "超载", "火花", "坍塌", "积水", "冒烟"]
EN_WORDS = ["leak", "crack*", "blocked", "overload", "spark*", "smoke"]
NEGATIONS_ZH, NEGATIONS_EN = ["没有", "未发现"], ["no", "not"]
levels = st.sampled_from(LEVELS)


def _toml_list(words) -> str:
    return "[" + ", ".join(json.dumps(w, ensure_ascii=False) for w in words) + "]"


@st.composite
def indicators(draw, sector: str) -> str:
    out = []
    for number in range(draw(st.integers(0, 3))):
        level = draw(levels)
        lines = [
            f"[[sectors.{sector}.indicators]]",
            f'id = "i{number}"',
            f'level = "{level}"',
            'label_zh = "指标"',
            'label_en = "indicator"',
            f"zh = {_toml_list(draw(st.lists(st.sampled_from(ZH_WORDS), min_size=1, max_size=3)))}",
            f"en = {_toml_list(draw(st.lists(st.sampled_from(EN_WORDS), max_size=2)))}",
        ]
        lower = [lv for lv in LEVELS if colour_rank(lv) <= colour_rank(level)]
        if draw(st.booleans()):
            lines.append(f'off_hours_level = "{draw(st.sampled_from(lower))}"')
        if draw(st.booleans()):
            also = draw(st.lists(st.sampled_from([*SECTORS, "*"]), max_size=2, unique=True))
            lines.append(f"also_in = {_toml_list(also)}")
        out.append("\n".join(lines))
    return "\n".join(out)


@st.composite
def rules_texts(draw) -> str:
    """A valid rules file: random base levels, indicators, danger level, cluster steps, busy
    hours and negations."""
    parts = ["version = 1", f'[immediate_danger]\nlevel = "{draw(levels)}"']
    minimums = sorted(draw(st.sets(st.integers(2, 60), max_size=3)))
    raises = sorted(
        draw(st.lists(st.integers(1, 3), min_size=len(minimums), max_size=len(minimums)))
    )
    steps = ", ".join(
        f"{{ min_reports = {m}, raise = {r} }}" for m, r in zip(minimums, raises, strict=True)
    )
    parts.append(f"[cluster]\nsteps = [{steps}]")
    if draw(st.booleans()):
        hours = st.integers(0, 23).map(lambda h: f"{h:02d}:00")
        start, end = draw(hours), draw(hours)
        assume(start != end)
        busy = draw(st.lists(st.sampled_from(SECTORS), min_size=1, max_size=3, unique=True))
        parts.append(
            f"[busy_hours]\nsectors = {_toml_list(busy)}\n"
            f'windows = [["{start}", "{end}"]]\nfloor = "{draw(levels)}"'
        )
    if draw(st.booleans()):
        parts.append(
            f"[negation]\nzh = {_toml_list(NEGATIONS_ZH)}\nen = {_toml_list(NEGATIONS_EN)}"
        )
    for sector in SECTORS:
        parts.append(f'[sectors.{sector}]\nbase = "{draw(levels)}"')
        parts.append(draw(indicators(sector)))
    return "\n\n".join(parts)


SHANGHAI = timezone(timedelta(hours=8))
description_words = st.sampled_from(
    ZH_WORDS
    + [w.rstrip("*") for w in EN_WORDS]
    + NEGATIONS_ZH
    + NEGATIONS_EN
    + ["，", "。", " ", "的"]
)
facts = st.builds(
    Facts,
    sector=st.sampled_from(SECTORS) | st.text(max_size=12),
    description=st.lists(description_words, max_size=10).map("".join) | st.text(max_size=60),
    immediate_danger=st.booleans(),
    independent_reports=st.integers(-5, 10_000),
    local_time=st.none() | st.datetimes(timezones=st.just(SHANGHAI)) | st.datetimes(),
)
SCORE_BANDS = {"blue": (10, 25), "yellow": (35, 50), "orange": (60, 75), "red": (85, 100)}


def with_(given_facts: Facts, **changes) -> Facts:
    fields = {name: getattr(given_facts, name) for name in Facts.__dataclass_fields__}
    return Facts(**{**fields, **changes})


@RULES
@given(rules_texts(), facts, st.integers(0, 100))
def test_under_any_rules_more_independent_reports_never_lower_the_colour(text, fact, more):
    rules = load_rules(text)
    fewer = assess(fact, rules)
    grown = assess(with_(fact, independent_reports=fact.independent_reports + more), rules)
    assert colour_rank(grown.severity) >= colour_rank(fewer.severity)


@RULES
@given(rules_texts(), facts)
def test_under_any_rules_immediate_danger_never_lowers_the_colour_and_reaches_its_level(text, fact):
    rules = load_rules(text)
    calm = assess(with_(fact, immediate_danger=False), rules)
    alarmed = assess(with_(fact, immediate_danger=True), rules)
    assert colour_rank(alarmed.severity) >= colour_rank(calm.severity)
    assert colour_rank(alarmed.severity) >= colour_rank(rules.immediate_danger_level)
    assert "immediate_danger" in [reason.code for reason in alarmed.reasons]


@RULES
@given(rules_texts(), facts)
def test_under_any_rules_every_assessment_is_one_of_four_colours_with_its_reasons(text, fact):
    rules = load_rules(text)
    result = assess(fact, rules)
    assert result.severity in LEVELS
    low, high = SCORE_BANDS[result.severity]  # disjoint, so the score orders colours too
    assert low <= result.score <= high
    codes = [reason.code for reason in result.reasons]
    assert codes and all(codes) and len(codes) == len(set(codes))
    assert all(reason.zh.strip() and reason.en.strip() for reason in result.reasons)
    sector = fact.sector if fact.sector in rules.base else "other"
    assert f"base:{sector}" in codes  # the base level is always explained
    assert colour_rank(result.severity) >= colour_rank(rules.base[sector])  # never below base


# --- points -------------------------------------------------------------------------------------

confirmations = st.sampled_from([None, "general", "major", "", "MAJOR", "其他"])


@PURE
@given(levels, confirmations, st.booleans())
def test_points_are_never_negative_and_a_prevented_accident_never_lowers_them(
    colour, confirmed, prevented
):
    points = report_points(colour, confirmed, prevented)
    assert isinstance(points, int) and points >= 0
    assert report_points(colour, confirmed, True) >= report_points(colour, confirmed, False)


@PURE
@given(confirmations, st.booleans())
def test_a_higher_colour_never_earns_fewer_points(confirmed, prevented):
    for lower, higher in pairwise(LEVELS):
        assert report_points(higher, confirmed, prevented) >= report_points(
            lower, confirmed, prevented
        )


T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)
members = st.builds(
    ClusterMember,
    report_id=st.integers(1, 50),
    reporter_id=st.none() | st.integers(1, 6),
    submitted_at=st.integers(0, 10_000).map(lambda minutes: T0 + timedelta(minutes=minutes)),
    held=st.booleans(),
)
clusters = st.builds(
    Cluster,
    report_id=st.integers(1, 50),
    severity=levels,
    hazard_confirmed=confirmations,
    accident_prevented=st.booleans(),
    prevented_account=st.none() | st.text(max_size=10),
    members=st.lists(members, min_size=1, max_size=4).map(tuple),
)


def totals(all_clusters) -> dict[int, int]:
    return {standing.reporter_id: standing.points for standing in rank(all_clusters)}


@PURE
@given(st.lists(clusters, max_size=8))
def test_standings_add_up_their_credits_never_negative_in_rank_order(all_clusters):
    standings = rank(all_clusters)
    for standing in standings:
        assert standing.points == sum(c.points for c in standing.credits) >= 0
        assert all(c.reason for c in standing.credits)
    points = [s.points for s in standings]
    assert points == sorted(points, reverse=True)
    for standing in standings:  # competition ranking: 1, 2, 2, 4
        assert standing.rank == 1 + sum(1 for p in points if p > standing.points)
    assert len({s.reporter_id for s in standings}) == len(standings)


@PURE
@given(st.lists(clusters, min_size=1, max_size=6), st.data())
def test_recording_a_prevented_accident_or_a_higher_colour_never_lowers_anyones_total(
    all_clusters, data
):
    index = data.draw(st.integers(0, len(all_clusters) - 1))
    chosen = all_clusters[index]
    higher = data.draw(st.sampled_from(LEVELS[colour_rank(chosen.severity) :]))
    better = Cluster(
        chosen.report_id, higher, chosen.hazard_confirmed, True, chosen.prevented_account,
        chosen.members,
    )  # fmt: skip
    before = totals(all_clusters)
    after = totals([*all_clusters[:index], better, *all_clusters[index + 1 :]])
    assert all(after.get(reporter, 0) >= points for reporter, points in before.items())
    credit = credit_for(better)
    if credit is not None:
        assert credit.points >= POINTS_BY_COLOUR[higher] > 0
