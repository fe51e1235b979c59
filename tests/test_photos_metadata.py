"""Reading GPS, capture time, orientation and device from photos: self-made files, pure cases,
and the real-world corpus against exiftool's ground truth."""

from __future__ import annotations

import io
import json
import math
import time
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from exifread.utils import Ratio
from PIL.TiffImagePlugin import IFDRational

from hazard_reporter.photos import metadata
from hazard_reporter.photos.imaging import HEAD_BYTES, ImageFormat, open_image, sniff_format
from hazard_reporter.photos.metadata import PhotoMetadata, read_metadata
from tests.corpus import corpus_path, entries, requires_corpus
from tests.fixtures import (
    jpeg_with_exif_bomb,
    jpeg_with_large_xmp_before_exif,
    make_heic,
    make_jpeg,
    make_png,
    make_webp,
)

GPS_TOLERANCE = 1e-5
SHANGHAI = (31.2304, 121.4737)
RIO = (-22.9068, -43.1729)


def read(data: bytes, fmt: ImageFormat = ImageFormat.JPEG) -> PhotoMetadata:
    return read_metadata(io.BytesIO(data), fmt)


# --- self-made photos ---------------------------------------------------------------------------


def test_gps_north_east_is_read_as_positive_decimal_degrees():
    meta = read(make_jpeg(gps=SHANGHAI))
    assert meta.gps_lat == pytest.approx(SHANGHAI[0], abs=1e-7)
    assert meta.gps_lon == pytest.approx(SHANGHAI[1], abs=1e-7)
    assert meta.reader == "exifread"
    assert meta.has_exif and meta.problems == ()


def test_gps_south_west_refs_make_coordinates_negative():
    meta = read(make_jpeg(gps=RIO))
    assert meta.gps_lat == pytest.approx(RIO[0], abs=1e-7)
    assert meta.gps_lon == pytest.approx(RIO[1], abs=1e-7)


def test_altitude_below_sea_level_is_negative():
    meta = read(make_jpeg(gps=(31.5, 35.5), altitude=-430.5))  # the Dead Sea shore
    assert meta.gps_alt == pytest.approx(-430.5)


def test_altitude_above_sea_level_is_positive():
    assert read(make_jpeg(gps=SHANGHAI, altitude=4.25)).gps_alt == pytest.approx(4.25)


def test_null_island_gps_means_no_fix():
    meta = read(make_jpeg(gps=(0.0, 0.0), altitude=0.0))
    assert (meta.gps_lat, meta.gps_lon, meta.gps_alt) == (None, None, None)
    assert "gps_null_island" in meta.problems


def test_a_point_on_the_equator_is_still_a_fix():
    meta = read(make_jpeg(gps=(0.0, 36.5)))
    assert meta.gps_lat == 0.0 and meta.gps_lon == pytest.approx(36.5)


def test_capture_time_with_offset_gives_local_and_utc_time():
    meta = read(make_jpeg(taken_at="2024:05:06 07:08:09", offset="+08:00"))
    assert meta.taken_at == datetime(2024, 5, 6, 7, 8, 9)
    assert meta.taken_at.tzinfo is None  # the camera's wall clock
    assert meta.utc_offset_minutes == 480
    assert meta.taken_at_utc == datetime(2024, 5, 5, 23, 8, 9, tzinfo=UTC)


def test_capture_time_without_offset_has_no_utc_time():
    meta = read(make_jpeg(taken_at="2024:05:06 07:08:09"))
    assert meta.taken_at == datetime(2024, 5, 6, 7, 8, 9)
    assert meta.utc_offset_minutes is None and meta.taken_at_utc is None


def test_make_and_model_are_stripped_and_blank_means_none():
    meta = read(make_jpeg(make="  HUAWEI   ", model="   "))
    assert meta.make == "HUAWEI"
    assert meta.model is None


def test_orientation_is_reported_as_the_file_states_it():
    assert read(make_jpeg(orientation=6)).orientation == 6
    assert read(make_jpeg(orientation=1)).orientation == 1
    assert read(make_jpeg()).orientation is None


def test_photo_without_exif_has_empty_metadata_and_no_problems():
    meta = read(make_jpeg())
    assert meta == PhotoMetadata(reader="none")
    assert meta.has_exif is False


