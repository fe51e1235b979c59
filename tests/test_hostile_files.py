"""Hostile uploads through POST /api/v1/reports, each answered right, fast and within a memory bound.

The corpus's hostile files are sent by test_corpus_intake.py (with the same measurement, from
here); this file builds the rest: polyglots, non-images named .jpg, wrong-typed GPS, absurd
dimensions and EXIF structures built byte by byte (IFD chains, pointer loops, huge counts) inside
JPEG, PNG, WebP and HEIC files that otherwise decode fine.

The limits are correctness limits against hangs and bombs, not benchmarks: every file here is
answered in well under 0.5 s on a developer's machine, and the bombs they guard against took 45 s
to forever and 750 MB before they were fixed.
"""

from __future__ import annotations

import gc
import io
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from tests.conftest import build_app, make_user
from tests.fixtures import (
    ASCII,
    BYTE,
    DOUBLE,
    EXIF_IFD_TAG,
    FLOAT,
    GPS_IFD_TAG,
    INTEROP_IFD_TAG,
    LONG,
    RATIONAL,
    SHORT,
    SLONG,
    SRATIONAL,
    UNDEFINED,
    heic_with_raw_exif,
    jpeg_declaring,
    jpeg_with_raw_exif,
    make_jpeg,
    png_header_only,
    png_with_raw_exif,
    raw_ifd,
    raw_tiff,
    webp_header_only,
    webp_with_raw_exif,
)
from tests.test_photos_imaging import progressive_jpeg_with_scans
from tests.test_reports_api import fetch, post_report

# Every file is answered within this, however slow the machine: hangs and bombs take far longer.
TIME_LIMIT_S = 2.0
# The process's peak resident memory (VmHWM) may grow by at most this while one hostile file is
# answered. Every file here is < 1 MB and decodes to at most 64 x 48 pixels (or 1/8-scale for a
# JPEG declaring more), so the honest cost is a few MB: the app's request and the derivatives of
# a tiny image. 200 MB still leaves room for Pillow's and SQLite's allocator slack on any machine,
# and is far below what the bombs found here took (ExifRead: 750 MB for a 62 KB JPEG). It is also
# below the cost of decoding one legitimate 100 MP photo (~300 MB), which a hostile file must not
# be able to trigger from a few kilobytes.
RSS_GROWTH_LIMIT_MB = 200
# Python's own allocations (tracemalloc) at their peak during one request: the upload and its
# multipart copy (< 1 MB here; 2 x 8 MB for the one large file), the EXIF parsers' objects and
# the app's. Pillow's pixel buffers are C allocations and do not count here; VmHWM catches those.
PYTHON_PEAK_LIMIT_MB = 100
REGION = "510703"  # 涪城区: locates the report when the photo has no usable GPS
ACCEPTED_FORMATS = ("JPEG", "PNG", "WebP", "HEIC")

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the module: the uploads are independent of each other, and building an app
    (a database with the demo data) per test would cost more than the tests."""
    app = build_app(tmp_path_factory.mktemp("hostile"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def _status_mb(field: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def _reset_peak_rss() -> float | None:
    """Reset the process's VmHWM to its current VmRSS (Linux: "5" to clear_refs); the RSS, or
    None where the peak cannot be reset."""
    try:
        _CLEAR_REFS.write_text("5")
        return _status_mb("VmRSS")
    except (OSError, KeyError):
        return None


PEAK_RSS_MEASURABLE = _reset_peak_rss() is not None


def test_the_process_peak_memory_can_be_measured_here():
    if not PEAK_RSS_MEASURABLE:
        pytest.skip("no resettable VmHWM (/proc/self/clear_refs): only tracemalloc bounds apply")
    before = _reset_peak_rss()
    ballast = bytearray(64 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    grown = _status_mb("VmHWM") - before
    del ballast
    assert 60 <= grown <= 80, grown
    rss = _reset_peak_rss()
    assert _status_mb("VmHWM") - rss < 8  # and reset again


@dataclass(frozen=True)
class Measured:
    """One upload's answer, with what answering it cost."""

    response: Any
    seconds: float
    rss_growth_mb: float | None  # None where VmHWM cannot be reset
    python_peak_mb: float

    def assert_within_limits(self, what: str) -> None:
        """The upload was answered without a 5xx, in time, within the memory bounds."""
        rss = "n/a" if self.rss_growth_mb is None else f"+{self.rss_growth_mb:.1f} MB"
        print(
            f"{what}: {self.response.status_code} in {self.seconds:.3f} s, peak RSS {rss}, "
            f"Python peak {self.python_peak_mb:.1f} MB"
        )
        assert self.response.status_code < 500, (what, self.response.get_data()[:500])
        assert self.seconds < TIME_LIMIT_S, f"{what} took {self.seconds:.2f}s"
        if self.rss_growth_mb is not None:
            assert self.rss_growth_mb < RSS_GROWTH_LIMIT_MB, (
                f"{what} grew the peak RSS by {self.rss_growth_mb:.0f} MB"
            )
        assert self.python_peak_mb < PYTHON_PEAK_LIMIT_MB, (
            f"{what} allocated {self.python_peak_mb:.0f} MB in Python"
        )


