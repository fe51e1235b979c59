"""Format sniffing, validating uploads, and metadata-free upright derivatives: self-made files and
the real-world corpus (genuine phone photos, HEIC, and hostile files)."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagehash
import pytest
from PIL import Image, ImageCms, ImageOps

from hazard_reporter import errors
from hazard_reporter.photos import imaging
from hazard_reporter.photos.imaging import (
    Derivatives,
    ImageFormat,
    InspectedImage,
    describe_format,
    inspect_image,
    make_derivatives,
    sniff_format,
)
from tests.corpus import corpus_path, entries, entry, requires_corpus
from tests.fixtures import (
    ASCII,
    LONG,
    XMP_WITH_GPS,
    jpeg_declaring,
    jpeg_with_exif_bomb,
    jpeg_with_raw_exif,
    make_gif,
    make_heic,
    make_jpeg,
    make_png,
    make_tiff,
    make_webp,
    photo_image,
    png_header_only,
    raw_ifd,
    raw_tiff,
    webp_header_only,
)

MAX_PIXELS = 120_000_000
GPS_TOLERANCE = 1e-5
TIME_BUDGET_S = 2.0
SHANGHAI = (31.2304, 121.4737)
PHOTO_ERRORS = (
    errors.EmptyPhoto,
    errors.UnsupportedPhotoFormat,
    errors.ImageDimensionsTooLarge,
    errors.UnreadablePhoto,
)
# exiftool groups that carry no metadata of the photographer's; anything else must not survive.
HARMLESS_GROUPS = {"ExifTool", "System", "File", "JFIF", "Composite"}


def inspect(data: bytes, filename: str = "photo.jpg", max_pixels: int = MAX_PIXELS):
    return inspect_image(io.BytesIO(data), filename=filename, max_pixels=max_pixels)


def derive(data: bytes) -> Derivatives:
    return make_derivatives(io.BytesIO(data))


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def assert_carries_no_metadata(jpeg: bytes, tmp_path: Path) -> None:
    """Neither Pillow nor exiftool finds EXIF, XMP, GPS, ICC or a comment in a rendition."""
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert not image.getexif()
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(image.info)
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed; Pillow found no metadata")
    path = tmp_path / "rendition.jpg"
    path.write_bytes(jpeg)
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-G1", str(path)], capture_output=True, text=True, check=True
    ).stdout
    [tags] = json.loads(out)
    groups = {key.split(":", 1)[0] for key in tags if ":" in key}
    assert groups <= HARMLESS_GROUPS, groups - HARMLESS_GROUPS
    assert not [key for key in tags if "GPS" in key or key.endswith(":Comment")]


def quadrant_colours(image: Image.Image) -> list[tuple[int, ...]]:
    """The mean colour near the centre of each quadrant: top-left, top-right, bottom-left,
    bottom-right."""
    image = image.convert("RGB")
    width, height = image.size
    colours = []
    for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
        box = (int(width * fx) - 2, int(height * fy) - 2, int(width * fx) + 2, int(height * fy) + 2)
        patch = image.resize((1, 1), Image.Resampling.BOX, box=box)
        colours.append(patch.getpixel((0, 0)))
    return colours


def close_colours(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# --- sniffing -----------------------------------------------------------------------------------


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00" * 8


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ImageFormat.JPEG),
        (b"\xff\xd8\xff\xe1\x12\x34Exif", ImageFormat.JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ImageFormat.PNG),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ImageFormat.WEBP),
        (ftyp(b"heic", b"mif1", b"heic"), ImageFormat.HEIF),
        (ftyp(b"heix", b"mif1"), ImageFormat.HEIF),
        (ftyp(b"mif1", b"heic"), ImageFormat.HEIF),
        (ftyp(b"MiHE", b"MiHE", b"miaf", b"MiHB", b"heic"), ImageFormat.HEIF),  # Xiaomi
        (ftyp(b"msf1", b"msf1", b"hevc"), ImageFormat.HEIF),
        (ftyp(b"mif1", b"mif1"), ImageFormat.HEIF),
        (ftyp(b"avif", b"mif1", b"miaf"), None),
        (ftyp(b"mif1", b"avif", b"miaf"), None),
        (ftyp(b"isom", b"isom", b"mp41"), None),
        (ftyp(b"qt  ", b"qt  "), None),
        (b"II*\x00\x08\x00\x00\x00", None),
        (b"GIF89a\x20\x00", None),
        (b"\x00\x00\x01\x00\x01\x00", None),
        (b"\xff\x4f\xff\x51\x00\x2f", None),
        (b"%PDF-1.7\n", None),
        (b"ID3\x03\x00", None),
        (b"\xff\xd8\xfe\xdc\x00\x6fJFIF", None),  # JPEG-looking, but no FFD8FF
        (b"\xff", None),
        (b"", None),
    ],
)
def test_format_is_sniffed_from_the_first_bytes(head, expected):
    assert sniff_format(head[:32]) == expected


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (make_tiff()[:32], "TIFF"),
        (make_gif()[:32], "GIF"),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10", "ICO"),
        (b"\xff\x4f\xff\x51\x00\x2f\x00\x00", "JPEG 2000"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ", "JPEG 2000"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b'<?xml version="1.0" encoding="UTF-8"?><svg', "SVG/XML"),
        (b'\xef\xbb\xbf  <svg xmlns="http://www.w3.org/2000/svg">', "SVG/XML"),
        (b"<!DOCTYPE html><html><head>", "HTML"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE", "MP3 audio"),
        (b"\xff\xfb\x90\x64\x00\x00\x00\x00", "MP3 audio"),
        (ftyp(b"avif", b"mif1"), "AVIF"),
        (ftyp(b"isom", b"mp41"), "MP4/MOV video"),
        (b"BM\x36\x00\x0c\x00\x00\x00", "BMP"),
        (b"\x00", "unknown"),
        (make_jpeg()[:32], "JPEG"),
        (make_heic()[:32], "HEIF"),
    ],
)
def test_what_was_sent_is_described_for_the_415_message(head, name):
    assert describe_format(head[:32]) == name


def test_formats_know_their_media_type_and_extension():
    assert [(f.value, f.mime, f.extension) for f in ImageFormat] == [
        ("jpeg", "image/jpeg", "jpg"),
        ("png", "image/png", "png"),
        ("webp", "image/webp", "webp"),
        ("heif", "image/heif", "heic"),
    ]


# --- validating self-made uploads ---------------------------------------------------------------


def test_jpeg_with_gps_is_accepted_with_its_size_and_position():
    result = inspect(make_jpeg(800, 600, gps=SHANGHAI, make="Xiaomi"))
    assert result == InspectedImage(ImageFormat.JPEG, 800, 600, result.metadata)
    assert result.metadata.gps_lat == pytest.approx(SHANGHAI[0], abs=1e-7)
    assert result.metadata.make == "Xiaomi"


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_orientations_that_turn_the_picture_swap_the_reported_size(orientation):
    result = inspect(make_jpeg(640, 480, orientation=orientation))
    assert (result.width, result.height) == (480, 640)
    assert result.metadata.orientation == orientation


@pytest.mark.parametrize(
    ("maker", "fmt"),
    [(make_png, ImageFormat.PNG), (make_webp, ImageFormat.WEBP), (make_heic, ImageFormat.HEIF)],
)
def test_png_webp_and_heic_are_accepted_with_their_metadata(maker, fmt):
    result = inspect(maker(640, 480, gps=SHANGHAI, taken_at="2024:03:04 05:06:07"), "IMG.dat")
    assert result.format is fmt
    assert (result.width, result.height) == (640, 480)
    assert result.metadata.gps_lon == pytest.approx(SHANGHAI[1], abs=1e-7)
    assert result.metadata.taken_at is not None


def test_heic_with_rotation_is_reported_upright_once():
    # pillow-heif applies the HEIF rotation itself; applying EXIF orientation again would
    # turn a portrait photo back to landscape.
    result = inspect(make_heic(640, 480, orientation=6), "IMG_0001.HEIC")
    assert result.format is ImageFormat.HEIF
    assert (result.width, result.height) == (480, 640)
    assert result.metadata.orientation == 6


def test_heic_named_jpg_is_accepted_as_heif_by_its_bytes():
    assert inspect(make_heic(), "IMG_0001.jpg").format is ImageFormat.HEIF


def test_empty_upload_is_refused_as_empty():
    with pytest.raises(errors.EmptyPhoto) as caught:
        inspect(b"", "empty.jpg")
    assert caught.value.status == 400 and caught.value.field == "photos"
    assert "empty.jpg" in caught.value.message("en")


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (make_tiff(), "TIFF"),
        (make_gif(), "GIF"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG/XML"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n", "PDF"),
        (b"\xff", "unknown"),
    ],
    ids=["tiff", "gif", "svg", "pdf", "one-byte"],
)
def test_files_that_are_not_phone_photos_are_unsupported_media(data, detected):
    with pytest.raises(errors.UnsupportedPhotoFormat) as caught:
        inspect(data, "upload.jpg")
    assert caught.value.status == 415
    assert caught.value.params["detected"] == detected
    assert detected in caught.value.message("en")


def test_truncated_jpeg_is_unreadable():
    data = make_jpeg(1200, 900)
    with pytest.raises(errors.UnreadablePhoto) as caught:
        inspect(data[: len(data) // 2])
    assert caught.value.status == 422


@pytest.mark.parametrize(
    "data",
    [
        make_png()[:4000],
        make_webp()[:2000],
        make_heic()[:1500],
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        png_header_only(0, 10),
        png_header_only(64, 48),
        png_header_only(64, 48, with_data=True),
    ],
    ids=[
        "truncated-png",
        "truncated-webp",
        "truncated-heic",
        "jpeg-header-only",
        "zero-width",
        "no-pixel-data",
        "too-little-pixel-data",
    ],
)
def test_broken_photos_of_accepted_formats_are_unreadable(data):
    with pytest.raises(errors.UnreadablePhoto):
        inspect(data)


def heic_running_to_the_end() -> bytes:
    """The suite's HEIC with its last box (the image data) said to run to the end of the file
    (size 0): only the item locations can tell it was cut short."""
    data = bytearray(make_heic())
    mdat = data.index(b"mdat") - 4
    data[mdat : mdat + 4] = bytes(4)
    return bytes(data)


@pytest.mark.parametrize("decode", [True, False], ids=["decoded", "undecoded"])
@pytest.mark.parametrize(
    "build",
    [lambda: make_heic()[:-100], lambda: heic_running_to_the_end()[:-100]],
    ids=["box-past-the-end", "item-past-the-end"],
)
def test_a_heic_cut_short_at_its_end_is_unreadable(build, decode):
    # libheif decodes the tiles it has and fills the rest with green, without a word: a photo
    # losing its last part on the way had been kept as evidence.
    whole_size = len(make_heic())
    data = build()
    assert len(data) == whole_size - 100
    with pytest.raises(errors.UnreadablePhoto):
        inspect_image(io.BytesIO(data), filename="a.heic", max_pixels=MAX_PIXELS, decode=decode)


@pytest.mark.parametrize(
    "tail", [b"\x12\x34\x56\x78junkjunkjunk", bytes(16)], ids=["box-like", "zeros"]
)
def test_a_whole_heic_with_bytes_after_its_last_box_is_accepted(tail):
    # Bytes after the last box that only look like a box header (saying it runs past the end)
    # are no sign of a cut: the pictures are whole, and they decode.
    data = make_heic() + tail
    checked = inspect_image(io.BytesIO(data), filename="a.heic", max_pixels=MAX_PIXELS)
    assert checked.format is ImageFormat.HEIF


def test_a_whole_heic_whose_data_runs_to_the_end_is_accepted():
    data = heic_running_to_the_end()
    checked = inspect_image(io.BytesIO(data), filename="a.heic", max_pixels=MAX_PIXELS)
    assert checked.format is ImageFormat.HEIF


EMPTY_CHUNK = b"\x00\x00\x00\x00teSt\x4d\xfb\x5a\xae"  # an empty ancillary PNG chunk, valid CRC


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_png(64, 48)[:33] + EMPTY_CHUNK * 2_000_000 + make_png(64, 48)[33:],
        lambda: b"\xff\xd8" + b"\xff" * 20_000_000,
        lambda: b"\xff\xd8\xff" + b"\x00" * 20_000_000,
        lambda: b"\xff\xd8" + b"\xff\xd0" * 10_000_000,
        lambda: b"\xff\xd8" + b"\xff\xfe\x00\x02" * 5_000_000 + make_jpeg(64, 48)[2:],
    ],
    ids=["png-millions-of-chunks", "jpeg-fill-bytes", "jpeg-junk", "jpeg-markers", "jpeg-comments"],
)
def test_uploads_padded_to_make_header_parsing_slow_are_refused_quickly(build):
    # Pillow parses these headers in Python, one byte or chunk at a time (4-6 s for 25 MB).
    data = build()
    started = time.perf_counter()
    with pytest.raises(errors.UnreadablePhoto):
        inspect(data)
    assert time.perf_counter() - started < 0.5


def test_a_little_junk_between_jpeg_segments_is_tolerated():
    original = make_jpeg(64, 48)
    after_app0 = 4 + int.from_bytes(original[4:6], "big")
    result = inspect(original[:after_app0] + b"\x00" * 1000 + original[after_app0:])
    assert (result.width, result.height) == (64, 48)


def test_absurd_png_header_is_refused_before_decoding():
    started = time.perf_counter()
    with pytest.raises(errors.ImageDimensionsTooLarge) as caught:
        inspect(png_header_only(60_000, 60_000), "bomb.png")
    assert time.perf_counter() - started < 0.5
    assert caught.value.status == 413
    assert caught.value.params == {
        "filename": "bomb.png",
        "width": 60_000,
        "height": 60_000,
        "limit_mp": 50.0,
    }


def test_absurd_webp_canvas_is_refused_before_the_decoder_allocates_it():
    with pytest.raises(errors.ImageDimensionsTooLarge) as caught:
        inspect(webp_header_only(16_000, 16_000), "bomb.webp")
    assert (caught.value.params["width"], caught.value.params["height"]) == (16_000, 16_000)


def test_pixel_limit_is_ours_not_pillows_default():
    # 100 MP is above Pillow's default bomb limit (~89.5 MP, a warning and so an error here)
    # but within the configured 120 MP for a JPEG (decoded at 1/8 scale; libjpeg fills in the
    # missing data).
    assert inspect(jpeg_declaring(10_000, 10_000)).width == 10_000
    with pytest.raises(errors.ImageDimensionsTooLarge):
        inspect(make_jpeg(400, 300), max_pixels=100_000)


@pytest.mark.parametrize(
    ("data", "filename"),
    [(png_header_only(8000, 7000), "big.png"), (webp_header_only(8000, 7000), "big.webp")],
    ids=["png", "webp"],
)
def test_lossless_formats_over_50_megapixels_are_too_large(data, filename):
    # PNG and WebP have no reduced-size decode: a 116 KB PNG of 120 MP cost 7 s and 1.3 GB.
    with pytest.raises(errors.ImageDimensionsTooLarge) as caught:
        inspect(data, filename)
    assert caught.value.status == 413
    assert caught.value.params == {
        "filename": filename,
        "width": 8000,
        "height": 7000,
        "limit_mp": 50.0,
    }


def test_a_jpeg_of_56_megapixels_is_still_within_the_limit():
    # JPEG decodes at 1/8 scale, and keeps the 120 MP limit.
    assert inspect(jpeg_declaring(8000, 7000)).width == 8000


_SCAN_DATA_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def progressive_jpeg_with_scans(scans: int, width: int = 64, height: int = 48) -> bytes:
    """A progressive JPEG whose last scan (with the tables before it) is repeated until the file
    holds ``scans`` scans: a few bytes per scan, and a whole pass over the picture to decode."""
    buffer = io.BytesIO()
    photo_image(width, height).save(buffer, "JPEG", progressive=True, quality=75)
    data = buffer.getvalue()
    segments, at = [], 2
    while data[at + 1] != 0xD9:
        end = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if data[at + 1] == 0xDA:
            end = _SCAN_DATA_END.search(data, end).start()
        segments.append((data[at + 1], data[at:end]))
        at = end
    markers = [marker for marker, _ in segments]
    last = len(markers) - 1 - markers[::-1].index(0xDA)
    first = last
    while markers[first - 1] == 0xC4:
        first -= 1
    repeated = b"".join(segment for _, segment in segments[first : last + 1])
    extra = scans - markers.count(0xDA)
    assert extra >= 0, f"Pillow already writes {markers.count(0xDA)} scans"
    return b"\xff\xd8" + b"".join(s for _, s in segments) + repeated * extra + b"\xff\xd9"


def test_an_ordinary_progressive_jpeg_is_accepted():
    assert progressive_jpeg_with_scans(10).count(b"\xff\xda") == 10  # libjpeg's own script
    result = inspect(progressive_jpeg_with_scans(10, 640, 480))
    assert (result.width, result.height) == (640, 480)
    assert derive(progressive_jpeg_with_scans(10, 640, 480)).display.width == 640


def test_a_jpeg_of_a_hundred_scans_is_accepted_and_one_more_is_unreadable():
    # Every scan is a pass over the whole picture: 1000 scans of 12 MP took 11 s to inspect and
    # 15 s to render from a 0.12 MB file. Phones write 1 scan, libjpeg's progressive mode 10.
    accepted = inspect(progressive_jpeg_with_scans(100))
    assert (accepted.width, accepted.height) == (64, 48)
    with pytest.raises(errors.UnreadablePhoto) as caught:
        inspect_image(
            io.BytesIO(progressive_jpeg_with_scans(101)),
            filename="scans.jpg",
            max_pixels=MAX_PIXELS,
        )
    assert caught.value.status == 422 and caught.value.field == "photos"
    assert "scans.jpg" in caught.value.message("zh")


def test_a_jpeg_of_a_thousand_scans_is_refused_quickly_and_never_rendered():
    data = progressive_jpeg_with_scans(1000, 1600, 1200)
    started = time.perf_counter()
    with pytest.raises(errors.UnreadablePhoto):
        inspect(data)
    assert time.perf_counter() - started < 0.5
    # Intake without decoding (a task queue) reads the headers only, not the scans (1-3 ms for
    # every 4 MB upload): the worker refuses it before decoding, in no time.
    undecoded = inspect_image(
        io.BytesIO(data), filename="scans.jpg", max_pixels=MAX_PIXELS, decode=False
    )
    assert undecoded.width == 1600
    started = time.perf_counter()
    with pytest.raises(ValueError, match="implausibly many scans"):
        derive(data)
    assert time.perf_counter() - started < 0.5


def jpeg_with_exif_thumbnail(width: int = 640, height: int = 480) -> bytes:
    """A JPEG whose EXIF (APP1, before the picture) holds a thumbnail JPEG, as cameras write it:
    so the file's first start-of-scan and end-of-image markers are the thumbnail's."""
    thumbnail = make_jpeg(160, 120)
    ifd0 = raw_ifd([(0x010F, ASCII, 4, b"Abc\0")], next_ifd=26)  # 18 bytes at 8
    ifd1 = raw_ifd([(0x0201, LONG, 1, 56), (0x0202, LONG, 1, len(thumbnail))])  # 30 at 26
    return jpeg_with_raw_exif(raw_tiff({8: ifd0, 26: ifd1, 56: thumbnail}), width, height)


@pytest.mark.parametrize("decode", [True, False])
def test_a_jpeg_cut_short_after_its_exif_thumbnail_is_unreadable(decode):
    data = jpeg_with_exif_thumbnail()
    cut = data[: len(data) * 2 // 3]
    assert cut.count(b"\xff\xda") == 2 and cut.count(b"\xff\xd9") == 1  # the thumbnail's
    with pytest.raises(errors.UnreadablePhoto):
        inspect_image(io.BytesIO(cut), filename="cut.jpg", max_pixels=MAX_PIXELS, decode=decode)
    whole = inspect_image(io.BytesIO(data), filename="a.jpg", max_pixels=MAX_PIXELS, decode=decode)
    assert (whole.width, whole.height) == (640, 480)


# Pillow warns about each bogus entry while reading the DPI from EXIF at open; in production that is
# a warning and the photo is accepted, which is what this test is about (filterwarnings = error
# would turn it into a 422 instead).
@pytest.mark.filterwarnings("ignore:Tag data larger than file:UserWarning")
def test_upload_with_an_exif_bomb_is_inspected_in_bounded_time():
    started = time.perf_counter()
    result = inspect(jpeg_with_exif_bomb())
    assert time.perf_counter() - started < TIME_BUDGET_S
    assert (result.width, result.height) == (64, 48)


def test_inspection_leaves_the_upload_stream_open_for_storing():
    stream = io.BytesIO(make_jpeg(gps=SHANGHAI))
    inspect_image(stream, filename="a.jpg", max_pixels=MAX_PIXELS)
    stream.seek(0)
    assert stream.read(3) == b"\xff\xd8\xff"
    broken = io.BytesIO(make_jpeg()[:300])
    with pytest.raises(errors.UnreadablePhoto):
        inspect_image(broken, filename="b.jpg", max_pixels=MAX_PIXELS)
    assert not broken.closed


# --- derivatives of self-made photos ------------------------------------------------------------


def test_derivatives_fit_their_bounds_and_are_never_upscaled():
    large = derive(make_jpeg(4000, 3000))
    assert (large.display.width, large.display.height) == (1600, 1200)
    assert (large.thumbnail.width, large.thumbnail.height) == (400, 300)
    assert decoded(large.display.data).size == (1600, 1200)
    small = derive(make_jpeg(320, 200))
    assert (small.display.width, small.display.height) == (320, 200)
    assert (small.thumbnail.width, small.thumbnail.height) == (320, 200)
    assert len(large.phash) == 16 and int(large.phash, 16) >= 0


def test_orientation_6_rotates_the_derivative_upright():
    result = derive(make_jpeg(640, 480, orientation=6))
    assert (result.display.width, result.display.height) == (480, 640)
    assert (result.thumbnail.width, result.thumbnail.height) == (300, 400)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_like_exif_transpose(orientation):
    data = make_jpeg(640, 480, orientation=orientation)
    expected = ImageOps.exif_transpose(decoded(data))
    display = decoded(derive(data).display.data)
    assert display.size == expected.size
    for got, want in zip(quadrant_colours(display), quadrant_colours(expected), strict=True):
        assert close_colours(got, want), (got, want)


def test_heic_derivative_is_not_rotated_twice():
    from_heic = decoded(derive(make_heic(640, 480, orientation=6)).display.data)
    from_jpeg = decoded(derive(make_jpeg(640, 480, orientation=6)).display.data)
    assert from_heic.size == from_jpeg.size == (480, 640)
    for got, want in zip(quadrant_colours(from_heic), quadrant_colours(from_jpeg), strict=True):
        assert close_colours(got, want), (got, want)


SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize(
    ("size", "orientation", "icc_profile"),
    [((1800, 1200), 6, SRGB_ICC), ((800, 600), 1, None), ((300, 200), None, SRGB_ICC)],
    ids=["resized-rotated-with-icc", "display-size-as-is", "small-with-icc"],
)
def test_derivatives_carry_no_exif_xmp_gps_or_comment(size, orientation, icc_profile, tmp_path):
    data = make_jpeg(
        *size,
        gps=SHANGHAI,
        altitude=12.0,
        orientation=orientation,
        taken_at="2024:05:06 07:08:09",
        make="Apple",
        model="iPhone 15",
        xmp=XMP_WITH_GPS,
        comment=b"reporter: Zhang San",
        icc_profile=icc_profile,
    )
    result = derive(data)
    for rendition in (result.display, result.thumbnail):
        assert b"Zhang San" not in rendition.data and b"iPhone" not in rendition.data
        assert_carries_no_metadata(rendition.data, tmp_path)


@pytest.mark.parametrize(
    "data",
    [
        make_png(mode="RGBA"),
        make_png(mode="P"),
        make_png(mode="LA"),
        make_png(mode="L"),
        make_png(mode="1"),
        make_png(mode="I;16"),
        make_jpeg(mode="CMYK"),
        make_jpeg(mode="L"),
        make_webp(),
        make_heic(),
    ],
    ids=["rgba", "palette", "la", "grey", "bilevel", "16-bit", "cmyk", "grey-jpeg", "webp", "heic"],
)
def test_every_mode_becomes_an_rgb_jpeg_that_still_shows_the_picture(data, tmp_path):
    result = derive(data)
    display = decoded(result.display.data)
    assert display.mode == "RGB" and display.size == (640, 480)
    low, high = zip(*display.getextrema(), strict=True)
    assert max(high) - min(low) > 60  # not flattened to one colour (e.g. 16-bit clipped white)
    assert_carries_no_metadata(result.display.data, tmp_path)


def test_transparent_areas_become_white():
    image = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    display = decoded(derive(buffer.getvalue()).display.data)
    assert close_colours(display.getpixel((50, 50)), (255, 255, 255), tolerance=3)


def linear_rgb_profile() -> bytes:
    """An ICC v2 RGB display profile with sRGB's primaries and a linear tone curve (gamma 1.0):
    converted to sRGB, its colours come out much lighter."""

    def xyz(*values: float) -> bytes:
        return b"XYZ \0\0\0\0" + struct.pack(">3i", *(round(v * 65536) for v in values))

    white = xyz(0.9642, 1.0, 0.8249)  # D50
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"  # gamma 1.0 (u8.8)
    tags = [
        (b"wtpt", white),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = data = b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(
        ">I4sI4s4s4s", offset + len(data), b"", 0x02100000, b"mntr", b"RGB ", b"XYZ "
    )
    header += b"\0" * 12 + b"acsp" + b"\0" * 28 + white[8:] + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + data


LINEAR_RGB_ICC = linear_rgb_profile()


@pytest.mark.parametrize(
    ("size", "orientation"),
    [((2000, 1500), None), ((300, 200), None), ((300, 200), 6)],
    ids=["resized", "kept-at-its-size", "kept-at-its-size-rotated"],
)
def test_colours_of_a_photo_with_another_profile_are_converted_to_srgb(size, orientation):
    colour = (200, 60, 40)
    expected = ImageCms.profileToProfile(
        Image.new("RGB", (1, 1), colour),
        ImageCms.ImageCmsProfile(io.BytesIO(LINEAR_RGB_ICC)),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        outputMode="RGB",
    ).getpixel((0, 0))
    assert not close_colours(expected, colour, tolerance=20)  # the profile does change colours
    data = make_jpeg(
        *size, color=colour, pattern=False, orientation=orientation, icc_profile=LINEAR_RGB_ICC
    )
    result = derive(data)
    for rendition in (result.display, result.thumbnail):
        image = decoded(rendition.data)
        got = image.getpixel((image.width // 2, image.height // 2))
        assert close_colours(got, expected, tolerance=4), (got, expected)


def test_renditions_made_in_parallel_threads_match_those_made_one_at_a_time():
    # Colour transforms are built once per profile and shared between threads.
    photos = [
        make_jpeg(1800, 1200, orientation=6, icc_profile=LINEAR_RGB_ICC),
        make_jpeg(640, 480, icc_profile=LINEAR_RGB_ICC),
        make_jpeg(640, 480, icc_profile=SRGB_ICC),
        make_jpeg(640, 480),
    ]
    expected = [derive(data) for data in photos]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(derive, photos * 3))
    assert results == expected * 3


def test_colour_transforms_are_remembered_for_a_few_profiles_only():
    for index in range(imaging._CONVERSIONS_MAX + 4):
        imaging._srgb_conversion(b"not a profile %d" % index, "RGB")
    assert len(imaging._CONVERSIONS) == imaging._CONVERSIONS_MAX
    # A broken profile is remembered as "no transform": the colours are kept, the profile dropped.
    assert imaging._srgb_conversion(b"not a profile 5", "RGB").transform is None


def test_an_srgb_profile_is_dropped_without_changing_a_pixel():
    untagged = derive(make_jpeg(1800, 1200, orientation=6))
    tagged = derive(make_jpeg(1800, 1200, orientation=6, icc_profile=SRGB_ICC))
    assert tagged.display.data == untagged.display.data
    assert tagged.thumbnail.data == untagged.thumbnail.data
    assert tagged.phash == untagged.phash


def test_the_same_picture_gets_the_same_phash_in_any_format():
    hashes = [
        imagehash.hex_to_hash(derive(maker(1200, 900)).phash)
        for maker in (make_jpeg, make_png, make_webp, make_heic)
    ]
    assert all(h - hashes[0] <= 4 for h in hashes)
    upside_down = imagehash.hex_to_hash(derive(make_jpeg(1200, 900, orientation=3)).phash)
    assert upside_down - hashes[0] > 10  # the hash is of the upright picture


def test_phash_is_the_perceptual_hash_of_the_upright_display_picture():
    result = derive(make_jpeg(1800, 1200, orientation=6))
    display = decoded(result.display.data)
    assert display.size == (1067, 1600)
    assert imagehash.hex_to_hash(result.phash) - imagehash.phash(display) <= 2


def test_unsupported_stream_is_refused_by_make_derivatives():
    with pytest.raises(ValueError, match="TIFF"):
        derive(make_tiff())


# --- the real-world corpus ----------------------------------------------------------------------

TOO_LARGE = "heic/samsung_s24ultra_200mp_orient6.heic"
NOT_A_PHONE_FORMAT = "real/parrot_sequoia_gps.tif"
DERIVATIVE_FILES = [
    "real/orientation_landscape_3.jpg",
    "real/orientation_landscape_6.jpg",
    "real/orientation_landscape_8.jpg",
    "real/orientation_portrait_5.jpg",
    "real/samsung_sm-j327t1_orient6.jpg",
    "real/canon_a85_orient8.jpg",
    "real/apple_iphonex_gps_orient6.webp",
    "heic/apple_iphonexr_gps_orient6.heic",
    "real/photoshop_xmp_before_exif.jpg",
    "real/imagemagick_exif_orient3.png",
    "real/hmd_nokia83_gps_offsettime.jpg",
]


def usable_position(item: dict) -> tuple[float, float] | None:
    """exiftool's position where the manifest does not flag it as unusable."""
    truth = item["ground_truth"]
    lat, lon = truth["gps_lat"], truth["gps_lon"]
    if lat is None or lon is None or item.get("ground_truth_notes") or (lat, lon) == (0, 0):
        return None
    return lat, lon


