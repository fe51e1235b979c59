"""Photo formats, safe opening and validation of uploads, and metadata-free derivatives.

Opening: a photo's format is decided from its first bytes (never its name or Content-Type), and it
is then opened with that one format's Pillow plugin class. ``Image.open`` is deliberately not used:
it also runs Pillow's global decompression-bomb check with Pillow's own default limit (~89.5 MP: a
warning above it, which tests turn into an error, and an error above twice it), which would refuse
a genuine 100 MP photo that this app's configured ``max_pixels`` allows. Changing
``Image.MAX_IMAGE_PIXELS`` is a process-wide mutation and catching the warning with
``warnings.catch_warnings`` is not thread-safe, so instead the plugin class is called directly --
exactly what ``Image.open`` does for a single format, minus that check -- and the size it read from
the header is checked against ``max_pixels`` before anything is decoded. The one plugin that
checks on its own is WebP (it errors above ~179 MP because its decoder allocates the canvas when
opened), so a WebP's size is read from its header and checked before the plugin runs. A
``DecompressionBombError`` or ``DecompressionBombWarning`` that still escapes from Pillow is
reported as "too large" as well. PNG and WebP are held to a lower limit than ``max_pixels``
(``UNSCALED_MAX_PIXELS``): unlike JPEG they cannot be decoded at a reduced size.

A JPEG's structure is walked before Pillow sees it, segment by segment and scan by scan (see
``_jpeg_layout``): it bounds what Pillow's header parser and libjpeg's progressive decoder would
spend on a hostile file, and it finds the main picture's end without decoding it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

import imagehash
import pillow_heif
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from hazard_reporter import errors
from hazard_reporter.photos.metadata import PhotoMetadata, read_metadata

log = logging.getLogger(__name__)

# Registered once so that Image.open elsewhere (tests, scripts) also reads HEIC; this module
# opens HEIF through pillow_heif.HeifImageFile directly.
pillow_heif.register_heif_opener()

HEAD_BYTES = 32  # enough for every signature below, including a WebP VP8X canvas size
_FIELD = "photos"
_VERIFY_PX = 400  # JPEG is verified by a 1/8-scale decode: every byte is still entropy-decoded
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {  # the table ImageOps.exif_transpose uses, including the transposes 5 and 7
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})
# Pillow parses JPEG and PNG headers in Python, a byte (JPEG junk) or a chunk (PNG) at a time, so
# a 25 MB upload of junk bytes or empty chunks costs it 4-6 s of CPU. Real files are far inside
# these bounds (phones write ~10-30 JPEG segments; libpng writes 8 KB IDAT chunks, ~3,200 for 25 MB).
_JPEG_MAX_SEGMENTS = 1000
_JPEG_MAX_JUNK_BYTES = 64 * 1024
_PNG_MAX_CHUNKS = 50_000
# libjpeg decodes a progressive JPEG one scan at a time, each a pass over every block of the
# picture, so scans that refine nothing (a few bytes each) multiply the work: 1000 scans of a
# 12 MP picture, a 0.12 MB file, took 11 s to inspect and 15 s to render. Phones write one scan
# (the corpus: one each, six at most counting the EXIF thumbnails'), libjpeg's progressive mode 10.
_JPEG_MAX_SCANS = 100
# Scan data holds 0xFF only as FF 00 (a stuffed byte) or FF D0-D7 (restart markers); any other
# FF xx ends it (fill bytes FF may come before that marker).
_SCAN_DATA_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SCAN_CHUNK = 1024 * 1024
# PNG and WebP have no reduced-size decode (a JPEG is drafted at 1/2..1/8 scale): the renditions
# of a 116 KB PNG of 120 MP took 7 s and 1.3 GB. Phones write no lossless picture over ~50 MP.
UNSCALED_MAX_PIXELS = 50_000_000


class ImageFormat(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIF = "heif"

    @property
    def mime(self) -> str:
        """The media type to store the original under."""
        return _MIME[self]

    @property
    def extension(self) -> str:
        """The file extension to store the original under."""
        return _EXTENSION[self]


_MIME = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.WEBP: "image/webp",
    ImageFormat.HEIF: "image/heif",
}
_EXTENSION = {
    ImageFormat.JPEG: "jpg",
    ImageFormat.PNG: "png",
    ImageFormat.WEBP: "webp",
    ImageFormat.HEIF: "heic",
}
_PLUGINS: dict[ImageFormat, Callable[[BinaryIO], ImageFile.ImageFile]] = {
    # JpegImageFile rather than Pillow's jpeg_factory: the factory's MPO detection only adds
    # frames we never read, and warns on broken MPO headers of otherwise good JPEGs.
    ImageFormat.JPEG: JpegImagePlugin.JpegImageFile,
    ImageFormat.PNG: PngImagePlugin.PngImageFile,
    ImageFormat.WEBP: WebPImagePlugin.WebPImageFile,
    ImageFormat.HEIF: pillow_heif.HeifImageFile,
}

# --- sniffing ---------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})  # HEIF structure, codec not named
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "BigTIFF"),
    (b"MM\x00+", "BigTIFF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x02\x00", "CUR"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
    (b"BM", "BMP"),
    (b"PK\x03\x04", "ZIP"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg audio/video"),
    (b"fLaC", "FLAC audio"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
)


def _ftyp_brands(head: bytes) -> list[bytes]:
    """The major and compatible brands of an ISO-BMFF 'ftyp' box, as far as ``head`` reaches."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    box_size = int.from_bytes(head[:4], "big")
    end = len(head) if box_size < 16 else min(box_size, len(head))  # 0/1: to EOF / 64-bit size
    return [head[8:12], *(head[i : i + 4] for i in range(16, end - 3, 4))]


