"""A photo's metadata (GPS, capture time, orientation, device) read defensively from its EXIF.

Uploads come from anywhere, so nothing here raises: whatever a reader cannot make sense of becomes
``None`` plus a machine-readable note in ``problems``. Two readers are used because each misses
what the other reads (see the project's shared STACK-NOTES.md): ExifRead for JPEG and WebP, and Pillow's
``getexif()`` when ExifRead fails or finds nothing (XMP-before-EXIF Photoshop exports), and always
for PNG and HEIC (ExifRead reads no PNG EXIF and cannot parse libheif's HEIC).

ExifRead is given only the EXIF block, found here by walking the JPEG markers or WebP chunks, never
the whole upload: given the file, a crafted EXIF of a few thousand ASCII entries with huge counts
makes it read the rest of the file once per entry (42 s for a 10 MB JPEG), and its own JPEG scan
only looks at the first ~4 KB, so it misses EXIF after a large XMP segment (Photoshop exports).
Even within one 64 KB block ExifRead decodes, in Python, every value of every entry (up to 999
each) and every IFD as often as a pointer leads to it: 5,000 entries claiming 999 rationals cost it
45 s and 750 MB, and 5,000 GPS pointers to an IFD claiming 65,535 entries never finish. So the
block's structure is walked first, counting what ExifRead would decode, and a block over budget is
left to Pillow, whose reading is bounded by the block's size and decodes only the tags asked for.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, BinaryIO

import exifread

if TYPE_CHECKING:
    from PIL import Image

    from hazard_reporter.photos.imaging import ImageFormat

log = logging.getLogger(__name__)

# Pillow tag ids: IFD0, then the Exif and GPS sub-IFDs.
_IFD0 = {0x010F: "Make", 0x0110: "Model", 0x0112: "Orientation", 0x0132: "DateTime"}
_EXIF_IFD = {
    0x9003: "DateTimeOriginal",
    0x9004: "DateTimeDigitized",
    0x9010: "OffsetTime",
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9290: "SubSecTime",
    0x9291: "SubSecTimeOriginal",
    0x9292: "SubSecTimeDigitized",
}
_GPS_IFD = {
    1: "GPSLatitudeRef",
    2: "GPSLatitude",
    3: "GPSLongitudeRef",
    4: "GPSLongitude",
    5: "GPSAltitudeRef",
    6: "GPSAltitude",
}
_EXIF_IFD_POINTER = 0x8769
_GPS_IFD_POINTER = 0x8825

# ExifRead names its keys "<IFD> <Tag>"; the same tags under the names above.
_EXIFREAD_KEYS = {
    **{f"Image {name}": name for name in _IFD0.values()},
    **{f"EXIF {name}": name for name in _EXIF_IFD.values()},
    **{f"GPS {name}": name for name in _GPS_IFD.values()},
}
_EXIFREAD_GPS_POINTER = "Image GPSInfo"

# (date-time tag, its sub-seconds tag, its offset tag), in order of preference.
_TIMESTAMPS = (
    ("DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal"),
    ("DateTimeDigitized", "SubSecTimeDigitized", "OffsetTimeDigitized"),
    ("DateTime", "SubSecTime", "OffsetTime"),
)
# EXIF says "YYYY:MM:DD HH:MM:SS"; some writers add fractions or an offset (FLIR, Photoshop).
_DATETIME_RE = re.compile(
    r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})"
    r"(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)
_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})$")
_MAX_OFFSET_MINUTES = 14 * 60  # real zones span UTC-12:00 .. UTC+14:00
_MAX_TEXT = 100  # Make/Model longer than this is garbage, not a device name
_MAX_RAW_TEXT = 4096  # characters of a tag looked at: a 20 MB "Make" is garbage, not work to do
# Aircraft cruise at ~12 km and no workplace is deeper than a few km below sea level.
_ALTITUDE_RANGE_M = (-12_000.0, 50_000.0)
_NULL_ISLAND_EPS = 1e-9
_MAX_SEGMENTS = 1000  # markers/chunks walked before giving up on finding EXIF
_MAX_FILL_BYTES = 64  # 0xFF padding allowed before a JPEG marker
_MAX_APP1_PAYLOAD = 65533  # a JPEG segment's length field counts itself
_EXIF_HEADER = b"Exif\x00\x00"
# What ExifRead may decode of a block (see _exifread_work). The real photos of the test corpus,
# phones' and cameras' (a Photoshop export the largest), cost 40-420 units; 20,000 of the dearest
# kind (rationals) take ExifRead ~0.2 s and a few MB.
_EXIFREAD_MAX_WORK = 20_000
_EXIFREAD_ASCII_BYTES_PER_UNIT = 64
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_TIFF_ASCII = 2
_TIFF_NOT_OFFSETS = frozenset({2, 5, 10, 11, 12})  # text, ratios and floats
_TIFF_SIGNED = frozenset({6, 8, 9})  # SBYTE, SSHORT, SLONG
_EXIFREAD_SKIPPED_TAGS = frozenset({0x02BC, 0x927C, 0x9286})  # XMP, MakerNote, UserComment
_EXIFREAD_FOLLOWED_TAGS = frozenset({0x8825, 0xA005})  # GPS and Interop pointers, anywhere
_EXIFREAD_MAX_VALUES = 1000  # ExifRead decodes no value of an entry with this many or more


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo's EXIF says, validated; ``None`` wherever it says nothing usable."""

    gps_lat: float | None = None  # signed decimal degrees WGS-84; None = no fix
    gps_lon: float | None = None
    gps_alt: float | None = None  # metres, negative below sea level (only with a fix)
    taken_at: datetime | None = None  # naive local wall time, as the camera's clock showed it
    utc_offset_minutes: int | None = None  # the camera's UTC offset, e.g. +03:00 -> 180
    orientation: int | None = None  # EXIF Orientation 1..8 as the file states it
    make: str | None = None
    model: str | None = None
    has_exif: bool = False
    reader: str = "none"  # "exifread" | "pillow" | "none"
    problems: tuple[str, ...] = ()

    @property
    def taken_at_utc(self) -> datetime | None:
        """The capture time as an aware UTC datetime, when the camera wrote its offset."""
        if self.taken_at is None or self.utc_offset_minutes is None:
            return None
        zone = timezone(timedelta(minutes=self.utc_offset_minutes))
        return self.taken_at.replace(tzinfo=zone).astimezone(UTC)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (datetimes in ISO 8601) for a JSON column."""
        utc = self.taken_at_utc
        return {
            "gps_lat": self.gps_lat,
            "gps_lon": self.gps_lon,
            "gps_alt": self.gps_alt,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "utc_offset_minutes": self.utc_offset_minutes,
            "taken_at_utc": utc.isoformat() if utc else None,
            "orientation": self.orientation,
            "make": self.make,
            "model": self.model,
            "has_exif": self.has_exif,
            "reader": self.reader,
            "problems": list(self.problems),
        }


def read_metadata(
    fp: BinaryIO, fmt: ImageFormat, image: Image.Image | None = None
) -> PhotoMetadata:
    """The metadata of a photo whose format is already known; never raises.

    ``image`` is the photo already opened with Pillow (saves opening it again); ``fp`` is read from
    the start and left where it was.
    """
    try:
        position = fp.tell()
    except Exception:  # an unseekable stream: ExifRead cannot use it either
        position = None
    problems: list[str] = []
    try:
        tags, reader = _read_tags(fp, str(fmt), image, problems)
        return _interpret(tags, reader, problems)
    except Exception:  # a bug here must not turn a good photo into a 500
        log.exception("reading photo metadata failed")
        return PhotoMetadata(reader="none", problems=(*problems, "metadata_error"))
    finally:
        if position is not None:
            try:
                fp.seek(position)
            except Exception:
                log.debug("could not restore the stream position", exc_info=True)


# --- reading: each reader yields {tag name: raw value} under the names above ----------------


def _read_tags(
    fp: BinaryIO, fmt: str, image: Image.Image | None, problems: list[str]
) -> tuple[dict[str, Any], str]:
    segment = None
    if fmt == "jpeg":
        segment = _jpeg_exif_segment(fp)
    elif fmt == "webp":
        segment = _webp_exif_segment(fp)
    if segment is not None:
        tags = _exifread_tags(segment, problems)
        if tags:
            return tags, "exifread"
    tags = _pillow_tags(fp, fmt, image, problems)
    return (tags, "pillow") if tags else ({}, "none")


def _jpeg_exif_segment(fp: BinaryIO) -> bytes | None:
    """The first APP1 "Exif" segment of a JPEG (marker, length and payload), by its markers."""
    try:
        fp.seek(0)
        if fp.read(2) != b"\xff\xd8":
            return None
        for _ in range(_MAX_SEGMENTS):
            marker = fp.read(2)
            for _ in range(_MAX_FILL_BYTES):  # fill bytes may precede a marker
                if marker[1:] != b"\xff":
                    break
                marker = b"\xff" + fp.read(1)
            if len(marker) < 2 or marker[0] != 0xFF or marker[1] in (0xD9, 0xDA, 0xFF):
                return None  # not a marker, end of image, or start of scan: no EXIF before it
            if marker[1] == 0x01 or 0xD0 <= marker[1] <= 0xD7:
                continue  # standalone markers carry no length
            length_field = fp.read(2)
            length = int.from_bytes(length_field, "big")
            if len(length_field) < 2 or length < 2:
                return None
            if marker[1] == 0xE1:
                payload = fp.read(length - 2)
                if payload.startswith(_EXIF_HEADER):
                    return marker + length_field + payload
            else:
                fp.seek(length - 2, io.SEEK_CUR)
    except (OSError, ValueError):
        return None
    return None


def _webp_exif_segment(fp: BinaryIO) -> bytes | None:
    """A WebP's EXIF chunk, wrapped as a JPEG APP1 segment so ExifRead reads it the same way."""
    try:
        fp.seek(0)
        header = fp.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
            return None
        for _ in range(_MAX_SEGMENTS):
            chunk = fp.read(8)
            if len(chunk) < 8:
                return None
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"EXIF":
                tiff = fp.read(min(size, _MAX_APP1_PAYLOAD + 1))
                tiff = tiff.removeprefix(_EXIF_HEADER)  # some writers keep JPEG's prefix
                payload = _EXIF_HEADER + tiff
                if len(payload) > _MAX_APP1_PAYLOAD:
                    return None  # too big for the JPEG form; Pillow reads it instead
                return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
            fp.seek(size + (size & 1), io.SEEK_CUR)  # chunks are padded to even sizes
    except (OSError, ValueError):
        return None
    return None