def measured_post(client, data: bytes, filename: str, **fields) -> Measured:
    """POST one photo, measured twice: time and the peak RSS, then (another report) the peak of
    Python's allocations, because tracemalloc slows allocation-heavy Python code several times.
    A small photo is posted first, so that lazy imports and the app's first-request work are not
    counted against the file."""
    fields.setdefault("region_code", REGION)
    post_report(client, photos=[(make_jpeg(64, 48), "warm-up.jpg")], **fields)

    gc.collect()
    rss_before = _reset_peak_rss()
    started = time.perf_counter()
    response = post_report(client, photos=[(data, filename)], **fields)
    seconds = time.perf_counter() - started
    rss_growth = _status_mb("VmHWM") - rss_before if rss_before is not None else None

    gc.collect()
    tracemalloc.start()
    try:
        again = post_report(client, photos=[(data, filename)], **fields)
        python_peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert again.status_code == response.status_code, (again.json, response.json)
    return Measured(response, seconds, rss_growth, python_peak)


# --- the files ----------------------------------------------------------------------------------


def _be16(value: int) -> bytes:
    return struct.pack(">H", value)


def _rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">II", n, d) for n, d in pairs)


def _with_gps_ifd(gps: bytes, values: dict[int, bytes]) -> bytes:
    """IFD0 at 8 pointing to ``gps`` at 26, with value blocks at their offsets (from 200 on)."""
    return raw_tiff({8: raw_ifd([(GPS_IFD_TAG, LONG, 1, 26)]), 26: gps, **values})


def gps_every_field_wrong_typed() -> bytes:
    """Strings for rationals, numbers for refs, wrong types for the rest."""
    gps = raw_ifd(
        [
            (0, SHORT, 1, _be16(2)),  # GPSVersionID: BYTE[4]
            (1, SHORT, 1, _be16(ord("N"))),  # GPSLatitudeRef: ASCII[2]
            (2, ASCII, 12, 200),  # GPSLatitude: RATIONAL[3]
            (3, LONG, 1, ord("E")),  # GPSLongitudeRef
            (4, ASCII, 13, 220),  # GPSLongitude
            (5, ASCII, 2, b"1\0"),  # GPSAltitudeRef: BYTE
            (6, ASCII, 4, b"100\0"),  # GPSAltitude: RATIONAL
            (7, ASCII, 9, 240),  # GPSTimeStamp: RATIONAL[3]
            (0x1D, RATIONAL, 3, 260),  # GPSDateStamp: ASCII[11]
        ]
    )
    return _with_gps_ifd(
        gps,
        {
            200: b"31 13 49.44\0",
            220: b"121 28 25.3\0",
            240: b"12:00:00\0",
            260: _rationals((2024, 1), (1, 1), (1, 1)),
        },
    )


