"""Self-made photos with chosen EXIF, so the suite stands on its own without the real corpus.

Each image is photo-like (a gradient with shapes, a distinct colour in each quadrant) so that
derivatives, orientation checks and perceptual hashes mean something.
"""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction

import pillow_heif
from PIL import Image, ImageDraw, TiffImagePlugin

pillow_heif.register_heif_opener()  # idempotent; lets these helpers write HEIC

# Quadrant colours of the pattern: top-left, top-right, bottom-left, bottom-right.
QUADRANT_COLOURS = ((30, 180, 60), (40, 70, 220), (240, 220, 40), (200, 60, 40))
XMP_WITH_GPS = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" exif:GPSLatitude="31,27.0N" '
    b'exif:GPSLongitude="104,44.0E" dc:creator="Reporter Name"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769


def photo_image(
    width: int = 640, height: int = 480, *, color=(200, 60, 40), pattern: bool = True
) -> Image.Image:
    """An RGB picture: a gradient of ``color`` with a coloured block in each quadrant."""
    base = Image.new("RGB", (width, height), color)
    if not pattern:
        return base
    dark = tuple(c // 3 for c in color)
    gradient = Image.linear_gradient("L").rotate(90).resize((width, height))
    image = Image.composite(base, Image.new("RGB", (width, height), dark), gradient)
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    corners = ((0, 0), (half_w, 0), (0, half_h), (half_w, half_h))
    for (x, y), fill in zip(corners, QUADRANT_COLOURS, strict=True):
        draw.rectangle(
            (
                x + width // 16,
                y + height // 16,
                x + half_w - width // 16,
                y + half_h - height // 16,
            ),
            fill=fill,
        )
    draw.ellipse((width // 3, height // 3, width * 2 // 3, height * 2 // 3), outline="white")
    draw.line((0, height - 1, width - 1, 0), fill=(255, 255, 255), width=max(1, width // 100))
    return image


def _rational(value: float, denominator: int = 1_000_000) -> TiffImagePlugin.IFDRational:
    fraction = Fraction(value).limit_denominator(denominator)
    return TiffImagePlugin.IFDRational(fraction.numerator, fraction.denominator)


def _dms(degrees: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    """Unsigned (degrees, minutes, seconds) rationals, as cameras write them."""
    degrees = abs(degrees)
    whole = int(degrees)
    minutes_full = (degrees - whole) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return _rational(whole, 1), _rational(minutes, 1), _rational(seconds, 100_000)


def exif_bytes(
    *,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    taken_at: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
) -> bytes | None:
    """A TIFF-structured EXIF block with IFD0, Exif and GPS IFDs; None when nothing is given."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make is not None:
        exif[0x010F] = make
    if model is not None:
        exif[0x0110] = model
    if taken_at is not None or offset is not None:
        sub = exif.get_ifd(_EXIF_IFD)
        if taken_at is not None:
            sub[0x9003] = taken_at  # DateTimeOriginal
            sub[0x9004] = taken_at  # DateTimeDigitized
        if offset is not None:
            sub[0x9011] = offset  # OffsetTimeOriginal
            sub[0x9010] = offset  # OffsetTime
    if gps is not None or altitude is not None:
        gps_ifd = exif.get_ifd(_GPS_IFD)
        gps_ifd[0] = b"\x02\x03\x00\x00"  # GPSVersionID
        if gps is not None:
            lat, lon = gps
            gps_ifd[1] = "S" if lat < 0 else "N"
            gps_ifd[2] = _dms(lat)
            gps_ifd[3] = "W" if lon < 0 else "E"
            gps_ifd[4] = _dms(lon)
        if altitude is not None:
            gps_ifd[5] = 1 if altitude < 0 else 0  # GPSAltitudeRef: 1 = below sea level
            gps_ifd[6] = _rational(abs(altitude), 1000)
    if not len(exif) and not exif.get_ifd(_EXIF_IFD) and not exif.get_ifd(_GPS_IFD):
        return None
    return exif.tobytes()


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **{k: v for k, v in options.items() if v is not None})
    return buffer.getvalue()


def make_jpeg(
    width: int = 640,
    height: int = 480,
    *,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    taken_at: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
    xmp: bytes | None = None,
    color=(200, 60, 40),
    pattern: bool = True,
    comment: bytes | None = None,
    icc_profile: bytes | None = None,
    mode: str = "RGB",
) -> bytes:
    """A photo-like JPEG written by Pillow with the given EXIF (GPS as DMS rationals with refs)."""
    image = photo_image(width, height, color=color, pattern=pattern)
    if mode != "RGB":
        image = image.convert(mode)
    exif = exif_bytes(
        gps=gps,
        altitude=altitude,
        orientation=orientation,
        taken_at=taken_at,
        offset=offset,
        make=make,
        model=model,
    )
    return _save(
        image, "JPEG", quality=90, exif=exif, xmp=xmp, comment=comment, icc_profile=icc_profile
    )


def make_png(
    width: int = 640,
    height: int = 480,
    *,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    taken_at: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
    color=(200, 60, 40),
    pattern: bool = True,
    mode: str = "RGB",
) -> bytes:
    """A photo-like PNG (any Pillow mode: RGB, RGBA, P, LA, L, I;16...) with an eXIf chunk."""
    image = photo_image(width, height, color=color, pattern=pattern)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize((width, height)))
    elif mode == "I;16":
        image = image.convert("L").point(lambda v: v * 256, "I").convert("I;16")
    elif mode != "RGB":
        image = image.convert(mode)
    exif = exif_bytes(
        gps=gps,
        altitude=altitude,
        orientation=orientation,
        taken_at=taken_at,
        offset=offset,
        make=make,
        model=model,
    )
    return _save(image, "PNG", exif=exif)


def make_webp(
    width: int = 640,
    height: int = 480,
    *,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    taken_at: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
    xmp: bytes | None = None,
    color=(200, 60, 40),
    pattern: bool = True,
) -> bytes:
    """A photo-like lossy WebP with the given EXIF."""
    image = photo_image(width, height, color=color, pattern=pattern)
    exif = exif_bytes(
        gps=gps,
        altitude=altitude,
        orientation=orientation,
        taken_at=taken_at,
        offset=offset,
        make=make,
        model=model,
    )
    return _save(image, "WEBP", quality=85, exif=exif, xmp=xmp)


def make_heic(
    width: int = 640,
    height: int = 480,
    *,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    orientation: int | None = None,
    taken_at: str | None = None,
    offset: str | None = None,
    make: str | None = None,
    model: str | None = None,
    xmp: bytes | None = None,
    color=(200, 60, 40),
    pattern: bool = True,
) -> bytes:
    """A photo-like HEIC written by pillow-heif; like a phone, an EXIF orientation other than 1
    is stored as the HEIF rotation (irot/imir), so decoders return the pixels already upright."""
    image = photo_image(width, height, color=color, pattern=pattern)
    exif = exif_bytes(
        gps=gps,
        altitude=altitude,
        orientation=orientation,
        taken_at=taken_at,
        offset=offset,
        make=make,
        model=model,
    )
    return _save(image, "HEIF", quality=80, exif=exif, xmp=xmp)


def make_tiff(width: int = 64, height: int = 48) -> bytes:
    """A valid TIFF (a format phones do not send and the API does not accept)."""
    return _save(photo_image(width, height), "TIFF")


def make_gif(width: int = 64, height: int = 48) -> bytes:
    """A valid GIF."""
    return _save(photo_image(width, height).convert("P"), "GIF")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int, *, with_data: bool = False) -> bytes:
    """A tiny PNG whose IHDR (valid CRC) claims ``width`` x ``height``; ``with_data`` adds a
    short IDAT that cannot fill it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    chunks = _png_chunk(b"IHDR", ihdr)
    if with_data:
        chunks += _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunks + _png_chunk(b"IEND", b"")


def webp_header_only(width: int, height: int) -> bytes:
    """A tiny extended-format WebP (VP8X) whose canvas claims ``width`` x ``height``."""
    vp8x = (
        b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def jpeg_with_large_xmp_before_exif(**exif) -> bytes:
    """Photoshop's segment order (JFIF, XMP, EXIF) with its usual padded XMP packet."""
    packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>' + b" " * 8000
    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    original = make_jpeg(**exif)
    assert original[2:4] == b"\xff\xe0"  # SOI, then Pillow's JFIF APP0
    after_jfif = 4 + int.from_bytes(original[4:6], "big")
    return original[:after_jfif] + segment + original[after_jfif:]


def jpeg_with_exif_bomb(entries: int = 5000, padding_mb: int = 10) -> bytes:
    """A JPEG whose EXIF has thousands of ASCII entries claiming 2 GB each, in a 10 MB file."""
    entry = struct.pack(">HHII", 0x010F, 2, 0x7FFFFFFF, 8)  # Make, ASCII, count, offset
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, entries) + entry * entries + b"\x00" * 4
    app1 = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    comment = b"\xff\xfe" + struct.pack(">H", 65535) + b"x" * 65533
    base = make_jpeg(64, 48)
    return base[:2] + segment + comment * (padding_mb * 16) + base[2:]


# --- raw EXIF, byte by byte, for files no library would write ----------------------------------

# TIFF field types (EXIF 2.32, 4.6.2).
BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE, UNDEFINED, SSHORT, SLONG, SRATIONAL, FLOAT, DOUBLE = (
    range(1, 13)
)
EXIF_IFD_TAG, GPS_IFD_TAG, INTEROP_IFD_TAG = 0x8769, 0x8825, 0xA005


def raw_ifd(
    entries: list[tuple[int, int, int, int | bytes]], next_ifd: int = 0, *, little: bool = False
) -> bytes:
    """One IFD exactly as given: each entry is (tag, type, count, value), the value an int (an
    offset, or a LONG) or up to 4 bytes left-justified; nothing is checked."""
    order = "<" if little else ">"
    out = struct.pack(order + "H", len(entries) & 0xFFFF)
    for tag, kind, count, value in entries:
        field = struct.pack(order + "I", value) if isinstance(value, int) else value.ljust(4, b"\0")
        out += struct.pack(order + "HHI", tag, kind, count) + field[:4]
    return out + struct.pack(order + "I", next_ifd)


def raw_tiff(blocks: dict[int, bytes], *, first_ifd: int = 8, little: bool = False) -> bytes:
    """A TIFF-structured EXIF block with each of ``blocks`` (IFDs, values) at its offset."""
    order = "little" if little else "big"
    header = (b"II*\x00" if little else b"MM\x00*") + first_ifd.to_bytes(4, order)
    size = max([8, *(offset + len(block) for offset, block in blocks.items())])
    out = bytearray(size)
    for offset, block in blocks.items():
        out[offset : offset + len(block)] = block
    out[:8] = header
    return bytes(out)


def jpeg_with_raw_exif(tiff: bytes, width: int = 64, height: int = 48) -> bytes:
    """A valid JPEG whose first segment is an APP1 "Exif" holding ``tiff`` (at most ~64 KB)."""
    payload = b"Exif\x00\x00" + tiff
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"an APP1 segment holds at most 65533 bytes, not {len(payload)}")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    base = make_jpeg(width, height)
    return base[:2] + segment + base[2:]


def png_with_raw_exif(tiff: bytes, width: int = 64, height: int = 48) -> bytes:
    """A valid PNG with an eXIf chunk holding ``tiff`` (any size) right after IHDR."""
    base = make_png(width, height)
    after_ihdr = 8 + 25
    return base[:after_ihdr] + _png_chunk(b"eXIf", tiff) + base[after_ihdr:]


def webp_with_raw_exif(tiff: bytes, width: int = 64, height: int = 48) -> bytes:
    """A valid lossy WebP (VP8X) with an EXIF chunk holding ``tiff``."""
    base = make_webp(width, height, make="x")  # any EXIF makes Pillow write the VP8X form
    at = base.index(b"EXIF")
    old_size = int.from_bytes(base[at + 4 : at + 8], "little")
    old_end = at + 8 + old_size + (old_size & 1)
    chunk = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + b"\0" * (len(tiff) & 1)
    body = base[12:at] + chunk + base[old_end:]
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG (64 x 48 of data) whose frame header claims ``width`` x ``height``."""
    data = bytearray(make_jpeg(64, 48))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def heic_with_raw_exif(tiff: bytes, width: int = 64, height: int = 48) -> bytes:
    """A valid HEIC written by pillow-heif with ``tiff`` as its EXIF item."""
    return _save(photo_image(width, height), "HEIF", quality=80, exif=tiff)
