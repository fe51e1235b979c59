"""The embedded default's background work: one daemon thread per serving process that, every few
seconds, sends the daily duty report once its window closes (15:30), sends due outbox deliveries,
escalates overdue reports and makes missing photo renditions, and every
``HAZARD_UPLOAD_SWEEP_SECONDS`` removes the phones' direct uploads no report claimed in time.

It is armed by ``wsgi.py`` (the serving entry point), never by ``create_app``, and starts with the
first request served, so tests and commands run no thread. At scale, Celery workers and beat do
this work instead (``core/queue.py``); several processes running this loop at once are safe
(deliveries are claimed with a lease, escalations are unique).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

log = logging.getLogger(__name__)

_wake = threading.Event()


def wake() -> None:
    """Run the loop now rather than at its next tick (after a red alert or a forwarding)."""
    _wake.set()


def _due(app: Flask, name: str, interval_key: str, now: float) -> bool:
    """True when the job ``name`` has not run in this process for its interval (the config key
    ``interval_key``, seconds), and then counted as run at ``now``."""
    last_runs = app.extensions.setdefault("hazard_background_last_runs", {})
    last = last_runs.get(name)
    if last is not None and now - last < float(app.config[interval_key]):
        return False
    last_runs[name] = now
    return True


def run_once(app: Flask, *, now: float | None = None) -> dict[str, bool]:
    """One pass of every background job that is due, each isolated from the others' failures;
    returns whether each job that ran succeeded, by name. ``now`` is a monotonic clock's reading
    (``time.monotonic()`` when not given)."""
    from hazard_reporter.deliveries.tasks import process_deliveries_task
    from hazard_reporter.duty.tasks import send_duty_reports_task
    from hazard_reporter.extensions import db
    from hazard_reporter.inspection.tasks import escalate_overdue_task
    from hazard_reporter.photos.services import pending_photo_ids
    from hazard_reporter.photos.tasks import make_derivatives_task, remove_unclaimed_uploads_task

    now = time.monotonic() if now is None else now
    jobs = [
        ("duty report", send_duty_reports_task),
        ("deliveries", process_deliveries_task),
        ("escalation", escalate_overdue_task),
        ("renditions", lambda: [make_derivatives_task(i) for i in pending_photo_ids(db.session)]),
    ]
    # Listing the bucket's recent upload folders is not worth doing every few seconds.
    if _due(app, "uploads", "UPLOAD_SWEEP_SECONDS", now):
        jobs.append(("unclaimed uploads", remove_unclaimed_uploads_task))
    succeeded = {}
    for name, job in jobs:
        with app.app_context():
            try:
                job()
                succeeded[name] = True
            except Exception:
                log.exception("background job %s failed; it runs again at the next tick", name)
                db.session.rollback()
                succeeded[name] = False
            finally:
                db.session.remove()
    return succeeded


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