def test_png_exif_is_read_with_pillow():
    meta = read(make_png(gps=RIO, orientation=3, make="Canon"), ImageFormat.PNG)
    assert meta.reader == "pillow"
    assert meta.gps_lat == pytest.approx(RIO[0], abs=1e-7)
    assert meta.orientation == 3 and meta.make == "Canon"


def test_webp_exif_is_read():
    data = make_webp(gps=SHANGHAI, orientation=8, taken_at="2023:01:02 03:04:05")
    meta = read(data, ImageFormat.WEBP)
    assert meta.gps_lon == pytest.approx(SHANGHAI[1], abs=1e-7)
    assert meta.orientation == 8
    assert meta.taken_at == datetime(2023, 1, 2, 3, 4, 5)


def test_heic_reports_the_files_original_orientation_not_pillow_heifs_reset_one():
    data = make_heic(gps=SHANGHAI, orientation=6, offset="+08:00", taken_at="2024:01:01 08:00:00")
    meta = read(data, ImageFormat.HEIF)
    assert meta.reader == "pillow"
    assert meta.orientation == 6
    assert meta.gps_lat == pytest.approx(SHANGHAI[0], abs=1e-7)
    assert meta.taken_at_utc == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


def test_metadata_from_an_already_opened_image_is_the_same():
    data = make_heic(gps=RIO, orientation=8, make="Apple")
    with open_image(io.BytesIO(data), ImageFormat.HEIF) as image:
        from_image = read_metadata(io.BytesIO(data), ImageFormat.HEIF, image)
    assert from_image == read(data, ImageFormat.HEIF)


def test_exif_after_a_large_xmp_segment_is_found():
    # ExifRead's own scan looks only at the first ~4 KB; the EXIF segment is located for it.
    meta = read(jpeg_with_large_xmp_before_exif(gps=RIO, orientation=3))
    assert meta.orientation == 3
    assert meta.gps_lat == pytest.approx(RIO[0], abs=1e-7)


def test_pillow_reads_the_exif_when_exifread_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise UnicodeDecodeError("ascii", b"\xf4", 0, 1, "ordinal not in range(128)")

    monkeypatch.setattr(metadata.exifread, "process_file", broken)
    meta = read(make_jpeg(gps=RIO, orientation=3, make="Canon"))
    assert meta.reader == "pillow"
    assert meta.gps_lat == pytest.approx(RIO[0], abs=1e-7)
    assert (meta.orientation, meta.make) == (3, "Canon")
    assert "exif_corrupt" in meta.problems


def test_exif_claiming_huge_values_is_read_in_bounded_time():
    # Given the whole file, ExifRead 3.5 reads to its end once per entry (about 40 s here).
    data = jpeg_with_exif_bomb()
    started = time.perf_counter()
    meta = read(data)
    assert time.perf_counter() - started < 2.0
    assert meta.gps_lat is None


def test_read_metadata_leaves_the_stream_where_it_was():
    stream = io.BytesIO(make_jpeg(gps=SHANGHAI))
    stream.seek(7)
    read_metadata(stream, ImageFormat.JPEG)
    assert stream.tell() == 7


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe1\x00\x20Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x00" * 9,
        b"\xff\xd8\xff\xe1\xff\xffExif\x00\x00II*\x00" + b"\xff" * 64,
        make_jpeg()[:200],
        b"\xff\xd8" + b"\xff" * 5_000_000,
    ],
    ids=[
        "empty",
        "soi-only",
        "exif-huge-ifd-count",
        "exif-overrunning-segment",
        "truncated",
        "endless-fill-bytes",
    ],
)
def test_broken_exif_never_raises_and_finishes_quickly(data):
    started = time.perf_counter()
    for fmt in ImageFormat:  # whatever a caller claims the format is
        meta = read(data, fmt)
        assert isinstance(meta, PhotoMetadata)
        assert meta.gps_lat is None
    assert time.perf_counter() - started < 2.0


def test_as_dict_is_json_serialisable_with_iso_datetimes():
    meta = read(make_jpeg(gps=RIO, taken_at="2024:05:06 07:08:09", offset="-03:00", make="Moto"))
    stored = json.loads(json.dumps(meta.as_dict()))
    assert stored["taken_at"] == "2024-05-06T07:08:09"
    assert stored["taken_at_utc"] == "2024-05-06T10:08:09+00:00"
    assert stored["utc_offset_minutes"] == -180
    assert stored["gps_lat"] == pytest.approx(RIO[0], abs=1e-7)
    assert stored["problems"] == [] and stored["reader"] == "exifread"