def _exifread_tags(segment: bytes, problems: list[str]) -> dict[str, Any]:
    # A minimal JPEG around the segment: offsets beyond it simply hit the end of this buffer.
    minimal_jpeg = io.BytesIO(b"\xff\xd8" + segment + b"\xff\xd9")
    # ExifRead reads the TIFF structure after "Exif\0\0", and on into the closing marker.
    if _exifread_work(segment[4 + len(_EXIF_HEADER) :] + b"\xff\xd9") > _EXIFREAD_MAX_WORK:
        problems.append("exif_too_complex")
        return {}
    try:
        found = exifread.process_file(minimal_jpeg, details=False, extract_thumbnail=False)
    except Exception:  # UnicodeDecodeError, EOFError, ZeroDivisionError... on broken EXIF
        problems.append("exif_corrupt")
        return {}
    tags: dict[str, Any] = {}
    for key, tag in found.items():
        if key in _EXIFREAD_KEYS:
            tags[_EXIFREAD_KEYS[key]] = getattr(tag, "values", None)
    if _EXIFREAD_GPS_POINTER in found:
        tags["_gps_ifd"] = True
    if found:
        tags["_count"] = len(found)
    return tags


def _exifread_work(tiff: bytes) -> int:
    """How much ExifRead would decode from ``tiff`` (a TIFF-structured EXIF block as it reads
    it): one unit per IFD entry, per value of an entry (it decodes up to 999 each) and per 64
    bytes of text, walking the IFDs as it does -- the IFD0 chain once each (it stops at a loop),
    the Exif IFD of IFD0, and the GPS and Interop IFDs once per pointer to them (pointers there
    are not followed further). Counting stops once past the budget, so this walk is bounded too.
    """
    byteorder = "little" if tiff[:1] == b"I" else "big"
    budget = _EXIFREAD_MAX_WORK

    def number(offset: int, size: int) -> int:
        chunk = tiff[offset : offset + size]
        # ExifRead reads a number cut short by the end of the block as 0.
        return int.from_bytes(chunk, byteorder) if len(chunk) == size else 0

    def entry_values(entry: int, kind: int, count: int) -> tuple[int, int | None]:
        """(units for the entry's values, its first value if ExifRead could follow it as an
        offset: an integer; it cannot seek to text, a ratio or a float)."""
        size = _TIFF_TYPE_SIZES[kind]
        at = entry + 8 if count * size <= 4 else number(entry + 8, 4)
        if kind == _TIFF_ASCII:
            return max(0, min(count, len(tiff) - at)) // _EXIFREAD_ASCII_BYTES_PER_UNIT, None
        if count >= _EXIFREAD_MAX_VALUES:
            return 0, None
        if count == 0 or kind in _TIFF_NOT_OFFSETS:
            return count, None
        first = number(at, size)
        if kind in _TIFF_SIGNED and first >= 1 << (8 * size - 1):
            # A negative offset makes ExifRead read an IFD from the bytes before the block (the
            # APP1 marker there reads as 65,505 entries): over any budget.
            return budget + 1, None
        return count, first

    followed: dict[int, int] = {}  # GPS/Interop IFD offset -> its units

    def ifd_work(ifd: int, *, follow: bool, spent: int) -> tuple[int, list[int]]:
        """(units of one IFD and what it leads to, its Exif IFD pointers)."""
        work, exif_pointers = 0, []
        for index in range(number(ifd, 2)):
            if spent + work > budget:
                break
            entry = ifd + 2 + 12 * index
            tag, kind, count = number(entry, 2), number(entry + 2, 2), number(entry + 4, 4)
            work += 1
            if tag in _EXIFREAD_SKIPPED_TAGS or kind not in _TIFF_TYPE_SIZES:
                continue
            units, first = entry_values(entry, kind, count)
            work += units
            if first is None:
                continue
            if tag == _EXIF_IFD_POINTER:
                exif_pointers.append(first)
            if follow and tag in _EXIFREAD_FOLLOWED_TAGS:
                if first not in followed:
                    followed[first] = ifd_work(first, follow=False, spent=spent + work)[0]
                work += followed[first]
        return work, exif_pointers

    work, seen = 0, set()
    ifd = number(4, 4)
    exif_pointers: list[int] = []
    while ifd and ifd not in seen and work <= budget:
        seen.add(ifd)
        units, pointers = ifd_work(ifd, follow=True, spent=work)
        work += units
        if len(seen) == 1:
            exif_pointers = pointers  # ExifRead reads the Exif IFD of IFD0 only
        entries = number(ifd, 2)
        following = number(ifd + 2 + 12 * entries, 4)
        ifd = 0 if following == ifd else following
    for pointer in exif_pointers:  # ExifRead follows the last; counting all is an upper bound
        if work > budget:
            break
        work += ifd_work(pointer, follow=True, spent=work)[0]
    return work