def sniff_format(head: bytes) -> ImageFormat | None:
    """The accepted format of a file from its first bytes, or None if it is not one of them."""
    if head[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if head[:8] == _PNG_SIGNATURE:
        return ImageFormat.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    brands = set(_ftyp_brands(head))
    if brands & _HEVC_BRANDS:
        return ImageFormat.HEIF
    # mif1/msf1 alone say "HEIF container"; AVIF files list them too, and AVIF is not accepted.
    if brands & _HEIF_GENERIC_BRANDS and not brands & _AVIF_BRANDS:
        return ImageFormat.HEIF
    return None


def describe_format(head: bytes) -> str:
    """A short human name for what the first bytes look like, for the 415 message."""
    accepted = sniff_format(head)
    if accepted is not None:
        return {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heif": "HEIF"}[accepted]
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF":
        return {b"WAVE": "WAV audio", b"AVI ": "AVI video"}.get(head[8:12], "RIFF")
    brands = _ftyp_brands(head)
    if brands:
        return "AVIF" if set(brands) & _AVIF_BRANDS else "MP4/MOV video"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3 audio"  # MPEG audio frame sync
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg")):
        return "SVG/XML"
    if text.startswith((b"<!doctype html", b"<html")):
        return "HTML"
    return "unknown"


# --- opening and validating -------------------------------------------------------------------


def _webp_canvas_size(head: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP declares in its first chunk (VP8X, VP8 or VP8L)."""
    chunk = head[12:16]
    try:
        if chunk == b"VP8X":
            width = 1 + int.from_bytes(head[24:27], "little")
            height = 1 + int.from_bytes(head[27:30], "little")
            return width, height
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            width = int.from_bytes(head[26:28], "little") & 0x3FFF
            height = int.from_bytes(head[28:30], "little") & 0x3FFF
            return width, height
        if chunk == b"VP8L" and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    except IndexError:
        return None
    return None


def _too_large(filename: str, width: int, height: int, max_pixels: int) -> errors.HazardError:
    return errors.ImageDimensionsTooLarge(
        field=_FIELD,
        filename=filename,
        width=width,
        height=height,
        limit_mp=round(max_pixels / 1_000_000, 1),
    )


def _unreadable(filename: str) -> errors.HazardError:
    return errors.UnreadablePhoto(field=_FIELD, filename=filename)


@dataclass(frozen=True)
class _JpegLayout:
    """What a walk over a JPEG's main picture found."""

    plausible: bool  # no more segments, junk bytes or scans than any real file holds
    complete: bool  # the walk reached the picture's end-of-image marker
    first_scan: int | None = None  # where the main picture's first scan data starts


def _skip_scan_data(fp: BinaryIO) -> bool:
    """Move ``fp`` from the start of a scan's entropy-coded data to the marker that ends it;
    False when the file ends first. A search in C, a block at a time: 1-3 ms for 4 MB."""
    while True:
        start = fp.tell()
        block = fp.read(_SCAN_CHUNK)
        found = _SCAN_DATA_END.search(block)
        if found:
            fp.seek(start + found.start())
            return True
        if len(block) < _SCAN_CHUNK:
            return False
        fp.seek(-1, io.SEEK_CUR)  # a marker may straddle two blocks


def _jpeg_layout(fp: BinaryIO, *, through_scans: bool) -> _JpegLayout:
    """Walk a JPEG's main picture from its start, without decoding: its headers, and with
    ``through_scans`` its scans too, to its end-of-image marker.

    Segment lengths are followed, so whatever a segment holds (an EXIF thumbnail in APP1, with
    its own scan and end marker) is stepped over. Without ``through_scans`` the walk stops at the
    first scan (the headers cost microseconds; the scans of a 4 MB photo 1-3 ms, too much for
    every upload). With it, scan data is skipped to the marker that ends it and the walk stops at
    the picture's end, so data appended after it (a motion photo's video) is never read.
    Implausible: more segments, junk bytes or scans than any real file (Pillow parses the
    headers in Python, one byte at a time; libjpeg makes a pass over the picture per scan)."""
    fp.seek(2)
    segments = junk = scans = 0
    first_scan = None
    while (
        junk <= _JPEG_MAX_JUNK_BYTES and segments <= _JPEG_MAX_SEGMENTS and scans <= _JPEG_MAX_SCANS
    ):
        pair = fp.read(2)
        if len(pair) < 2:
            return _JpegLayout(True, False, first_scan)  # truncated: the decoder says so
        if pair[0] != 0xFF or pair[1] in (0x00, 0xFF):
            junk += 1  # junk or fill bytes: step one byte, as decoders resynchronise
            fp.seek(-1, io.SEEK_CUR)
            continue
        code = pair[1]
        if code == 0xD9:
            return _JpegLayout(True, True, first_scan)
        segments += 1
        if code == 0x01 or 0xD0 <= code <= 0xD8:
            continue  # standalone markers have no length
        length = int.from_bytes(fp.read(2), "big")
        if length < 2:
            return _JpegLayout(True, False, first_scan)  # invalid: the decoder says so
        fp.seek(length - 2, io.SEEK_CUR)
        if code == 0xDA:
            scans += 1
            if first_scan is None:
                first_scan = fp.tell()
            if not through_scans:
                return _JpegLayout(True, False, first_scan)
            if not _skip_scan_data(fp):
                return _JpegLayout(True, False, first_scan)
    return _JpegLayout(False, False, first_scan)


def _jpeg_structure_is_plausible(fp: BinaryIO) -> bool:
    """False when the JPEG's headers hold more segments or junk bytes than any real file."""
    return _jpeg_layout(fp, through_scans=False).plausible


def check_scans(fp: BinaryIO, fmt: ImageFormat) -> None:
    """Before decoding: raise ValueError for a JPEG of more scans than any real file (each one a
    pass of libjpeg's over the whole picture: 1000 empty scans of 12 MP took 15 s)."""
    if fmt is ImageFormat.JPEG and not _jpeg_layout(fp, through_scans=True).plausible:
        raise ValueError("a JPEG of implausibly many scans")
    fp.seek(0)


def _png_structure_is_plausible(fp: BinaryIO) -> bool:
    """False when a PNG is split into more chunks than any real file."""
    fp.seek(8)
    for _ in range(_PNG_MAX_CHUNKS):
        header = fp.read(8)
        if len(header) < 8 or header[4:8] == b"IEND":
            return True  # the end, or truncated (the decoder says so)
        fp.seek(int.from_bytes(header[:4], "big") + 4, io.SEEK_CUR)  # data and CRC
    return False


_STRUCTURE_CHECKS: dict[ImageFormat, Callable[[BinaryIO], bool]] = {
    ImageFormat.JPEG: _jpeg_structure_is_plausible,
    ImageFormat.PNG: _png_structure_is_plausible,
}


def open_image(fp: BinaryIO, fmt: ImageFormat) -> ImageFile.ImageFile:
    """Open ``fp`` (from its start) with the one Pillow plugin for ``fmt``; reads the header only.

    No decompression-bomb check is made here (see the module docstring): callers check the size.
    Raises ``ValueError`` for a JPEG or PNG whose structure would make Pillow's header parser or
    libjpeg's progressive decoder slow.
    Use the result as a context manager; ``close()`` would also close ``fp``.
    """
    check = _STRUCTURE_CHECKS.get(fmt)
    if check is not None and not check(fp):
        raise ValueError(f"implausible {fmt.name} structure")
    fp.seek(0)
    return _PLUGINS[fmt](fp)


def _pixel_limit(fmt: ImageFormat, max_pixels: int) -> int:
    """The most pixels a photo of ``fmt`` may have: ``max_pixels``, and for the formats that can
    only be decoded at full size at most ``UNSCALED_MAX_PIXELS``."""
    if fmt in (ImageFormat.PNG, ImageFormat.WEBP):
        return min(max_pixels, UNSCALED_MAX_PIXELS)
    return max_pixels


def _open_checked(
    fp: BinaryIO, fmt: ImageFormat, head: bytes, *, filename: str, max_pixels: int
) -> ImageFile.ImageFile:
    """Open the header and refuse absurd dimensions before a single pixel is decoded."""
    declared = _webp_canvas_size(head) if fmt is ImageFormat.WEBP else None
    if declared and declared[0] * declared[1] > max_pixels:
        raise _too_large(filename, *declared, max_pixels)
    try:
        image = open_image(fp, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        width, height = declared or (0, 0)
        raise _too_large(filename, width, height, max_pixels) from exc
    except Exception as exc:
        # Decoders are fed untrusted bytes: whatever they raise (SyntaxError, OSError,
        # ValueError, struct.error, EOFError, MemoryError...) means "cannot read this photo".
        raise _unreadable(filename) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _unreadable(filename)
    if width * height > max_pixels:
        raise _too_large(filename, width, height, max_pixels)
    return image


def _pixel_orientation(image: Image.Image, fmt: ImageFormat) -> int:
    """The EXIF orientation the decoded pixels still need applying (1 = none)."""
    if fmt is ImageFormat.HEIF:
        return 1  # libheif already applied the irot/imir boxes; EXIF there is informational
    try:
        # Pillow's getexif also falls back to XMP's tiff:Orientation, as exif_transpose does.
        value = image.getexif().get(_ORIENTATION_TAG)
    except Exception:  # corrupt EXIF: show the pixels as stored
        return 1
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return 1


@dataclass(frozen=True)
class InspectedImage:
    format: ImageFormat
    width: int  # upright (as displayed) pixel width
    height: int
    metadata: PhotoMetadata


def _looks_complete(fp: BinaryIO, fmt: ImageFormat) -> bool:
    """Whether the file still has its end: the end-of-image marker that closes a JPEG's main
    picture (found by walking its segments and scans, never the EXIF thumbnail's), a PNG's IEND
    chunk, a WebP's whole RIFF body, every box and item location of a HEIF. Cheap, without
    decoding."""
    fp.seek(0, io.SEEK_END)
    size = fp.tell()
    if fmt is ImageFormat.JPEG:
        scan = _jpeg_layout(fp, through_scans=False).first_scan  # the main picture's, not the
        if scan is None:  # EXIF thumbnail's (an APP1 segment, stepped over whole)
            return False
        # Scan data holds no end marker: the first one after the scan ends the picture. It is
        # almost always in the last bytes: look there first.
        fp.seek(max(scan, size - 64 * 1024))
        if b"\xff\xd9" in fp.read():
            return True
        return _find_after(fp, b"\xff\xd9", scan) >= 0
    if fmt is ImageFormat.WEBP:
        fp.seek(4)
        return size >= int.from_bytes(fp.read(4), "little") + 8
    if fmt is ImageFormat.PNG:
        fp.seek(max(0, size - 64 * 1024))
        return b"IEND" in fp.read()
    if fmt is ImageFormat.HEIF:
        return _heif_is_whole(fp, size)
    return True


def _boxes(fp: BinaryIO, start: int, end: int):
    """The ISO BMFF boxes between ``start`` and ``end``: (type, payload start, box end); a box
    said to run to the end of its parent (size 0) ends at ``end``."""
    position = start
    while position + 8 <= end:
        fp.seek(position)
        header = fp.read(16)
        if len(header) < 8:
            return
        size, kind = int.from_bytes(header[:4], "big"), header[4:8]
        payload = position + 8
        if size == 1:
            if len(header) < 16:
                return
            size, payload = int.from_bytes(header[8:16], "big"), position + 16
        elif size == 0:
            size = end - position
        if size < payload - position:
            return
        yield kind, payload, position + size
        position += size


# The top-level boxes that hold a HEIF's pictures or their description.
_HEIF_CONTENT = frozenset({b"meta", b"mdat", b"moov", b"idat"})
_ILOC_MAX_BYTES = 1024 * 1024  # larger tables (no camera writes one) are left to the decoder


def _heif_is_whole(fp: BinaryIO, size: int) -> bool:
    """Whether no top-level box, and no stretch of the file an item's data is located at (the
    ``iloc`` box), runs past the file's end. libheif decodes a HEIC cut short without a word,
    the missing tiles green: a photo half lost would pass as evidence."""
    try:
        for kind, payload, end in _boxes(fp, 0, size):
            if end > size and kind in _HEIF_CONTENT:
                return False  # (bytes after the last box may only look like one: not counted)
            if kind == b"meta":  # a full box: 4 bytes of version and flags before its boxes
                for inner, start, inner_end in _boxes(fp, payload + 4, end):
                    if inner == b"iloc" and _iloc_end(fp, start, inner_end) > size:
                        return False
    except (ValueError, IndexError):
        return False  # a location table that cannot be read: the decoder would not read it
    return True


def _iloc_end(fp: BinaryIO, start: int, end: int) -> int:
    """The furthest byte of the file any item's data is located at (ISO/IEC 14496-12, 8.11.3);
    extents in the ``idat`` box or in other items are within boxes already checked. A table
    over ``_ILOC_MAX_BYTES`` is not read (0)."""
    if end - start > _ILOC_MAX_BYTES:
        return 0
    fp.seek(start)
    data = fp.read(end - start)
    position = 0

    def take(width: int) -> int:
        nonlocal position
        if width == 0:
            return 0
        if position + width > len(data):
            raise ValueError("iloc cut short")
        value = int.from_bytes(data[position : position + width], "big")
        position += width
        return value

    version = take(1)
    take(3)  # flags
    sizes = take(2)
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_offset_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF
    furthest = 0
    for _ in range(take(2 if version < 2 else 4)):
        take(2 if version < 2 else 4)  # item id
        method = take(2) & 0xF if version in (1, 2) else 0
        take(2)  # data reference index
        base = take(base_offset_size)
        for _ in range(take(2)):
            if version in (1, 2):
                take(index_size)
            offset, length = take(offset_size), take(length_size)
            if method == 0:  # in this file
                furthest = max(furthest, base + offset + length)
    return furthest


def _find_after(fp: BinaryIO, needle: bytes, start: int, chunk: int = 1024 * 1024) -> int:
    """The position of ``needle`` at or after ``start`` (-1: none), reading a chunk at a time."""
    fp.seek(start)
    offset, tail = start, b""
    while block := fp.read(chunk):
        found = (tail + block).find(needle)
        if found >= 0:
            return offset - len(tail) + found
        tail = block[-(len(needle) - 1) :]
        offset += len(block)
    return -1


def inspect_image(
    fp: BinaryIO, *, filename: str, max_pixels: int, decode: bool = True
) -> InspectedImage:
    """Check that an upload is a whole, decodable photo of an accepted format and size; read its
    metadata. Raises a 4xx ``PhotoError``; keeps no decoded pixels.

    ``decode=False`` (intake with a task queue) reads the header and checks the file's end but
    decodes no pixels: damage inside the image data is then found when the renditions are made
    (the photo's status becomes ``failed``), and the request costs little more than its upload.
    PNG and WebP are held to at most ``UNSCALED_MAX_PIXELS`` whatever ``max_pixels`` says."""
    fp.seek(0)
    head = fp.read(HEAD_BYTES)
    if not head:
        raise errors.EmptyPhoto(field=_FIELD, filename=filename)
    fmt = sniff_format(head)
    if fmt is None:
        raise errors.UnsupportedPhotoFormat(
            field=_FIELD, filename=filename, detected=describe_format(head)
        )
    max_pixels = _pixel_limit(fmt, max_pixels)
    if decode:
        try:
            check_scans(fp, fmt)
        except ValueError:
            raise _unreadable(filename) from None
    # The context manager (not close()) leaves the caller's stream open.
    with _open_checked(fp, fmt, head, filename=filename, max_pixels=max_pixels) as image:
        width, height = image.size  # before draft() shrinks it
        # A decode finds other formats cut short; libheif fills a HEIC's missing tiles instead.
        if (not decode or fmt is ImageFormat.HEIF) and not _looks_complete(fp, fmt):
            raise _unreadable(filename)
        try:
            if decode and fmt is ImageFormat.JPEG:
                image.draft("RGB", (_VERIFY_PX, _VERIFY_PX))
            if decode:
                # A full decode is the only way to find truncated or corrupt image data. HEIF's
                # draft() is not used: it would decode an embedded thumbnail instead.
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large(filename, width, height, max_pixels) from exc
        except Exception as exc:  # see _open_checked
            raise _unreadable(filename) from exc
        orientation = _pixel_orientation(image, fmt)
        metadata = read_metadata(fp, fmt, image)
    if orientation in _SWAPS_AXES:
        width, height = height, width
    return InspectedImage(fmt, width, height, metadata)


# --- derivatives ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Derivatives:
    display: Rendition  # JPEG, longest side <= display_px
    thumbnail: Rendition  # JPEG, longest side <= thumbnail_px
    phash: str  # 16 hex characters, perceptual hash of the upright image


def _fitted_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so its longest side is at most ``longest``; never enlarged."""
    width, height = size
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resampleable(image: Image.Image) -> Image.Image:
    """The image in a mode that resizes smoothly and converts to RGB faithfully."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if mode in ("P", "PA"):
        return image.convert("RGBA")  # keeps a transparent palette entry as alpha
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit greyscale: scale to 8 bits (a plain convert("L") would clip to white)
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode in ("RGBa", "La"):
        return image.convert(mode.upper())
    return image.convert("RGB")


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Transparent areas become white (JPEG has no alpha)."""
    if image.mode not in ("RGBA", "LA"):
        return image
    base_mode = image.mode[:-1]
    background = Image.new(base_mode, image.size, 255 if base_mode == "L" else (255, 255, 255))
    background.paste(image.convert(base_mode), mask=image.getchannel("A"))
    return background


# Phones embed one of a few profiles, so the transform from each profile to sRGB is built once
# (lcms takes 2-3 ms to build one, as long as converting a 0.3 MP photo) and remembered, keyed by
# a digest of the profile and the pixel mode, for the few most recently seen.
_CONVERSIONS_MAX = 8
_CONVERSIONS: OrderedDict[tuple[bytes, str], _SrgbConversion] = OrderedDict()
_CONVERSIONS_LOCK = threading.Lock()
_PROBE_LEVELS = bytes(range(0, 256, 15))  # 18 levels per channel, 0 and 255 included


@dataclass(frozen=True)
class _SrgbConversion:
    transform: ImageCms.ImageCmsTransform | None  # None: the profile cannot convert this mode
    identity: bool  # an sRGB profile: converting would move no channel by more than one level


def _is_identity(transform: ImageCms.ImageCmsTransform) -> bool:
    """True when ``transform`` (RGB to RGB) moves no channel of any of 5,832 colours by more than
    one level: the source profile is sRGB, and converting would change nothing."""
    levels = _PROBE_LEVELS
    probe = Image.frombytes(
        "RGB",
        (len(levels) ** 3, 1),
        bytes(channel for r in levels for g in levels for b in levels for channel in (r, g, b)),
    )
    converted = transform.apply(probe)
    return all(abs(a - b) <= 1 for a, b in zip(converted.tobytes(), probe.tobytes(), strict=True))


def _build_conversion(icc_profile: bytes, mode: str) -> _SrgbConversion:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        # Shared by every thread: without lcms's one-pixel cache (NOCACHE; its 8-bit matrix-shaper
        # path drops it anyway) applying a transform changes nothing in it, and Pillow holds the
        # GIL while apply() serialises the output profile, the one use of a profile handle.
        transform = ImageCms.buildTransform(source, srgb, mode, "RGB", flags=ImageCms.Flags.NOCACHE)
        identity = mode == "RGB" and _is_identity(transform)
    except Exception:  # a broken profile, or one for other pixels (CMYK profile, RGB pixels)
        log.debug("no ICC transform to sRGB; dropping the profile", exc_info=True)
        return _SrgbConversion(None, False)
    return _SrgbConversion(transform, identity)


def _srgb_conversion(icc_profile: bytes, mode: str) -> _SrgbConversion:
    """The (remembered) conversion of ``mode`` pixels in ``icc_profile`` to sRGB."""
    key = (hashlib.sha256(icc_profile).digest(), mode)
    with _CONVERSIONS_LOCK:
        conversion = _CONVERSIONS.get(key)
        if conversion is not None:
            _CONVERSIONS.move_to_end(key)
            return conversion
    conversion = _build_conversion(icc_profile, mode)  # outside the lock: milliseconds
    with _CONVERSIONS_LOCK:
        _CONVERSIONS[key] = conversion
        while len(_CONVERSIONS) > _CONVERSIONS_MAX:
            _CONVERSIONS.popitem(last=False)
    return conversion


def _to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB pixels in sRGB: colours converted from an embedded ICC profile (Display P3 on
    iPhones, CMYK print profiles) so the profile itself can be dropped. An sRGB profile is
    dropped without converting (an lcms pass over the display image costs as much as a resize).
    RGB pixels are converted in place: ``image`` must be this module's own."""
    if icc_profile:
        conversion = _srgb_conversion(icc_profile, image.mode)
        if conversion.transform is not None and not conversion.identity:
            try:
                if image.mode == "RGB":
                    return conversion.transform.apply_in_place(image)
                return conversion.transform.apply(image)
            except Exception:  # a mismatched profile: keep the colours as they are
                log.debug("ICC conversion failed; dropping the profile", exc_info=True)
    return image if image.mode == "RGB" else image.convert("RGB")


def _without_metadata(image: Image.Image) -> Image.Image:
    """The image with nothing to carry into a file: no EXIF, XMP, ICC, comment or info.

    Images made here (by resize, transpose, convert) are emptied in place, not copied; the
    decoded file itself is copied, as it keeps what its headers held in other attributes."""
    if isinstance(image, ImageFile.ImageFile):
        image = image.copy()
    image.info = {}
    return image


def _phash(image: Image.Image) -> str:
    """The perceptual hash (imagehash.phash) of the picture, as 16 hex characters.

    It is taken of the thumbnail (phash shrinks the picture to 32 x 32 grey anyway, and from 400
    px that costs a sixteenth of doing it from 1600 px), and the 32 x 32 is made here with a box
    reduction first (reducing_gap=2.0): a third of the time of imagehash's plain Lanczos resize,
    for the same hash (no bit differed on the corpus)."""
    grey = image.convert("L").resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return str(imagehash.phash(grey))


def _encode(image: Image.Image, quality: int) -> Rendition:
    buffer = io.BytesIO()
    # No exif=, icc_profile=, xmp= or comment=: the image's .info is empty, so nothing is carried.
    # Baseline with the standard Huffman tables, as a plain thumbnailer writes them: optimised
    # tables are 3% smaller but cost 2.5x the encoding time (+6 ms for 1600 px, +2 ms for 0.3 MP,
    # a third of a small photo's rendition); progressive would be 4% smaller again, at 4x.
    image.save(buffer, "JPEG", quality=quality)
    return Rendition(buffer.getvalue(), image.width, image.height)


def make_derivatives(
    fp: BinaryIO, *, display_px: int = 1600, thumbnail_px: int = 400, quality: int = 82
) -> Derivatives:
    """Upright, sRGB, metadata-free JPEG display and thumbnail renditions and a perceptual hash
    of a photo that passed ``inspect_image``."""
    fp.seek(0)
    head = fp.read(HEAD_BYTES)
    fmt = sniff_format(head)
    if fmt is None:
        raise ValueError(f"not an accepted photo format ({describe_format(head)})")
    check_scans(fp, fmt)
    with open_image(fp, fmt) as image:
        target = _fitted_size(image.size, display_px)
        if fmt is ImageFormat.JPEG:
            image.draft("RGB", target)  # decode at 1/2..1/8 scale, still >= the target size
        image.load()
        orientation = _pixel_orientation(image, fmt)
        icc_profile = image.info.get("icc_profile")
        # Resize first (draft may already have), then transpose and convert colours: every step
        # after the resize works on at most display_px x display_px pixels. Bicubic, as Pillow's
        # Image.thumbnail resizes: for a 12 MP photo drafted to 3 MP, 40 ms against Lanczos's
        # 51 ms, and the two differ by 46-54 dB PSNR on the corpus, far below what the JPEG at
        # quality 82 itself changes (35-43 dB).
        working = _resampleable(image)
        fitted = _fitted_size(working.size, display_px)
        if fitted != working.size:
            working = working.resize(fitted, Image.Resampling.BICUBIC, reducing_gap=3.0)
    if orientation in _TRANSPOSE:
        working = working.transpose(_TRANSPOSE[orientation])
    # From here on every image is this module's own (the colour conversion works in place).
    display = _without_metadata(_to_srgb(_flatten_alpha(_without_metadata(working)), icc_profile))
    # The thumbnail is made from the display image (already upright, sRGB and small) the way
    # Pillow's Image.thumbnail makes one: bicubic, after a cheap box reduction when the display
    # is 4x the size or more (reducing_gap=2.0). Against a plain Lanczos resize: 42-52 dB PSNR,
    # no visible difference at 400 px, for a third to two thirds of the time.
    thumbnail = _without_metadata(
        display.resize(
            _fitted_size(display.size, thumbnail_px), Image.Resampling.BICUBIC, reducing_gap=2.0
        )
    )
    return Derivatives(
        display=_encode(display, quality),
        thumbnail=_encode(thumbnail, quality),
        phash=_phash(thumbnail),
    )
