"""The embedded default's background work: one daemon thread per serving process that, every few
seconds, sends the daily duty report once its window closes (15:30), sends due outbox deliveries,
escalates overdue reports and makes missing photo renditions.

It is armed by ``wsgi.py`` (the serving entry point), never by ``create_app``, and starts with the
first request served, so tests and commands run no thread. At scale, Celery workers and beat do
this work instead (``core/queue.py``); several processes running this loop at once are safe
(deliveries are claimed with a lease, escalations are unique).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)

_wake = threading.Event()


def wake() -> None:
    """Run the loop now rather than at its next tick (after a red alert or a forwarding)."""
    _wake.set()


def run_once(app: Flask) -> None:
    """One pass of every background job, each isolated from the others' failures."""
    from hazard_reporter.deliveries.tasks import process_deliveries_task
    from hazard_reporter.duty.tasks import send_duty_reports_task
    from hazard_reporter.extensions import db
    from hazard_reporter.inspection.tasks import escalate_overdue_task
    from hazard_reporter.photos.services import pending_photo_ids
    from hazard_reporter.photos.tasks import make_derivatives_task

    jobs = (
        ("duty report", send_duty_reports_task),
        ("deliveries", process_deliveries_task),
        ("escalation", escalate_overdue_task),
        ("renditions", lambda: [make_derivatives_task(i) for i in pending_photo_ids(db.session)]),
    )
    for name, job in jobs:
        with app.app_context():
            try:
                job()
            except Exception:
                log.exception("background job %s failed; it runs again at the next tick", name)
                db.session.rollback()
            finally:
                db.session.remove()


def start(app: Flask) -> bool:
    """Arrange for the loop to start with the first request this process serves, unless it is
    disabled (``HAZARD_BACKGROUND_SECONDS=0``) or another runner is set. Waiting for a request
    keeps ``flask db upgrade`` and the other commands, which import the same app, free of it."""
    seconds = float(app.config.get("BACKGROUND_SECONDS") or 0)
    if seconds <= 0 or app.config.get("TASK_RUNNER") != "inline":
        return False
    started = threading.Event()
    lock = threading.Lock()

    def loop() -> None:
        while True:
            run_once(app)
            _wake.wait(seconds)
            _wake.clear()

    def start_once() -> None:
        if started.is_set():
            return
        with lock:
            if not started.is_set():
                threading.Thread(target=loop, name="hazard-background", daemon=True).start()
                started.set()

    app.before_request(start_once)
    return True