def upright_size(item: dict) -> tuple[int, int]:
    """The displayed size: HEIC as pillow-heif reports it (already rotated), others swapped for
    orientations 5-8."""
    if item["file"].startswith("heic/"):
        return tuple(item["pillow"]["size"])
    truth = item["ground_truth"]
    if truth["orientation"] in (5, 6, 7, 8):
        return truth["height"], truth["width"]
    return truth["width"], truth["height"]


def inspect_file(rel: str) -> InspectedImage:
    with corpus_path(rel).open("rb") as fp:
        return inspect_image(fp, filename=Path(rel).name, max_pixels=MAX_PIXELS)


@requires_corpus
@pytest.mark.parametrize("item", entries("real") + entries("heic"), ids=lambda e: e["file"])
def test_real_phone_photo_is_accepted_upright_and_located_as_exiftool_says(item):
    if item["file"] == NOT_A_PHONE_FORMAT:
        with pytest.raises(errors.UnsupportedPhotoFormat) as refused:
            inspect_file(item["file"])
        assert refused.value.status == 415 and refused.value.params["detected"] == "TIFF"
        return
    if item["file"] == TOO_LARGE:
        started = time.perf_counter()
        with pytest.raises(errors.ImageDimensionsTooLarge) as refused:
            inspect_file(item["file"])
        assert time.perf_counter() - started < 1.0  # from the header, nothing decoded
        assert refused.value.status == 413
        assert {refused.value.params["width"], refused.value.params["height"]} == {16320, 12240}
        assert "16320" in refused.value.message("en")
        return

    result = inspect_file(item["file"])
    truth = item["ground_truth"]
    assert (result.width, result.height) == upright_size(item)
    assert result.metadata.orientation == truth["orientation"]
    assert result.metadata.make == (truth["make"] or None)
    assert result.metadata.model == (truth["model"] or None)
    position = usable_position(item)
    if position is None:  # none, empty, 0,0, or the FLIR maker-note GPS
        assert (result.metadata.gps_lat, result.metadata.gps_lon) == (None, None)
    else:
        assert result.metadata.gps_lat == pytest.approx(position[0], abs=GPS_TOLERANCE)
        assert result.metadata.gps_lon == pytest.approx(position[1], abs=GPS_TOLERANCE)
    if truth["offset_time_original"] == "+03:00":  # the Nokia 8.3
        assert result.metadata.utc_offset_minutes == 180