def gps_wrong_counts() -> bytes:
    """Seven latitude rationals, none for longitude, empty refs, two-rational altitude."""
    gps = raw_ifd(
        [
            (1, ASCII, 0, b""),
            (2, RATIONAL, 7, 200),
            (3, ASCII, 0, b""),
            (4, RATIONAL, 0, 0),
            (5, BYTE, 3, b"\1\2\3"),
            (6, RATIONAL, 2, 260),
        ]
    )
    return _with_gps_ifd(gps, {200: _rationals(*[(31, 1)] * 7), 260: _rationals((1, 1), (2, 1))})


def gps_numbers_for_refs() -> bytes:
    """Sydney's rationals with refs as SHORT 'S' and LONG 'E': read as text they would say
    nothing, read as "signed" they would put the report in the northern hemisphere."""
    gps = raw_ifd(
        [
            (1, SHORT, 1, _be16(ord("S"))),
            (2, RATIONAL, 3, 200),
            (3, LONG, 1, ord("E")),
            (4, RATIONAL, 3, 224),
        ]
    )
    return _with_gps_ifd(
        gps,
        {
            200: _rationals((33, 1), (52, 1), (768, 100)),
            224: _rationals((151, 1), (12, 1), (3348, 100)),
        },
    )


def gps_floats_and_blobs() -> bytes:
    """Doubles, a float, raw bytes and a negative signed rational where rationals belong."""
    gps = raw_ifd(
        [
            (1, LONG, 1, 1),
            (2, DOUBLE, 3, 200),
            (3, FLOAT, 1, struct.pack(">f", 1.0)),
            (4, UNDEFINED, 24, 224),
            (6, SRATIONAL, 1, 250),
        ]
    )
    return _with_gps_ifd(
        gps,
        {
            200: struct.pack(">ddd", 31.0, 13.0, 49.4),
            224: _rationals((121, 1), (28, 1), (25, 1)),
            250: struct.pack(">ii", -5, 0),
        },
    )


def ifd_chain(count: int = 3600) -> bytes:
    """IFD0 -> IFD1 -> ... -> IFD3599, one Make each: as many as fit in one APP1 segment."""
    blocks = {}
    for index in range(count):
        offset = 8 + 18 * index
        following = offset + 18 if index < count - 1 else 0
        blocks[offset] = raw_ifd([(0x010F, ASCII, 4, b"Ab\0")], following)
    return raw_tiff(blocks)


def ifd_loops() -> bytes:
    """IFD0 -> IFD1 -> IFD0; IFD0's Exif and GPS pointers lead back to IFD0."""
    ifd0 = raw_ifd([(EXIF_IFD_TAG, LONG, 1, 8), (GPS_IFD_TAG, LONG, 1, 8)], 32)
    return raw_tiff({8: ifd0, 32: raw_ifd([(0x0110, ASCII, 4, b"Cd\0")], 8)})


def sub_ifd_cycle() -> bytes:
    """IFD0 -> Exif -> GPS -> Interop -> Exif, and the GPS IFD pointing to itself."""
    return raw_tiff(
        {
            8: raw_ifd([(EXIF_IFD_TAG, LONG, 1, 26)]),
            26: raw_ifd([(GPS_IFD_TAG, LONG, 1, 44)]),
            44: raw_ifd([(INTEROP_IFD_TAG, LONG, 1, 74), (GPS_IFD_TAG, LONG, 1, 44)]),
            74: raw_ifd([(EXIF_IFD_TAG, LONG, 1, 26), (GPS_IFD_TAG, LONG, 1, 44)]),
        }
    )


