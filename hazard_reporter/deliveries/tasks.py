"""Delivery tasks: thin, idempotent, safe to run from several workers at once."""

from __future__ import annotations

from flask import current_app

from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import task
from hazard_reporter.deliveries import services
from hazard_reporter.extensions import db


@task
def process_deliveries_task(
    limit: int = 100, budget_seconds: float | None = None
) -> services.ProcessResult:
    """Attempt every delivery that is due (one batch of ``limit``, started within
    ``budget_seconds`` when given), each committed on its own."""
    try:
        return services.process_due(
            db.session,
            now=utcnow(),
            config=current_app.config,
            limit=limit,
            budget_seconds=budget_seconds,
        )
    except Exception:
        db.session.rollback()
        raise


@task
def send_deliveries_task(*delivery_ids: int) -> services.ProcessResult:
    """Attempt these deliveries now, if still due (right after they were enqueued or retried)."""
    try:
        return services.process_due(
            db.session,
            now=utcnow(),
            config=current_app.config,
            ids=delivery_ids,
            limit=max(1, len(delivery_ids)),
        )
    except Exception:
        db.session.rollback()
        raise