# --- pure cases: GPS values as both readers hand them over ---------------------------------------


def dms(deg, minutes=0, seconds=0):
    return [Fraction(deg), Fraction(minutes), Fraction(seconds)]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (
            {
                "GPSLatitude": dms(41, 51, 10.8),
                "GPSLatitudeRef": "N",
                "GPSLongitude": dms(12, 29, 19.8),
                "GPSLongitudeRef": "E",
            },
            (41.853, 12.4888333),
        ),
        (
            {
                "GPSLatitude": dms(33, 52, 7.68),
                "GPSLatitudeRef": "S",
                "GPSLongitude": dms(151, 12, 33.48),
                "GPSLongitudeRef": "W",
            },
            (-33.8688, -151.2093),
        ),
        # signed rationals already negative: the S/W ref must not flip them back
        (
            {
                "GPSLatitude": [Fraction(-33), Fraction(52), Fraction(768, 100)],
                "GPSLatitudeRef": "S",
                "GPSLongitude": [-151.2093],
                "GPSLongitudeRef": "W",
            },
            (-33.8688, -151.2093),
        ),
        ({"GPSLatitude": [Fraction(-10)], "GPSLongitude": [Fraction(20)]}, (-10.0, 20.0)),
        # Pillow's flavour: a tuple of IFDRational, refs as bytes
        (
            {
                "GPSLatitude": (IFDRational(47), IFDRational(3763, 100), IFDRational(0)),
                "GPSLatitudeRef": b"N\x00",
                "GPSLongitude": (IFDRational(122), IFDRational(506, 25)),
                "GPSLongitudeRef": "w",
            },
            (47.6271667, -122.3373333),
        ),
    ],
    ids=["north-east", "south-west", "already-negative", "no-refs-signed", "pillow-rationals"],
)
def test_gps_rationals_and_refs_become_signed_degrees(tags, expected):
    problems: list[str] = []
    lat, lon, _ = metadata._gps(tags, problems)
    assert (lat, lon) == pytest.approx(expected, abs=1e-6)
    assert problems == []


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        (
            {
                "GPSLatitude": [Ratio(0, 0)] * 3,
                "GPSLatitudeRef": "N",
                "GPSLongitude": [Ratio(0, 0)] * 3,
                "GPSLongitudeRef": "E",
            },
            "gps_empty",
        ),
        (
            {"GPSLatitude": (IFDRational(0, 0),) * 3, "GPSLongitude": (IFDRational(0, 0),) * 3},
            "gps_empty",
        ),
        ({"GPSLatitude": [Fraction(4294967295)]}, "gps_out_of_range"),
        ({"GPSLatitude": dms(91), "GPSLongitude": dms(10)}, "gps_out_of_range"),
        ({"GPSLatitude": dms(10), "GPSLongitude": dms(180, 30)}, "gps_out_of_range"),
        ({"GPSLatitude": [math.nan], "GPSLongitude": [1.0]}, "gps_invalid"),
        ({"GPSLatitude": [math.inf], "GPSLongitude": [1.0]}, "gps_invalid"),
        ({"GPSLatitude": "12 34 56", "GPSLongitude": dms(10)}, "gps_invalid"),
        ({"GPSLatitude": [b"\x01\x02"], "GPSLongitude": dms(10)}, "gps_invalid"),
        ({"GPSLatitude": [None, None, None], "GPSLongitude": dms(10)}, "gps_invalid"),
        ({"GPSLatitude": [*dms(10), Fraction(1)], "GPSLongitude": dms(10)}, "gps_invalid"),
        ({"GPSLatitude": dms(10), "GPSLatitudeRef": "Q", "GPSLongitude": dms(10)}, "gps_invalid"),
        ({"GPSLatitude": dms(10), "GPSLatitudeRef": "N"}, "gps_empty"),  # no longitude
        ({"GPSLatitude": [], "GPSLongitude": []}, "gps_empty"),
        ({"GPSLatitude": dms(0), "GPSLongitude": dms(0)}, "gps_null_island"),
        ({"_gps_ifd": True}, "gps_empty"),  # the GPS IFD pointer leads to nothing
    ],
    ids=[
        "exifread-zero-denominators",
        "pillow-zero-denominators",
        "absurd-latitude-no-longitude",
        "latitude-over-90",
        "longitude-over-180",
        "nan",
        "inf",
        "string",
        "bytes",
        "nones",
        "four-components",
        "unknown-hemisphere",
        "missing-longitude",
        "empty-lists",
        "null-island",
        "empty-gps-ifd",
    ],
)
def test_unusable_gps_means_no_fix_and_says_why(tags, problem):
    problems: list[str] = []
    assert metadata._gps(tags, problems) == (None, None, None)
    assert problem in problems


