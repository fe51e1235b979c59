"""Photo tasks: thin, idempotent, by id."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import current_runner, current_storage, task
from hazard_reporter.extensions import db
from hazard_reporter.photos.services import (
    make_photo_derivatives,
    pending_photo_ids,
    remove_unclaimed_uploads,
)


@task
def make_derivatives_task(photo_id: int) -> None:
    """Make one photo's display and thumbnail renditions, then commit (nothing if made already)."""
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
