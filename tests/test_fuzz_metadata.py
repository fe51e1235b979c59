"""A fixed-budget fuzz run of photo inspection and the metadata reader.

Small valid photos (JPEG, PNG, WebP and HEIC with EXIF, GPS and XMP, made by the fixtures) are
mutated the way fuzzers do -- bits flipped, bytes set to boundary values, bytes inserted, deleted
or duplicated, the file cut short -- half of the mutations aimed at the EXIF block, where the
parsers are. Every mutant goes through ``inspect_image`` (which must answer with an accepted image
or one of the project's 4xx photo errors, nothing else) and ``read_metadata`` under every format
a caller may claim (which must never raise and never need its catch-all), each within 2 s.

hypothesis runs it with a fixed number of examples and ``derandomize=True``, so every CI run
tries the same 5,000 mutants, ~35 s of CPU (~7 ms each) on this 2-core machine. A run with another
seed and more examples (to hunt, not for CI): ``HAZARD_FUZZ_EXAMPLES=50000 HAZARD_FUZZ_RANDOM=1``.
Inputs that once broke something are kept below as regression examples.
"""

from __future__ import annotations

import io
import os
import struct
import time
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazard_reporter import errors
from hazard_reporter.photos.imaging import ImageFormat, InspectedImage, inspect_image
from hazard_reporter.photos.metadata import PhotoMetadata, read_metadata
from tests.fixtures import (
    GPS_IFD_TAG,
    LONG,
    RATIONAL,
    SHORT,
    SLONG,
    XMP_WITH_GPS,
    jpeg_with_large_xmp_before_exif,
    jpeg_with_raw_exif,
    make_heic,
    make_jpeg,
    make_png,
    make_webp,
    raw_ifd,
    raw_tiff,
)

EXAMPLES = int(os.environ.get("HAZARD_FUZZ_EXAMPLES", "5000"))
DERANDOMIZE = not os.environ.get("HAZARD_FUZZ_RANDOM")
TIME_LIMIT_S = 2.0
MAX_PIXELS = 120_000_000
PHOTO_ERRORS = (
    errors.EmptyPhoto,
    errors.UnsupportedPhotoFormat,
    errors.ImageDimensionsTooLarge,
    errors.UnreadablePhoto,
)
EXIF = {
    "gps": (31.4675, 104.6796),
    "altitude": 512.5,
    "orientation": 6,
    "taken_at": "2024:05:06 07:08:09",
    "offset": "+08:00",
    "make": "Xiaomi",
    "model": "Redmi Note 9S",
}


@cache
def seeds() -> tuple[tuple[str, bytes], ...]:
    """Small valid photos of every accepted format, with every kind of metadata read."""
    return (
        ("jpeg", make_jpeg(24, 16, pattern=False, **EXIF)),
        ("jpeg-xmp", make_jpeg(24, 16, pattern=False, xmp=XMP_WITH_GPS, **EXIF)),
        ("jpeg-xmp-first", jpeg_with_large_xmp_before_exif(width=24, height=16, **EXIF)),
        ("png", make_png(24, 16, pattern=False, **EXIF)),
        ("webp", make_webp(24, 16, pattern=False, **EXIF)),
        ("heic", make_heic(24, 16, pattern=False, **EXIF)),
    )


def exif_region(data: bytes) -> tuple[int, int]:
    """Where the TIFF-structured EXIF block starts, and roughly how long it is."""
    starts = [at for at in (data.find(b"MM\x00*"), data.find(b"II*\x00")) if at >= 0]
    if not starts:
        return 0, len(data)
    return min(starts), 400


BOUNDARY_BYTES = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF]
BOUNDARY_WORDS = [0, 1, 2, 3, 4, 5, 7, 8, 12, 0x7F, 0x80, 0xFF, 0x100, 0x3E8, 0xFFFF, 0x10000,
                  0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]  # fmt: skip


# What fuzzers do to bytes; cutting the file short is one kind in twelve (it mostly gives a 422).
MUTATIONS = ["flip"] * 2 + ["byte"] * 2 + ["word"] * 3 + ["insert", "delete"] + ["duplicate"] * 2
MUTATIONS.append("cut")


@st.composite
def mutants(draw) -> tuple[str, bytes]:
    """A seed with 1-6 mutations, most in the EXIF block, the others anywhere."""
    name, seed = draw(st.sampled_from(seeds()))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        start, length = exif_region(data)
        if draw(st.integers(0, 9)) < 6:
            at = draw(st.integers(start, min(len(data), start + length) - 1))
        else:  # anywhere but the signature, most of the time (a broken one is just a 415)
            low = 0 if draw(st.integers(0, 9)) == 0 else min(12, len(data) - 1)
            at = draw(st.integers(low, len(data) - 1))
        kind = draw(st.sampled_from(MUTATIONS))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[at] = draw(st.sampled_from(BOUNDARY_BYTES) | st.integers(0, 255))
        elif kind == "word":
            size = draw(st.sampled_from([2, 4]))
            value = draw(st.sampled_from(BOUNDARY_WORDS)) & (0xFFFF if size == 2 else 0xFFFFFFFF)
            order = draw(st.sampled_from(["big", "little"]))
            data[at : at + size] = value.to_bytes(size, order)
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "duplicate":
            length = draw(st.integers(1, 64))
            data[at:at] = data[at : at + length] * draw(st.integers(1, 4))
        else:
            del data[at:]
    return name, bytes(data)


