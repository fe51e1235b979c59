"""Photo intake and derivatives: check an upload, keep the original, make safe renditions."""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hazard_reporter.core.storage import IncomingFile, Storage
from hazard_reporter.errors import (
    DirectUploadUnavailable,
    EmptyPhoto,
    PhotoTooLarge,
    StorageUnavailable,
    UploadAlreadyUsed,
    UploadExpired,
    UploadKeyInvalid,
    UploadMissing,
)
from hazard_reporter.photos.imaging import InspectedImage, inspect_image, make_derivatives
from hazard_reporter.photos.models import DerivativeState, Photo

log = logging.getLogger(__name__)

ORIGINALS = "originals"
DERIVATIVES = "derivatives"
UPLOADS = "uploads"  # phones' direct uploads, until a report claims them


@dataclass(frozen=True)
class IncomingPhoto:
    filename: str
    stream: BinaryIO  # seekable (Werkzeug spools large uploads to a temporary file)
    stored_key: str | None = None  # already in storage: uploaded straight to the bucket
    uploaded_at: datetime | None = None  # when the phone put it there (the object's time)


@dataclass(frozen=True)
class CheckedPhoto:
    filename: str
    stream: BinaryIO
    size: int
    sha256: str
    image: InspectedImage
    stored_key: str | None = None
    uploaded_at: datetime | None = None