def _pillow_tags(
    fp: BinaryIO, fmt: str, image: Image.Image | None, problems: list[str]
) -> dict[str, Any]:
    if image is not None:
        return _pillow_image_tags(image, fmt, problems)
    # Imported here: imaging imports this module, and only this fallback needs to open the photo.
    from hazard_reporter.photos.imaging import ImageFormat, open_image

    try:
        fp.seek(0)
        with open_image(fp, ImageFormat(fmt)) as opened:
            return _pillow_image_tags(opened, fmt, problems)
    except Exception:
        problems.append("exif_corrupt")
        return {}


def _pillow_image_tags(image: Image.Image, fmt: str, problems: list[str]) -> dict[str, Any]:
    try:
        exif = image.getexif()
    except Exception:  # includes Pillow's "Corrupt EXIF data" warning when warnings are errors
        problems.append("exif_corrupt")
        return {}
    tags: dict[str, Any] = {}
    count = 0
    ifds = ((None, _IFD0), (_EXIF_IFD_POINTER, _EXIF_IFD), (_GPS_IFD_POINTER, _GPS_IFD))
    for ifd_pointer, names in ifds:
        try:
            entries = exif if ifd_pointer is None else exif.get_ifd(ifd_pointer)
            count += len(entries)
            for tag_id, name in names.items():
                if tag_id in entries:
                    tags[name] = entries[tag_id]
        except Exception:  # one broken sub-IFD must not lose the others
            if "exif_corrupt" not in problems:
                problems.append("exif_corrupt")
    if _GPS_IFD_POINTER in exif:
        tags["_gps_ifd"] = True
    if fmt == "heif":
        # pillow-heif rotates the pixels itself and rewrites Orientation to 1; the file's own
        # value is kept aside, and that is what the file states.
        original = image.info.get("original_orientation")
        if original is not None:
            tags["Orientation"] = original
    if count:
        tags["_count"] = count
    return tags


