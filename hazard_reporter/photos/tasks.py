"""Photo tasks: thin, idempotent, by id."""

from __future__ import annotations

from flask import current_app

from hazard_reporter.core.tasks import current_storage
from hazard_reporter.extensions import db
from hazard_reporter.photos.services import make_photo_derivatives


def make_derivatives_task(photo_id: int) -> None:
    """Make one photo's display and thumbnail renditions, then commit."""
    config = current_app.config
    try:
        make_photo_derivatives(
            db.session,
            current_storage(),
            photo_id,
            display_px=config["DISPLAY_PX"],
            thumbnail_px=config["THUMBNAIL_PX"],
            near_duplicate_distance=config["NEAR_DUPLICATE_DISTANCE"],
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