def _size_of(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def incoming_photo_file(storage: Storage) -> IncomingFile:
    """A file to spool an uploaded photo into, where ``store_originals`` can keep it cheaply."""
    return storage.incoming_file(ORIGINALS)


def start_syncing(photos: list[IncomingPhoto]) -> None:
    """Let the uploads' bytes go to the disk while the request checks them (``put`` waits)."""
    for photo in photos:
        if isinstance(photo.stream, IncomingFile):
            photo.stream.sync_soon()


def _sha256_of(stream: BinaryIO) -> str:
    known = getattr(stream, "sha256", None)  # an IncomingFile hashed it as it was written
    if known is not None:
        return known
    digest = hashlib.sha256()
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def check_photo(
    photo: IncomingPhoto, *, max_bytes: int, max_pixels: int, decode: bool = True
) -> CheckedPhoto:
    """Size, format and decodability (``decode``; else the header and the file's end) of one
    upload, and its metadata; raises a 4xx error."""
    size = _size_of(photo.stream)
    if size == 0:
        raise EmptyPhoto(field="photos", filename=photo.filename)
    if size > max_bytes:
        raise PhotoTooLarge(
            field="photos", filename=photo.filename, limit_mb=round(max_bytes / 1024 / 1024, 1)
        )
    image = inspect_image(
        photo.stream, filename=photo.filename, max_pixels=max_pixels, decode=decode
    )
    photo.stream.seek(0)
    sha256 = _sha256_of(photo.stream)
    return CheckedPhoto(
        photo.filename, photo.stream, size, sha256, image, photo.stored_key, photo.uploaded_at
    )


def original_key(now: datetime, extension: str) -> str:
    """A fresh key for an original; never reused, so a failed attempt cannot touch another's."""
    return f"{ORIGINALS}/{now:%Y/%m/%d}/{uuid.uuid4().hex}.{extension}"


def original_keys(photos: list[CheckedPhoto], *, now: datetime) -> list[str]:
    """Where each original is to be kept: a fresh key each, a phone's direct upload included
    (its presigned POST may write the upload's key again until it expires; what was checked is
    what is kept)."""
    return [original_key(now, p.image.format.extension) for p in photos]


def store_originals(storage: Storage, photos: list[CheckedPhoto], keys: list[str]) -> None:
    """Store every original durably under its key (``original_keys``), or none: on failure the
    ones stored are removed. A direct upload is stored from the copy that was checked; the
    upload itself stays for a retry to name, until the sweep removes it."""
    stored: list[str] = []
    try:
        for photo, key in zip(photos, keys, strict=True):
            photo.stream.seek(0)
            storage.put(key, photo.stream, photo.image.format.mime)
            stored.append(key)
    except Exception:
        # Not only StorageUnavailable: whatever stops the loop, the ones stored go.
        discard(storage, stored)
        raise


# --- direct uploads: phone to bucket ----------------------------------------------------------

UPLOAD_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif")
# A report may claim an upload until this long before the sweep may remove it: longer than any
# request takes, so an upload is never removed while a report that claims it is being made.
CLAIM_MARGIN = timedelta(minutes=10)
_UPLOAD_KEY = re.compile(rf"^{UPLOADS}/\d{{4}}/\d{{2}}/\d{{2}}/[0-9a-f]{{32}}$")


def presign_upload(
    storage: Storage, *, content_type: str, now: datetime, max_bytes: int, seconds: int
) -> dict:
    """A fresh key and the presigned POST a phone sends one photo with (type and size bounded
    by the bucket's policy); the report then names the key in ``upload_keys``."""
    key = f"{UPLOADS}/{now:%Y/%m/%d}/{uuid.uuid4().hex}"
    post = storage.presigned_post(
        key, content_type=content_type, max_bytes=max_bytes, seconds=seconds
    )
    if post is None:
        raise DirectUploadUnavailable()
    return {
        "key": key,
        "url": post["url"],
        "fields": post["fields"],
        "expires_at": now + timedelta(seconds=seconds),
        "max_bytes": max_bytes,
    }


def fetch_upload(storage: Storage, key: str, *, max_bytes: int) -> IncomingPhoto:
    """A phone's upload as an incoming photo, copied to a temporary file to be checked like any
    other (size, format from its bytes, sha256). The caller closes its stream."""
    if not _UPLOAD_KEY.match(key):
        raise UploadKeyInvalid(field="upload_keys", key=key[:80])
    name = key.rsplit("/", 1)[1]
    copy = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - returned open
    try:
        uploaded_at = storage.modified(key)
        with storage.open(key) as source:
            while chunk := source.read(1024 * 1024):
                copy.write(chunk)
                if copy.tell() > max_bytes:
                    raise PhotoTooLarge(
                        field="upload_keys", filename=name, limit_mb=round(max_bytes / 2**20, 1)
                    )
    except FileNotFoundError:
        copy.close()
        raise UploadMissing(field="upload_keys", key=key) from None
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return IncomingPhoto(filename=name, stream=copy, stored_key=key, uploaded_at=uploaded_at)


def ensure_unclaimed(
    session: Session,
    photos: list[CheckedPhoto],
    *,
    now: datetime | None = None,
    keep: timedelta | None = None,
) -> None:
    """Refuse an upload another report already holds and, given ``now`` and ``keep``, one too
    near the end of its keep period: the sweep may be removing it as this report is made."""
    keys = [p.stored_key for p in photos if p.stored_key is not None]
    if now is not None and keep is not None:
        limit = now - keep + CLAIM_MARGIN
        for photo in photos:
            if photo.stored_key and photo.uploaded_at and photo.uploaded_at < limit:
                hours = round(keep / timedelta(hours=1))
                raise UploadExpired(field="upload_keys", key=photo.stored_key, hours=hours)
    if keys:
        # By either key: a photo claimed before migration 0014, or by a process still running
        # the code before it, has its upload's key as its original.
        taken = session.execute(
            select(Photo.upload_key, Photo.original_key)
            .where(or_(Photo.upload_key.in_(keys), Photo.original_key.in_(keys)))
            .limit(1)
        ).first()
        if taken is not None:
            raise UploadAlreadyUsed(field="upload_keys", key=taken.upload_key or taken.original_key)


def discard(storage: Storage, keys: list[str]) -> None:
    """Remove stored objects after a failed submission; what cannot be removed now is an orphan
    the clean-up command finds later."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # best effort: the caller's own error is the one to report
            log.warning("could not remove %s; left for the orphan clean-up", key)


def build_photo(checked: CheckedPhoto, key: str, position: int, captured_at) -> Photo:
    """The row for one stored original."""
    meta = checked.image.metadata
    return Photo(
        position=position,
        original_key=key,
        upload_key=checked.stored_key,
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


# Decodings of one photo that may end without a word (the worker killed) before it is failed.
MAX_RENDER_ATTEMPTS = 3


def make_photo_derivatives(
    session: Session,
    storage: Storage,
    photo_id: int,
    *,
    display_px: int,
    thumbnail_px: int,
    near_duplicate_distance: int | None = None,
) -> Photo | None:
    """Make the display and thumbnail renditions of one photo (the caller commits); safe to run
    twice. Each decoding is counted, committed, before it starts, and given back once it ends: a
    photo whose decoding has killed its worker ``MAX_RENDER_ATTEMPTS`` times (out of memory, a
    codec crash) is marked failed rather than handed to worker after worker. Storage away while
    the renditions are written leaves the photo pending, for the sweep."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.derivatives == DerivativeState.READY:
        log.info("photo %s: renditions already made, nothing to do", photo_id)
        return photo
    if photo.derivatives_attempts >= MAX_RENDER_ATTEMPTS:
        log.error(
            "photo %s: %s decodings never ended; marked failed", photo_id, MAX_RENDER_ATTEMPTS
        )
        photo.derivatives = DerivativeState.FAILED
        photo.derivatives_error = f"its decoding stopped the worker {MAX_RENDER_ATTEMPTS} times"
        return photo
    try:
        with storage.open(photo.original_key) as fp:
            photo.derivatives_attempts += 1
            session.commit()  # counted even if this process dies decoding it
            try:
                result = make_derivatives(fp, display_px=display_px, thumbnail_px=thumbnail_px)
            except Exception:
                _decoding_ended(session, photo)
                raise
            _decoding_ended(session, photo)
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


def _decoding_ended(session: Session, photo: Photo) -> None:
    """Give back the decoding's count, committed: it ended (well or with an error) rather than
    killing the worker, and writing the renditions may still fail (storage away)."""
    photo.derivatives_attempts -= 1
    session.commit()


def flag_near_duplicate(
    session: Session, photo: Photo, *, max_distance: int, days: int = 30
) -> bool:
    """When a near-identical photo (perceptual hash within ``max_distance`` bits) came from
    someone else within ``days`` either side, flag the later of the two reports: the copy, not
    the original, whichever of them has its renditions made first (a lost task made again by
    the sweep comes late). True if this photo's report was flagged."""
    from hazard_reporter.reports.models import Report

    report = photo.report
    if photo.kind != "report" or not photo.phash:
        return False
    window = timedelta(days=days)
    rows = session.execute(
        select(Photo.phash, Report.id, Report.reporter_id, Report.submitted_at)
        .join(Report, Photo.report_id == Report.id)
        .where(
            Photo.phash.is_not(None),
            Photo.kind == "report",
            Photo.report_id != report.id,
            Report.submitted_at.between(report.submitted_at - window, report.submitted_at + window),
            Report.sector == report.sector,
        )
        .order_by(Photo.id.desc())
        .limit(20_000)
    ).all()
    mine = int(photo.phash, 16)
    flagged_mine = False
    for other_hash, other_id, other_reporter, other_at in rows:
        someone_else = report.reporter_id is None or other_reporter != report.reporter_id
        if not someone_else or (mine ^ int(other_hash, 16)).bit_count() > max_distance:
            continue
        if (other_at, other_id) < (report.submitted_at, report.id):
            _flag_duplicate_photo(report)
            flagged_mine = True
        else:
            _flag_duplicate_photo(session.get(Report, other_id))
    return flagged_mine


def _flag_duplicate_photo(report) -> None:
    from hazard_reporter.reports.models import Flag

    if Flag.DUPLICATE_PHOTO.value not in (report.flags or []):
        report.flags = [*(report.flags or []), Flag.DUPLICATE_PHOTO.value]
        report.flags_cleared_at = None


def find_orphans(
    session: Session,
    storage: Storage,
    *,
    older_than: datetime,
    uploads_older_than: datetime | None = None,
    batch: int = 1000,
) -> Iterator[str]:
    """Stored files no photo row refers to, last written before ``older_than`` (younger ones may
    belong to a submission still in flight); phones' direct uploads before ``uploads_older_than``
    (a phone may upload, lose its network, and send the report hours later).

    The listing is checked ``batch`` files at a time against the rows (originals and uploads by
    their unique key, renditions by the photo id in their key), so memory stays flat however
    many photos there are."""
    cutoffs = {
        ORIGINALS: older_than,
        DERIVATIVES: older_than,
        UPLOADS: min(older_than, uploads_older_than or older_than),
    }
    for prefix, cutoff in cutoffs.items():
        unreferenced = (
            _unreferenced_renditions if prefix == DERIVATIVES else _unreferenced_originals
        )
        keys = (item.key for item in storage.list(prefix + "/") if item.modified < cutoff)
        while chunk := list(itertools.islice(keys, batch)):
            yield from unreferenced(session, chunk)


def _unreferenced_originals(session: Session, keys: list[str]) -> list[str]:
    known = set(session.scalars(select(Photo.original_key).where(Photo.original_key.in_(keys))))
    return [key for key in keys if key not in known]


def _unreferenced_renditions(session: Session, keys: list[str]) -> list[str]:
    """Renditions are stored as ``derivatives/<photo id>/<name>``: each is kept only if that
    photo's row names it."""
    ids = {photo_id for key in keys if (photo_id := _rendition_photo_id(key)) is not None}
    named: set[str | None] = set()
    for display, thumbnail in session.execute(
        select(Photo.display_key, Photo.thumbnail_key).where(Photo.id.in_(ids))
    ):
        named.update((display, thumbnail))
    return [key for key in keys if key not in named]


def _rendition_photo_id(key: str) -> int | None:
    parts = key.split("/")
    ok = len(parts) == 3 and parts[1].isdigit() and len(parts[1]) <= 10
    return int(parts[1]) if ok else None


def pending_photo_ids(
    session: Session, *, created_before: datetime | None = None, limit: int = 10_000
) -> list[int]:
    """Photos whose renditions were never made (e.g. the process stopped first), oldest first."""
    query = select(Photo.id).where(Photo.derivatives == DerivativeState.PENDING)
    if created_before is not None:
        query = query.where(Photo.created_at < created_before)
    return list(session.scalars(query.order_by(Photo.id).limit(limit)))


def remove_unclaimed_uploads(
    session: Session, storage: Storage, *, now: datetime, keep: timedelta, days: int = 3
) -> int:
    """Remove the phones' direct uploads older than ``keep``: those no report claimed (reports
    stop claiming them ``CLAIM_MARGIN`` before, so none is removed as it is claimed), and those
    claimed, whose checked bytes a report keeps under its own key (until then a retry of that
    report may name them). Uploads claimed before migration 0014 are their photos' originals and
    stay. Only the last few days' folders past ``keep`` are listed (uploads are filed by day), so
    the sweep stays cheap however many uploads the bucket once held; returns how many were
    removed."""
    cutoff = now - keep
    removed = 0
    for back in range(days + 1):
        day = cutoff - timedelta(days=back)
        items = [i for i in storage.list(f"{UPLOADS}/{day:%Y/%m/%d}/") if i.modified < cutoff]
        for start in range(0, len(items), 500):
            batch = {i.key for i in items[start : start + 500]}
            claimed = set(
                session.scalars(select(Photo.original_key).where(Photo.original_key.in_(batch)))
            )
            for key in sorted(batch - claimed):
                storage.delete(key)
                removed += 1
    return removed