@requires_corpus
@pytest.mark.parametrize(
    "rel", [e["file"] for e in entries("real") if e["file"].endswith(".jpg")], ids=str
)
def test_a_real_jpeg_passes_undecoded_whole_and_is_unreadable_cut_in_half(rel):
    # Intake under a task queue decodes nothing: the end of the main picture must be found
    # after its own scan, not after the EXIF thumbnail's (most of these photos carry one).
    data = corpus_path(rel).read_bytes()
    whole = inspect_image(io.BytesIO(data), filename="a.jpg", max_pixels=MAX_PIXELS, decode=False)
    assert whole.format is ImageFormat.JPEG
    with pytest.raises(errors.UnreadablePhoto):
        inspect_image(
            io.BytesIO(data[: len(data) // 2]),
            filename="b.jpg",
            max_pixels=MAX_PIXELS,
            decode=False,
        )


@requires_corpus
@pytest.mark.parametrize("rel", [e["file"] for e in entries("heic")], ids=str)
def test_a_real_heic_passes_whole_and_is_unreadable_cut_in_its_pictures(rel):
    # Cut in its image data, or in the last byte of its pictures and their description; what
    # follows them (Samsung's trailer) may be lost without harm. Undecoded, so the
    # 200-megapixel one is read too.
    from hazard_reporter.photos.imaging import _boxes

    data = corpus_path(rel).read_bytes()
    pixels = 250_000_000

    def check(kept: int):
        return inspect_image(
            io.BytesIO(data[:kept]), filename="a.heic", max_pixels=pixels, decode=False
        )

    assert check(len(data)).format is ImageFormat.HEIF
    pictures_end = max(
        end for kind, _, end in _boxes(io.BytesIO(data), 0, len(data)) if kind in (b"meta", b"mdat")
    )
    for kept in (len(data) // 2, pictures_end - 1000, pictures_end - 1):
        with pytest.raises(errors.UnreadablePhoto):
            check(kept)
    if pictures_end < len(data):
        assert check(pictures_end).format is ImageFormat.HEIF


@requires_corpus
@pytest.mark.parametrize("item", entries("hostile"), ids=lambda e: e["file"])
def test_hostile_file_gets_what_the_manifest_expects_within_two_seconds(item):
    action = item["expected_server_behaviour"]["action"]
    started = time.perf_counter()
    try:
        result = inspect_file(item["file"])
    except errors.HazardError as refused:
        outcome: InspectedImage | errors.HazardError = refused
    else:
        outcome = result
        derive(corpus_path(item["file"]).read_bytes())  # what passes intake must also render
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_BUDGET_S, f"{item['file']} took {elapsed:.2f}s"

    if action == "reject":
        assert isinstance(outcome, PHOTO_ERRORS), outcome
        assert 400 <= outcome.status < 500 and outcome.field == "photos"
    elif action == "reject_or_accept_decoded":
        assert isinstance(outcome, (InspectedImage, *PHOTO_ERRORS)), outcome
    else:  # accept, accept_ignore_metadata, accept_ignore_gps, accept_no_gps, sniff_content
        assert isinstance(outcome, InspectedImage), outcome
        assert outcome.metadata.gps_lat is None and outcome.metadata.gps_lon is None
        if action == "sniff_content":
            assert outcome.format is ImageFormat.HEIF


@requires_corpus
@pytest.mark.parametrize("rel", DERIVATIVE_FILES)
def test_real_photo_derivatives_are_upright_bounded_and_metadata_free(rel, tmp_path):
    item = entry(rel)
    started = time.perf_counter()
    with corpus_path(rel).open("rb") as fp:
        result = make_derivatives(fp)
    elapsed = time.perf_counter() - started
    width, height = upright_size(item)
    display, thumbnail = result.display, result.thumbnail
    assert max(display.width, display.height) == min(1600, max(width, height))
    assert max(thumbnail.width, thumbnail.height) == min(400, max(width, height))
    for rendition in (display, thumbnail):
        assert decoded(rendition.data).size == (rendition.width, rendition.height)
        if width != height:  # upright: the same way round as the photo is displayed
            assert (rendition.width > rendition.height) == (width > height)
        assert abs(rendition.width / rendition.height - width / height) < 0.02
        assert_carries_no_metadata(rendition.data, tmp_path)
    assert len(result.phash) == 16
    assert elapsed < TIME_BUDGET_S, f"{rel} took {elapsed:.2f}s"


@requires_corpus
def test_one_scene_stored_with_orientations_3_6_and_8_gets_one_phash():
    hashes = [
        imagehash.hex_to_hash(derive(corpus_path(rel).read_bytes()).phash)
        for rel in DERIVATIVE_FILES[:3]
    ]
    assert all(h - hashes[0] <= 4 for h in hashes), [str(h) for h in hashes]


@requires_corpus
def test_a_real_phones_srgb_profile_is_recognised_as_srgb():
    # The iPhone 4 embeds the usual 3 KB "sRGB IEC61966-2.1" profile: dropped, nothing converted.
    with Image.open(corpus_path("real/apple_iphone4_gps.jpg")) as original:
        icc_profile = original.info["icc_profile"]
        assert b"sRGB IEC61966-2.1" in icc_profile
        pixels = original.convert("RGB")
    renditions = []
    for icc in (None, icc_profile):
        buffer = io.BytesIO()
        pixels.save(buffer, "JPEG", quality=90, icc_profile=icc)
        renditions.append(derive(buffer.getvalue()))
    assert renditions[0].display.data == renditions[1].display.data