def thousands_of_gps_pointers(count: int = 5000) -> bytes:
    """IFD0 with 5,000 GPS pointers to one IFD claiming 65,535 entries (ExifRead never ended)."""
    target = 8 + 2 + 12 * count + 4
    return raw_tiff({8: raw_ifd([(GPS_IFD_TAG, LONG, 1, target)] * count), target: b"\xff\xff"})


def thousands_of_rational_arrays(count: int = 5000) -> bytes:
    """5,000 entries claiming 999 rationals each (ExifRead: 45 s and 750 MB)."""
    return raw_tiff({8: raw_ifd([(0x1000 + i, RATIONAL, 999, 8) for i in range(count)])})


def entry_count_65535() -> bytes:
    """IFD0 claims 65,535 entries in a block of a few bytes."""
    return raw_tiff({8: b"\xff\xff" + raw_ifd([(0x010F, ASCII, 4, b"Ab\0")])[2:]})


def counts_of_4_billion() -> bytes:
    """An entry of every type, MakerNote and the IFD pointers claiming 2**32 - 1 values."""
    entries = [(0x1000 + kind, kind, 0xFFFFFFFF, 8) for kind in range(1, 13)]
    entries += [(tag, LONG, 0xFFFFFFFF, 8) for tag in (EXIF_IFD_TAG, GPS_IFD_TAG)]
    entries.append((0x927C, UNDEFINED, 0xFFFFFFFF, 8))  # MakerNote
    return raw_tiff({8: raw_ifd(entries)})


def text_amplification(count: int = 2700, length: int = 30_000) -> bytes:
    """2,700 distinct text tags all pointing at the same 30 KB of text (81 MB if each is kept)."""
    text_at = 8 + 2 + 12 * count + 4
    entries = [(0x1000 + i, ASCII, length, text_at) for i in range(count)]
    return raw_tiff({8: raw_ifd(entries), text_at: b"A" * length})


def negative_pointers(count: int = 5000) -> bytes:
    """5,000 GPS pointers of type SLONG -10: ExifRead reads the bytes before the block as an IFD
    of 65,505 entries, once per pointer (0.26 s each)."""
    return raw_tiff({8: raw_ifd([(GPS_IFD_TAG, SLONG, 1, struct.pack(">i", -10))] * count)})


def pointers_out_of_range() -> bytes:
    return raw_tiff(
        {8: raw_ifd([(EXIF_IFD_TAG, LONG, 1, 0xFFFFFFF0), (GPS_IFD_TAG, LONG, 1, 2**31)])}
    )


def little_endian_loops() -> bytes:
    """The loops again in Intel byte order, with a sub-IFD pointer to the header itself."""
    ifd0 = raw_ifd([(EXIF_IFD_TAG, LONG, 1, 0), (GPS_IFD_TAG, LONG, 1, 8)], 8, little=True)
    return raw_tiff({8: ifd0}, little=True)


def huge_make(size: int = 8_000_000) -> bytes:
    """An 8 MB "Make" (a PNG's eXIf chunk has no 64 KB limit)."""
    return raw_tiff({8: raw_ifd([(0x010F, ASCII, size, 26)]), 26: b"A" * (size - 1) + b"\0"})