def check(data: bytes, label: str = "input") -> InspectedImage | errors.HazardError:
    """Inspect ``data`` and read its metadata as every format: only 4xx photo errors, in time."""
    started = time.perf_counter()
    try:
        outcome: InspectedImage | errors.HazardError = inspect_image(
            io.BytesIO(data), filename="fuzz.jpg", max_pixels=MAX_PIXELS
        )
    except PHOTO_ERRORS as refused:
        assert 400 <= refused.status < 500 and refused.field == "photos"
        outcome = refused
    else:
        assert "metadata_error" not in outcome.metadata.problems
    for fmt in ImageFormat:  # whatever a caller claims the format is
        meta = read_metadata(io.BytesIO(data), fmt)
        assert isinstance(meta, PhotoMetadata)
        assert "metadata_error" not in meta.problems, (fmt, meta.problems)
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_S, f"{label} took {elapsed:.2f}s"
    return outcome


# Pillow warns about corrupt EXIF and truncated data while it reads; in production those are
# warnings and the reading goes on, so the fuzz run takes the same paths.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutants())
def test_mutated_photos_get_a_4xx_or_an_image_never_an_exception_or_a_hang(mutant):
    name, data = mutant
    check(data, name)


def test_the_seeds_themselves_are_accepted_with_their_gps():
    for name, data in seeds():
        result = check(data, name)
        assert isinstance(result, InspectedImage), (name, result)
        assert result.metadata.gps_lat == pytest.approx(EXIF["gps"][0], abs=1e-5), name


# --- regression examples: inputs that broke something once ---------------------------------------


def _rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">II", n, d) for n, d in pairs)


REGRESSIONS = {
    # 5,000 entries claiming 999 rationals each: ExifRead decoded all of them (45 s, 750 MB).
    "exifread-rational-arrays": lambda: jpeg_with_raw_exif(
        raw_tiff({8: raw_ifd([(0x1000 + i, RATIONAL, 999, 8) for i in range(5000)])})
    ),
    # 5,000 GPS pointers to one IFD claiming 65,535 entries: ExifRead never finished.
    "exifread-gps-pointers": lambda: jpeg_with_raw_exif(
        raw_tiff({8: raw_ifd([(GPS_IFD_TAG, LONG, 1, 60_014)] * 5000), 60_014: b"\xff\xff"})
    ),
    # GPS pointers of type SLONG -10: ExifRead seeks before the block, reads the APP1 marker as
    # an IFD of 65,505 entries, 0.26 s per pointer (found after the budget above, by reading
    # ExifRead's code; the budget now counts a negative pointer as over it).
    "exifread-negative-pointers": lambda: jpeg_with_raw_exif(
        raw_tiff({8: raw_ifd([(GPS_IFD_TAG, SLONG, 1, struct.pack(">i", -10))] * 5000)})
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@pytest.mark.parametrize("name", REGRESSIONS)
def test_inputs_that_once_hung_or_bloated_the_reader_are_read_in_time(name):
    result = check(REGRESSIONS[name](), name)
    assert isinstance(result, InspectedImage)
    assert "exif_too_complex" in result.metadata.problems
    assert result.metadata.gps_lat is None


def test_gps_refs_written_as_numbers_give_no_position():
    # Sydney's rationals with refs as SHORT 'S' and SHORT 'E': read "as signed" they put the
    # hazard in the northern hemisphere.
    gps = raw_ifd(
        [
            (1, SHORT, 1, struct.pack(">H", ord("S"))),
            (2, RATIONAL, 3, 200),
            (3, SHORT, 1, struct.pack(">H", ord("E"))),
            (4, RATIONAL, 3, 224),
        ]
    )
    tiff = raw_tiff(
        {
            8: raw_ifd([(GPS_IFD_TAG, LONG, 1, 26)]),
            26: gps,
            200: _rationals((33, 1), (52, 1), (768, 100)),
            224: _rationals((151, 1), (12, 1), (3348, 100)),
        }
    )
    result = check(jpeg_with_raw_exif(tiff), "numbers for refs")
    assert isinstance(result, InspectedImage)
    assert result.metadata.gps_lat is None and "gps_invalid" in result.metadata.problems
