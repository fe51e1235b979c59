"""Photo tasks: thin, idempotent, by id."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import current_runner, current_storage, task
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import DerivativeState, Photo
from hazard_reporter.photos.services import (
    make_photo_derivatives,
    pending_photo_ids,
    remove_unclaimed_uploads,
)

log = logging.getLogger(__name__)
READY = DerivativeState.READY


@task
def make_derivatives_task(photo_id: int) -> None:
    """Make one photo's display and thumbnail renditions, then commit (nothing if made already)."""
    config = current_app.config
    try:
        before = db.session.get(Photo, photo_id)
        was_ready = before is not None and before.derivatives == READY
        photo = make_photo_derivatives(
            db.session,
            current_storage(),
            photo_id,
            display_px=config["DISPLAY_PX"],
            thumbnail_px=config["THUMBNAIL_PX"],
            near_duplicate_distance=config["NEAR_DUPLICATE_DISTANCE"],
        )
        made = photo is not None and not was_ready and photo.derivatives == READY
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if made:  # logged once committed, so that each line stands for renditions that were kept
        log.info("photo %s: renditions made", photo_id)


@task
def sweep_pending_derivatives_task() -> int:
    """Queue again the photos still without renditions after the grace period (their task was
    lost with a broker restart, or failed on a storage outage); returns how many."""
    grace = timedelta(seconds=current_app.config["RENDITION_SWEEP_GRACE_SECONDS"])
    ids = pending_photo_ids(db.session, created_before=utcnow() - grace)
    db.session.rollback()  # end the read; each task has its own transaction
    for photo_id in ids:
        current_runner().enqueue(make_derivatives_task, photo_id)
    return len(ids)


@task
def remove_unclaimed_uploads_task() -> int:
    """Remove phones' direct uploads that no report claimed in time; returns how many."""
    keep = timedelta(hours=current_app.config["UPLOAD_KEEP_HOURS"])
    removed = remove_unclaimed_uploads(db.session, current_storage(), now=utcnow(), keep=keep)
    db.session.rollback()
    return removed