def png_of_one_colour(width: int, height: int) -> bytes:
    """A palette PNG of one colour: a few hundred KB that decode to ``width`` x ``height``."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then palette index 0
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", b"\x80\x80\x80")
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


EXIF_STRUCTURES: dict[str, Callable[[], bytes]] = {
    "ifd-chain-3600": ifd_chain,
    "ifd-loops": ifd_loops,
    "sub-ifd-cycle": sub_ifd_cycle,
    "5000-gps-pointers": thousands_of_gps_pointers,
    "5000-rational-arrays": thousands_of_rational_arrays,
    "entry-count-65535": entry_count_65535,
    "counts-of-4-billion": counts_of_4_billion,
    "text-amplification": text_amplification,
    "negative-pointers": negative_pointers,
    "pointers-out-of-range": pointers_out_of_range,
    "little-endian-loops": little_endian_loops,
}
WRONG_GPS: dict[str, Callable[[], bytes]] = {
    "gps-every-field-wrong-typed": gps_every_field_wrong_typed,
    "gps-wrong-counts": gps_wrong_counts,
    "gps-numbers-for-refs": gps_numbers_for_refs,
    "gps-floats-and-blobs": gps_floats_and_blobs,
}
CONTAINERS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "jpeg": (jpeg_with_raw_exif, "photo.jpg"),  # read by ExifRead (Pillow as the fallback)
    "png": (png_with_raw_exif, "photo.png"),  # read by Pillow
    "webp": (webp_with_raw_exif, "photo.webp"),  # ExifRead
    "heic": (heic_with_raw_exif, "photo.heic"),  # Pillow, through pillow-heif
}

# Pillow warns about corrupt EXIF while it opens a JPEG (it reads the DPI from it); in production
# that is a warning and the photo is accepted, which is what these tests are about. Warnings as
# errors (the suite's setting) would turn each into a 422 instead.
ignore_pillow_warnings = pytest.mark.filterwarnings("ignore::UserWarning:PIL")

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@dataclass(frozen=True)
class Refused:
    """A file answered with an error."""

    name: str
    build: Callable[[], bytes]
    filename: str
    status: int
    code: str
    says: str = ""  # what the message must name (the detected format, the dimensions)


REFUSED = [
    Refused("html-with-jpeg-magic", lambda: b"\xff\xd8\xff" + HTML, "photo.jpg", 422,
            "photo_unreadable"),
    Refused("html-after-jfif-header",
            lambda: make_jpeg(64, 48)[:20] + HTML, "photo.jpg", 422, "photo_unreadable"),
    Refused("html", lambda: HTML, "photo.jpg", 415, "unsupported_media_type", "HTML"),
    Refused("svg-with-script",
            lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
                    b'onload="alert(1)"><script>alert(2)</script></svg>',
            "photo.svg", 415, "unsupported_media_type", "SVG/XML"),
    Refused("pdf-named-jpg",
            lambda: b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript "
                    b"/JS (app.alert(1)) >> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
            "hazard.jpg", 415, "unsupported_media_type", "PDF"),
    Refused("one-byte-ff", lambda: b"\xff", "photo.jpg", 415, "unsupported_media_type",
            "unknown"),
    Refused("one-byte-png-start", lambda: b"\x89", "photo.png", 415, "unsupported_media_type",
            "unknown"),
    Refused("png-60000x60000", lambda: png_header_only(60_000, 60_000), "bomb.png", 413,
            "image_too_large", "60000"),
    Refused("jpeg-60000x60000", lambda: jpeg_declaring(60_000, 60_000), "bomb.jpg", 413,
            "image_too_large", "60000"),
    Refused("webp-60000x60000", lambda: webp_header_only(60_000, 60_000), "bomb.webp", 413,
            "image_too_large", "60000"),
    # PNG has no reduced-size decode: 120 MP of one colour took 7 s and 1.3 GB to render.
    Refused("png-7500x7500-of-one-colour", lambda: png_of_one_colour(7500, 7500), "bomb.png",
            413, "image_too_large", "7500"),
    # Each scan is a pass over the picture: 1000 scans of 12 MP took 11 s, then 15 s to render.
    Refused("jpeg-1000-scans", lambda: progressive_jpeg_with_scans(1000, 640, 480), "scans.jpg",
            422, "photo_unreadable"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_hostile_file_is_refused_with_the_right_4xx_in_time_and_memory(client, case):
    measured = measured_post(client, case.build(), case.filename)
    measured.assert_within_limits(case.name)
    response = measured.response
    assert response.status_code == case.status, response.json
    error = response.json["error"]
    assert error["code"] == case.code and error["field"] == "photos"
    assert case.filename in error["message"] and case.says in error["message"]
    if case.status == 415:
        assert all(name in error["message"] for name in ACCEPTED_FORMATS), error["message"]


def stored_problems(app, report_id: int) -> list[str]:
    with app.app_context():
        photo = db.session.scalars(select(Photo).where(Photo.report_id == report_id)).one()
        assert photo.gps_lat is None and photo.gps_lon is None
        return photo.metadata_["problems"]


def assert_accepted_without_gps(measured: Measured, app) -> list[str]:
    """A 201 located by the region alone, no GPS stored; the metadata's problems."""
    response = measured.response
    assert response.status_code == 201, response.json
    assert response.json["location"]["source"] == "manual"
    assert response.json["location"]["lat"] is None
    [photo] = response.json["photos"]
    assert (photo["width"], photo["height"]) == (64, 48)
    return stored_problems(app, response.json["id"])


