"""Photo intake and derivatives: check an upload, keep the original, make safe renditions."""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_reporter.core.storage import Storage
from hazard_reporter.errors import EmptyPhoto, PhotoTooLarge, StorageUnavailable
from hazard_reporter.photos.imaging import InspectedImage, inspect_image, make_derivatives
from hazard_reporter.photos.models import DerivativeState, Photo

log = logging.getLogger(__name__)

ORIGINALS = "originals"
DERIVATIVES = "derivatives"


@dataclass(frozen=True)
class IncomingPhoto:
    filename: str
    stream: BinaryIO  # seekable (Werkzeug spools large uploads to a temporary file)


@dataclass(frozen=True)
class CheckedPhoto:
    filename: str
    stream: BinaryIO
    size: int
    sha256: str
    image: InspectedImage


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def check_photo(photo: IncomingPhoto, *, max_bytes: int, max_pixels: int) -> CheckedPhoto:
    """Size, format and decodability of one upload, and its metadata; raises a 4xx error."""
    size = _size_of(photo.stream)
    if size == 0:
        raise EmptyPhoto(field="photos", filename=photo.filename)
    if size > max_bytes:
        raise PhotoTooLarge(
            field="photos", filename=photo.filename, limit_mb=round(max_bytes / 1024 / 1024, 1)
        )
    image = inspect_image(photo.stream, filename=photo.filename, max_pixels=max_pixels)
    photo.stream.seek(0)
    sha256 = _sha256_of(photo.stream)
    return CheckedPhoto(photo.filename, photo.stream, size, sha256, image)


def original_key(now: datetime, extension: str) -> str:
    """A fresh key for an original; never reused, so a failed attempt cannot touch another's."""
    return f"{ORIGINALS}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.{extension}"


def store_originals(storage: Storage, photos: list[CheckedPhoto], *, now: datetime) -> list[str]:
    """Store every original durably, or none: on failure the ones stored are removed."""
    keys: list[str] = []
    try:
        for photo in photos:
            key = original_key(now, photo.image.format.extension)
            photo.stream.seek(0)
            storage.put(key, photo.stream, photo.image.format.mime)
            keys.append(key)
    except StorageUnavailable:
        discard(storage, keys)
        raise
    return keys


def discard(storage: Storage, keys: list[str]) -> None:
    """Remove stored objects after a failed submission; what cannot be removed now is an orphan
    the clean-up command finds later."""
    for key in keys:
        try:
            storage.delete(key)
        except (StorageUnavailable, OSError):
            log.warning("could not remove %s; left for the orphan clean-up", key)


def build_photo(checked: CheckedPhoto, key: str, position: int, captured_at) -> Photo:
    """The row for one stored original."""
    meta = checked.image.metadata
    return Photo(
        position=position,
        original_key=key,
        sha256=checked.sha256,
        size_bytes=checked.size,
        format=checked.image.format.value,
        width=checked.image.width,
        height=checked.image.height,
        metadata_=meta.as_dict(),
        gps_lat=meta.gps_lat,
        gps_lon=meta.gps_lon,
        captured_at=captured_at,
        derivatives=DerivativeState.PENDING,
    )


def make_photo_derivatives(
    session: Session,
    storage: Storage,
    photo_id: int,
    *,
    display_px: int,
    thumbnail_px: int,
    near_duplicate_distance: int | None = None,
) -> Photo | None:
    """Make the display and thumbnail renditions of one photo; safe to run twice."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.derivatives == DerivativeState.READY:
        return photo
    try:
        with storage.open(photo.original_key) as fp:
            result = make_derivatives(fp, display_px=display_px, thumbnail_px=thumbnail_px)
    except StorageUnavailable:
        raise  # try again later; the photo stays pending
    except Exception as exc:  # a photo that passed intake but will not render: record, move on
        log.exception("derivatives failed for photo %s", photo_id)
        photo.derivatives = DerivativeState.FAILED
        photo.derivatives_error = f"{type(exc).__name__}: {exc}"[:200]
        return photo
    stem = f"{DERIVATIVES}/{photo.id}"
    display_key, thumbnail_key = f"{stem}/display.jpg", f"{stem}/thumbnail.jpg"
    storage.put_bytes(display_key, result.display.data, "image/jpeg")
    storage.put_bytes(thumbnail_key, result.thumbnail.data, "image/jpeg")
    photo.display_key, photo.thumbnail_key = display_key, thumbnail_key
    photo.display_width, photo.display_height = result.display.width, result.display.height
    photo.thumbnail_width = result.thumbnail.width
    photo.thumbnail_height = result.thumbnail.height
    photo.phash = result.phash
    photo.derivatives = DerivativeState.READY
    photo.derivatives_error = None
    if near_duplicate_distance is not None:
        flag_near_duplicate(session, photo, max_distance=near_duplicate_distance)
    return photo


def flag_near_duplicate(
    session: Session, photo: Photo, *, max_distance: int, days: int = 30
) -> bool:
    """Flag the photo's report when a near-identical photo (perceptual hash within
    ``max_distance`` bits) came from someone else in the last ``days``; True if flagged."""
    from hazard_reporter.reports.models import Flag, Report

    report = photo.report
    if photo.kind != "report" or not photo.phash:
        return False
    since = photo.created_at - timedelta(days=days)
    rows = session.execute(
        select(Photo.phash, Report.reporter_id)
        .join(Report, Photo.report_id == Report.id)
        .where(
            Photo.phash.is_not(None),
            Photo.kind == "report",
            Photo.report_id != report.id,
            Photo.created_at >= since,
            Report.sector == report.sector,
        )
        .limit(20_000)
    ).all()
    mine = int(photo.phash, 16)
    for other_hash, other_reporter in rows:
        someone_else = report.reporter_id is None or other_reporter != report.reporter_id
        if someone_else and (mine ^ int(other_hash, 16)).bit_count() <= max_distance:
            if Flag.DUPLICATE_PHOTO.value not in (report.flags or []):
                report.flags = [*(report.flags or []), Flag.DUPLICATE_PHOTO.value]
                report.flags_cleared_at = None
            return True
    return False


def find_orphans(session: Session, storage: Storage, *, older_than: datetime) -> list[str]:
    """Stored files no photo row refers to, last written before ``older_than`` (younger ones may
    belong to a submission still in flight)."""
    referenced: set[str] = set()
    for original, display, thumbnail in session.execute(
        select(Photo.original_key, Photo.display_key, Photo.thumbnail_key)
    ):
        referenced.update(k for k in (original, display, thumbnail) if k)
    orphans = []
    for prefix in (ORIGINALS, DERIVATIVES):
        for item in storage.list(prefix + "/"):
            if item.key not in referenced and item.modified < older_than:
                orphans.append(item.key)
    return orphans


def pending_photo_ids(session: Session) -> list[int]:
    """Photos whose renditions were never made (e.g. the process stopped first)."""
    return list(
        session.scalars(
            select(Photo.id).where(Photo.derivatives == DerivativeState.PENDING).order_by(Photo.id)
        )
    )
