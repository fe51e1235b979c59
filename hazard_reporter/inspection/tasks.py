"""Inspection tasks: the periodic escalation of overdue reports."""

from __future__ import annotations

from flask import current_app

from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import task
from hazard_reporter.extensions import db
from hazard_reporter.inspection.services import escalate_overdue
from hazard_reporter.reports.deadlines import DeadlinePolicy


@task
def escalate_overdue_task() -> int:
    """Escalate every report past a deadline, once per deadline; returns how many."""
    try:
        return escalate_overdue(
            db.session, now=utcnow(), policy=DeadlinePolicy.from_config(current_app.config)
        )
    except Exception:
        db.session.rollback()
        raise