@ignore_pillow_warnings
@pytest.mark.parametrize("container", ["jpeg", "png"])
@pytest.mark.parametrize("structure", WRONG_GPS)
def test_wrong_typed_gps_is_ignored_and_the_photo_accepted(client, app, structure, container):
    wrap, filename = CONTAINERS[container]
    measured = measured_post(client, wrap(WRONG_GPS[structure]()), filename)
    measured.assert_within_limits(f"{container} {structure}")
    problems = assert_accepted_without_gps(measured, app)
    assert {"gps_invalid", "gps_empty"} & set(problems), problems


@ignore_pillow_warnings
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("structure", EXIF_STRUCTURES)
def test_absurd_exif_structure_is_ignored_and_the_photo_accepted(client, app, structure, container):
    wrap, filename = CONTAINERS[container]
    measured = measured_post(client, wrap(EXIF_STRUCTURES[structure]()), filename)
    measured.assert_within_limits(f"{container} {structure}")
    assert_accepted_without_gps(measured, app)


@ignore_pillow_warnings
@pytest.mark.parametrize(
    "structure", ["5000-gps-pointers", "5000-rational-arrays", "negative-pointers"]
)
def test_exif_that_would_take_exifread_minutes_is_left_to_pillow(client, app, structure):
    measured = measured_post(client, jpeg_with_raw_exif(EXIF_STRUCTURES[structure]()), "a.jpg")
    measured.assert_within_limits(structure)
    assert "exif_too_complex" in assert_accepted_without_gps(measured, app)


def test_an_8_mb_make_in_a_png_is_cut_short_not_scanned_whole(client, app):
    measured = measured_post(client, png_with_raw_exif(huge_make()), "photo.png")
    measured.assert_within_limits("8 MB Make")
    assert_accepted_without_gps(measured, app)


@pytest.mark.parametrize(
    "build",
    [lambda: make_jpeg(64, 48) + HTML, lambda: make_jpeg(64, 48, comment=HTML)],
    ids=["html-after-the-jpeg", "html-in-a-comment-segment"],
)
def test_jpeg_html_polyglot_is_accepted_as_the_jpeg_it_is_and_served_only_as_one(
    client, app, build
):
    admin = make_user(app, "admin")["headers"]
    data = build()
    measured = measured_post(client, data, "photo.jpg")
    measured.assert_within_limits("polyglot")
    assert_accepted_without_gps(measured, app)
    [photo] = measured.response.json["photos"]
    for url in (photo["url"], photo["thumbnail_url"]):
        rendition = fetch(client, url)  # asserts image/jpeg
        assert b"<script" not in rendition and b"<html" not in rendition
        with Image.open(io.BytesIO(rendition)) as image:
            assert image.format == "JPEG" and "comment" not in image.info
    # The original is evidence and stays byte for byte, so it is only ever served as a JPEG.
    original = client.get(f"/api/v1/photos/{photo['id']}/original", headers=admin)
    assert original.status_code == 200 and original.data == data
    assert original.mimetype == "image/jpeg"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
