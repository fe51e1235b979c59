"""Duty-report tasks: the daily report, sent once per region and day once its window closes."""

from __future__ import annotations

from flask import current_app

from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import task
from hazard_reporter.duty.services import send_due_duty_reports
from hazard_reporter.extensions import db


@task
def send_duty_reports_task() -> int:
    """Send the day's duty reports if their window has closed and they were not sent yet."""
    try:
        return send_due_duty_reports(
            db.session, now=utcnow(), tz=current_app.config["LOCAL_TIMEZONE"]
        )
    except Exception:
        db.session.rollback()
        raise