def test_no_gps_tags_at_all_is_not_a_problem():
    problems: list[str] = []
    assert metadata._gps({"Make": "Canon"}, problems) == (None, None, None)
    assert problems == []


@pytest.mark.parametrize(
    ("tags", "taken_at", "offset", "problem"),
    [
        (
            {"DateTimeOriginal": "2021:05:16 12:27:36.107-07:00"},
            datetime(2021, 5, 16, 12, 27, 36, 107000),
            -420,
            None,
        ),
        (
            {"DateTimeOriginal": "2019:09:26 16:38:00", "SubSecTimeOriginal": "0532"},
            datetime(2019, 9, 26, 16, 38, 0, 53200),
            None,
            None,
        ),
        (
            {"DateTimeOriginal": "2022:08:14 14:12:31", "OffsetTimeOriginal": "+03:00"},
            datetime(2022, 8, 14, 14, 12, 31),
            180,
            None,
        ),
        (
            {"DateTimeOriginal": "2022:08:14 14:12:31\x00", "OffsetTime": "+05:45"},
            datetime(2022, 8, 14, 14, 12, 31),
            345,
            None,
        ),
        (
            {"DateTimeOriginal": "0000:00:00 00:00:00", "DateTime": "2016:09:12 10:05:31"},
            datetime(2016, 9, 12, 10, 5, 31),
            None,
            None,
        ),
        ({"DateTimeOriginal": "    :  :     :  :  "}, None, None, None),
        ({"DateTimeOriginal": "2020:13:45 10:00:00"}, None, None, "datetime_invalid"),
        (
            {"DateTimeOriginal": "yesterday", "DateTimeDigitized": "2020:01:02 03:04:05"},
            datetime(2020, 1, 2, 3, 4, 5),
            None,
            "datetime_invalid",
        ),
        (
            {"DateTimeOriginal": "2020:01:02 03:04:05", "OffsetTimeOriginal": "+25:00"},
            datetime(2020, 1, 2, 3, 4, 5),
            None,
            "offset_invalid",
        ),
        (
            {"DateTimeOriginal": "2020:01:02 03:04:05", "OffsetTimeOriginal": "   :  "},
            datetime(2020, 1, 2, 3, 4, 5),
            None,
            None,
        ),
        (
            {"DateTimeOriginal": ["2020:01:02 03:04:05"], "OffsetTimeOriginal": b"-04:00"},
            datetime(2020, 1, 2, 3, 4, 5),
            -240,
            None,
        ),
        ({"DateTimeOriginal": 20200102}, None, None, None),
    ],
    ids=[
        "flir-fraction-and-offset",
        "subsec-tag",
        "offset-tag",
        "offset-fallback-and-nul",
        "zero-date-falls-back",
        "blank-date",
        "impossible-date",
        "garbage-falls-back",
        "absurd-offset",
        "blank-offset",
        "list-and-bytes",
        "wrong-type",
    ],
)
def test_capture_time_parsing(tags, taken_at, offset, problem):
    problems: list[str] = []
    assert metadata._timestamp(tags, problems) == (taken_at, offset)
    assert (problem in problems) if problem else problems == []


@pytest.mark.parametrize(
    ("value", "expected"), [([6], 6), (1, 1), (b"\x03", 3), ([9], None), (0, None), ("6", None)]
)
def test_orientation_outside_1_to_8_is_dropped(value, expected):
    problems: list[str] = []
    assert metadata._orientation(value, problems) == expected
    assert ("orientation_invalid" in problems) == (expected is None)


# --- the real-world corpus ----------------------------------------------------------------------

# Ground truth exiftool reads from places that are not EXIF, which this app does not read.
NOT_IN_EXIF = {
    "real/flir_one_iphone_maker_gps.jpg": "DateTimeOriginal is in the FLIR segment",
}
NOT_ACCEPTED = {"real/parrot_sequoia_gps.tif"}  # TIFF: refused with 415 before metadata


