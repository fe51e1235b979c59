"""/api/v1/photos: the public, metadata-free renditions of report photos."""

from __future__ import annotations

import io

from flask import current_app, redirect, send_file

from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.tasks import current_storage
from hazard_reporter.errors import NotFound, PhotoProcessing
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import DerivativeState, Photo

blp = HazardBlueprint("photos", __name__, url_prefix="/api/v1/photos", description="照片 Photos")

MAX_ID = 2**31 - 1
PROCESSING_RETRY_SECONDS = 2


def _serve(photo_id: int, which: str):
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        raise NotFound(what="该照片", what_en="photo")
    key = photo.display_key if which == "display" else photo.thumbnail_key
    if photo.derivatives != DerivativeState.READY or not key:
        failed = photo.derivatives == DerivativeState.FAILED
        raise PhotoProcessing(retry_after=None if failed else PROCESSING_RETRY_SECONDS)
    storage = current_storage()
    direct = storage.url(key, current_app.config["S3_PRESIGN_SECONDS"])
    if direct:
        return redirect(direct, code=302)
    # Renditions are small; reading them whole closes the file before the response is sent.
    response = send_file(io.BytesIO(storage.read(key)), mimetype="image/jpeg")
    # Renditions never change once made, and carry nothing private.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
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