# --- interpreting raw values ------------------------------------------------------------------


def _interpret(tags: dict[str, Any], reader: str, problems: list[str]) -> PhotoMetadata:
    lat, lon, alt = _gps(tags, problems)
    taken_at, offset = _timestamp(tags, problems)
    return PhotoMetadata(
        gps_lat=lat,
        gps_lon=lon,
        gps_alt=alt,
        taken_at=taken_at,
        utc_offset_minutes=offset,
        orientation=_orientation(tags.get("Orientation"), problems),
        make=_text(tags.get("Make")),
        model=_text(tags.get("Model")),
        has_exif=bool(tags.get("_count")),
        reader=reader,
        problems=tuple(dict.fromkeys(problems)),  # de-duplicated, in order
    )


def _text(value: Any) -> str | None:
    """A stripped printable string from an ASCII tag, or None."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bytes):
        value = value[:_MAX_RAW_TEXT].decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value[:_MAX_RAW_TEXT]
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    return text[:_MAX_TEXT] or None


def _integer(value: Any) -> int | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bytes):
        value = value[0] if len(value) >= 1 else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _number(value: Any) -> float | None:
    """A finite float from an EXIF number (int, Fraction, IFDRational); None if undefined."""
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        if getattr(value, "denominator", 1) == 0:  # n/0: "unknown" in EXIF, NaN in Pillow
            return None
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def _orientation(value: Any, problems: list[str]) -> int | None:
    if value is None:
        return None
    orientation = _integer(value)
    if orientation is None or not 1 <= orientation <= 8:
        problems.append("orientation_invalid")
        return None
    return orientation


def _gps(
    tags: dict[str, Any], problems: list[str]
) -> tuple[float | None, float | None, float | None]:
    has_lat, has_lon = "GPSLatitude" in tags, "GPSLongitude" in tags
    if not (has_lat or has_lon):
        if tags.get("_gps_ifd"):
            problems.append("gps_empty")
        return None, None, None
    lat = _coordinate(tags.get("GPSLatitude"), tags.get("GPSLatitudeRef"), "NS", 90, problems)
    lon = _coordinate(tags.get("GPSLongitude"), tags.get("GPSLongitudeRef"), "EW", 180, problems)
    if lat is None or lon is None:  # half a position is no position
        return None, None, None
    if abs(lat) < _NULL_ISLAND_EPS and abs(lon) < _NULL_ISLAND_EPS:
        # Receivers without a fix write 0,0; it is not a place in the Gulf of Guinea.
        problems.append("gps_null_island")
        return None, None, None
    return lat, lon, _altitude(tags, problems)


def _coordinate(
    value: Any, ref: Any, hemispheres: str, limit: float, problems: list[str]
) -> float | None:
    """Signed decimal degrees from EXIF's (degrees, minutes, seconds) rationals and its ref;
    ``hemispheres`` is "NS" or "EW" (positive, negative) and ``limit`` the largest magnitude."""
    positive, negative = hemispheres
    if value is None:
        problems.append("gps_empty")
        return None
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    if not 1 <= len(parts) <= 3:
        problems.append("gps_empty" if not parts else "gps_invalid")
        return None
    if any(getattr(part, "denominator", 1) == 0 for part in parts):
        problems.append("gps_empty")  # 0/0 rationals: the GPS tags exist but say nothing
        return None
    numbers = [_number(part) for part in parts]
    if any(number is None for number in numbers):
        problems.append("gps_invalid")
        return None
    magnitude = sum(abs(n) / 60**i for i, n in enumerate(numbers))  # type: ignore[arg-type]
    already_negative = any(n < 0 for n in numbers)  # type: ignore[operator]
    letter = _hemisphere(ref)
    if letter not in ("", positive, negative):
        problems.append("gps_invalid")  # an unknown hemisphere: better no position than a wrong one
        return None
    if magnitude > limit:  # also catches 4294967295 written as "unknown"
        problems.append("gps_out_of_range")
        return None
    # A missing ref means "as signed" (as exiftool reads it); a value already negative stays so.
    return -magnitude if letter == negative or already_negative else magnitude


def _hemisphere(ref: Any) -> str | None:
    """The upper-case first letter of a GPS ref; "" when it is absent or blank; None when it is
    not text at all (a SHORT 83 is not "S": better no position than a mirrored one)."""
    if ref is None:
        return ""
    if isinstance(ref, (list, tuple)) and len(ref) == 1:
        ref = ref[0]
    if not isinstance(ref, (str, bytes)):
        return None
    return (_text(ref) or "").upper()[:1]


def _altitude(tags: dict[str, Any], problems: list[str]) -> float | None:
    if "GPSAltitude" not in tags:
        return None
    altitude = _number(tags["GPSAltitude"])
    if altitude is None:
        return None
    if _integer(tags.get("GPSAltitudeRef")) == 1:  # 1 = below sea level
        altitude = -abs(altitude)
    low, high = _ALTITUDE_RANGE_M
    if not low <= altitude <= high:
        problems.append("gps_altitude_out_of_range")
        return None
    return altitude


def _timestamp(tags: dict[str, Any], problems: list[str]) -> tuple[datetime | None, int | None]:
    """The capture time (DateTimeOriginal, else DateTimeDigitized, else DateTime) and offset."""
    for name, subsec_name, offset_name in _TIMESTAMPS:
        text = _text(tags.get(name))
        if text is None or _is_blank_datetime(text):
            continue
        parsed = _parse_datetime(text, _text(tags.get(subsec_name)))
        if parsed is None:
            problems.append("datetime_invalid")
            continue
        taken_at, embedded_offset = parsed
        offset = embedded_offset
        for candidate in (offset_name, "OffsetTimeOriginal", "OffsetTime"):
            if offset is None:
                offset = _parse_offset(_text(tags.get(candidate)), problems)
        return taken_at, offset
    offset = _parse_offset(_text(tags.get("OffsetTimeOriginal")), problems)
    if offset is None:
        offset = _parse_offset(_text(tags.get("OffsetTime")), problems)
    return None, offset


def _is_blank_datetime(text: str) -> bool:
    # Cameras with an unset clock write "0000:00:00 00:00:00" or spaces around the colons.
    return not text.strip(" :0")


def _parse_datetime(text: str, subsec: str | None) -> tuple[datetime, int | None] | None:
    match = _DATETIME_RE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or (subsec if subsec and subsec.isdigit() else None)
    microsecond = int((fraction + "000000")[:6]) if fraction else 0
    try:
        taken_at = datetime(year, month, day, hour, minute, second, microsecond)
    except ValueError:
        return None
    offset_text = match.group(8)
    offset = _parse_offset(offset_text, []) if offset_text else None
    return taken_at, offset


def _parse_offset(text: str | None, problems: list[str]) -> int | None:
    if text is None or not text.strip(" :"):
        return None
    if text == "Z":
        return 0
    match = _OFFSET_RE.match(text)
    if match is None:
        problems.append("offset_invalid")
        return None
    sign, hours, minutes = match.groups()
    total = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or total > _MAX_OFFSET_MINUTES:
        problems.append("offset_invalid")
        return None
    return -total if sign == "-" else total