def usable_position(entry: dict) -> tuple[float, float] | None:
    """exiftool's position where the manifest does not flag it as unusable."""
    truth = entry["ground_truth"]
    lat, lon = truth["gps_lat"], truth["gps_lon"]
    if lat is None or lon is None or entry.get("ground_truth_notes") or (lat, lon) == (0, 0):
        return None
    return lat, lon


def photo_entries() -> list[dict]:
    return [e for e in entries("real") + entries("heic") if e["file"] not in NOT_ACCEPTED]


def read_corpus_file(rel: str) -> tuple[PhotoMetadata, ImageFormat]:
    with corpus_path(rel).open("rb") as fp:
        fmt = sniff_format(fp.read(HEAD_BYTES))
        assert fmt is not None
        return read_metadata(fp, fmt), fmt


@requires_corpus
@pytest.mark.parametrize("entry", photo_entries(), ids=lambda e: e["file"])
def test_real_photo_metadata_matches_exiftool(entry):
    meta, _ = read_corpus_file(entry["file"])
    truth = entry["ground_truth"]

    position = usable_position(entry)
    if position is None:  # none, empty, 0,0, or the FLIR maker-note GPS
        assert (meta.gps_lat, meta.gps_lon, meta.gps_alt) == (None, None, None)
    else:
        assert meta.gps_lat == pytest.approx(position[0], abs=GPS_TOLERANCE)
        assert meta.gps_lon == pytest.approx(position[1], abs=GPS_TOLERANCE)
        if truth["gps_alt"] is not None:
            assert meta.gps_alt == pytest.approx(truth["gps_alt"], abs=1e-3)

    assert meta.orientation == truth["orientation"]
    assert meta.make == (truth["make"] or None)
    assert meta.model == (truth["model"] or None)
    if truth["datetime_original"] and entry["file"] not in NOT_IN_EXIF:
        expected = datetime.strptime(truth["datetime_original"][:19], "%Y:%m:%d %H:%M:%S")
        assert meta.taken_at is not None
        assert meta.taken_at.replace(microsecond=0) == expected
    if truth["offset_time_original"]:
        sign = -1 if truth["offset_time_original"].startswith("-") else 1
        hours, minutes = truth["offset_time_original"][1:].split(":")
        assert meta.utc_offset_minutes == sign * (int(hours) * 60 + int(minutes))
    json.dumps(meta.as_dict())


@requires_corpus
def test_offset_time_of_the_nokia_gives_utc_capture_time():
    meta, _ = read_corpus_file("real/hmd_nokia83_gps_offsettime.jpg")
    assert meta.utc_offset_minutes == 180
    assert meta.taken_at_utc == datetime(2022, 8, 14, 11, 12, 31, tzinfo=UTC)


@requires_corpus
def test_photoshop_export_with_xmp_before_exif_has_its_exif_read():
    meta, _ = read_corpus_file("real/photoshop_xmp_before_exif.jpg")
    assert meta.has_exif and meta.orientation == 1
    assert meta.taken_at == datetime(2014, 9, 22, 10, 56, 35)  # IFD0 DateTime


@requires_corpus
def test_samsung_200mp_heic_metadata_reads_from_the_header_with_empty_gps():
    meta, fmt = read_corpus_file("heic/samsung_s24ultra_200mp_orient6.heic")
    assert fmt is ImageFormat.HEIF
    assert meta.gps_lat is None and "gps_empty" in meta.problems
    assert meta.orientation == 6 and meta.utc_offset_minutes == 180


@requires_corpus
@pytest.mark.parametrize("entry", entries("hostile"), ids=lambda e: e["file"])
def test_hostile_file_metadata_never_raises_and_finishes_quickly(entry):
    with corpus_path(entry["file"]).open("rb") as fp:
        head = fp.read(HEAD_BYTES)
        started = time.perf_counter()
        for fmt in ImageFormat:  # whatever a caller claims the format is
            meta = read_metadata(fp, fmt)
            assert isinstance(meta, PhotoMetadata)
            json.dumps(meta.as_dict())
        elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{entry['file']} took {elapsed:.2f}s"
    fmt = sniff_format(head)
    if fmt is not None and entry["expected_server_behaviour"]["action"].startswith("accept"):
        with corpus_path(entry["file"]).open("rb") as fp:
            meta = read_metadata(fp, fmt)
        assert meta.gps_lat is None and meta.gps_lon is None  # none has a usable fix
