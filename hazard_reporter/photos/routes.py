"""/api/v1/photos: the public, metadata-free renditions of report photos; /api/v1/uploads: a
phone's direct upload of a photo to the bucket."""

from __future__ import annotations

import io
import logging

from flask import current_app, redirect, request, send_file

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, photo_links, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.limits import upload_limits
from hazard_reporter.core.tasks import current_storage
from hazard_reporter.errors import (
    NotFound,
    PhotoFileMissing,
    PhotoNotRendered,
    PhotoProcessing,
    PhotoStorageUnavailable,
    StorageUnavailable,
)
from hazard_reporter.extensions import db
from hazard_reporter.photos import services as photo_services
from hazard_reporter.photos.imaging import ImageFormat
from hazard_reporter.photos.models import DerivativeState, Photo
from hazard_reporter.photos.schemas import UploadRequestSchema, UploadTicketSchema
from hazard_reporter.reports import access
from hazard_reporter.reports import services as report_services

log = logging.getLogger(__name__)
blp = HazardBlueprint("photos", __name__, url_prefix="/api/v1/photos", description="照片 Photos")
uploads = HazardBlueprint(
    "uploads", __name__, url_prefix="/api/v1/uploads", description="照片直传 Direct uploads"
)

MAX_ID = 2**31 - 1
PROCESSING_RETRY_SECONDS = 2


def _readable_photo(photo_id: int) -> Photo:
    """The photo, if the link is signed for it or the caller may read its report; else 404."""
    photo = db.session.get(Photo, photo_id)
    if photo is not None:
        if photo_links().allows(request.args.get("t"), photo_id):
            return photo
        if access.can_read(db.session, current_principal(), photo.report):
            return photo
    raise NotFound(what="该照片", what_en="photo")


def _read(key: str) -> bytes:
    """A stored file's bytes, or the error a reader can act on: missing (restored from the
    backup by an administrator), or storage away for the moment."""
    try:
        return current_storage().read(key)
    except FileNotFoundError:
        log.error("photo file %s is missing from storage", key)
        raise PhotoFileMissing() from None
    except StorageUnavailable as exc:
        raise PhotoStorageUnavailable(retry_after=exc.retry_after) from None


def _serve(photo_id: int, which: str):
    photo = _readable_photo(photo_id)
    key = photo.display_key if which == "display" else photo.thumbnail_key
    if photo.derivatives == DerivativeState.FAILED:
        raise PhotoNotRendered()
    if photo.derivatives != DerivativeState.READY or not key:
        raise PhotoProcessing(retry_after=PROCESSING_RETRY_SECONDS)
    try:
        direct = current_storage().url(key, current_app.config["S3_PRESIGN_SECONDS"])
    except StorageUnavailable as exc:
        raise PhotoStorageUnavailable(retry_after=exc.retry_after) from None
    if direct:
        return redirect(direct, code=302)
    # Renditions are small; reading them whole closes the file before the response is sent.
    response = send_file(io.BytesIO(_read(key)), mimetype="image/jpeg")
    # Renditions never change once made, and carry nothing private.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route(f"/<int(max={MAX_ID}):photo_id>/original")
@blp.response(200, description="The original file, unaltered, with its metadata")
@requires(Role.INSPECTOR, Role.ADMIN)
def original(photo_id):
    """The original photo (private evidence). Inspectors and admins of the report's scope; every
    read is written to the report's timeline."""
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        raise NotFound(what="该照片", what_en="photo")
    actor = current_principal()
    if not access.can_see_identity(db.session, actor, photo.report):
        raise NotFound(what="该照片", what_en="photo")
    data = _read(photo.original_key)  # before the timeline records a read that then failed
    report_services.record_original_read(db.session, photo, actor=actor, now=utcnow())
    response = send_file(
        io.BytesIO(data),
        mimetype=ImageFormat(photo.format).mime,
        download_name=f"report-{photo.report_id}-photo-{photo.id}.{ImageFormat(photo.format).extension}",
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route(f"/<int(max={MAX_ID}):photo_id>/display")
@blp.response(200, description="JPEG, longest side ≤ 1600 px, no EXIF/XMP/GPS")
def display(photo_id):
    """The display rendition of a photo."""
    return _serve(photo_id, "display")


@blp.route(f"/<int(max={MAX_ID}):photo_id>/thumbnail")
@blp.response(200, description="JPEG, longest side ≤ 400 px, no EXIF/XMP/GPS")
def thumbnail(photo_id):
    """The thumbnail of a photo."""
    return _serve(photo_id, "thumbnail")


@uploads.route("", methods=["POST"])
@uploads.arguments(UploadRequestSchema)
@uploads.response(201, UploadTicketSchema)
@uploads.alt_response(501, description="Photos are not kept in a bucket here: send them inline")
@uploads.alt_response(503, description="The bucket is unavailable; try again")
@upload_limits
def create_upload(body):
    """Upload a photo straight to the bucket: answers a presigned POST for one photo (its type,
    at most the photo size limit); POST the file there, then name the `key` in the report's
    `upload_keys`. Anyone may ask, like reporting; an upload no report claims is removed later."""
    config = current_app.config
    return photo_services.presign_upload(
        current_storage(),
        content_type=body["content_type"],
        now=utcnow(),
        max_bytes=config["MAX_PHOTO_BYTES"],
        seconds=config["S3_PRESIGN_SECONDS"],
    ), 201
