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


# Jobs run once an interval rather than at every tick (listing the bucket's recent upload folders
# is not worth doing every few seconds): the job's name and the setting of its interval, seconds.
_SPACED = {"unclaimed uploads": "UPLOAD_SWEEP_SECONDS"}
_LAST_RUNS = "hazard_background_last_runs"  # app.extensions: when each spaced job last succeeded


def _due(app: Flask, name: str, clock: float) -> bool:
    """True unless the spaced job ``name`` succeeded in this process less than its interval
    before ``clock``."""
    last = app.extensions.get(_LAST_RUNS, {}).get(name)
    return last is None or clock - last >= float(app.config[_SPACED[name]])


def run_once(app: Flask, *, clock: float | None = None) -> dict[str, bool]:
    """One pass of every background job that is due, each isolated from the others' failures;
    returns whether each job that ran succeeded, by name. ``clock`` is a ``time.monotonic()``
    reading (the current one when not given); a spaced job that fails is due again at once."""
    from hazard_reporter.deliveries.tasks import process_deliveries_task
    from hazard_reporter.duty.tasks import send_duty_reports_task
    from hazard_reporter.extensions import db
    from hazard_reporter.inspection.tasks import escalate_overdue_task
    from hazard_reporter.photos.services import pending_photo_ids
    from hazard_reporter.photos.tasks import make_derivatives_task, remove_unclaimed_uploads_task

    clock = time.monotonic() if clock is None else clock
    jobs = [
        ("duty report", send_duty_reports_task),
        ("deliveries", process_deliveries_task),
        ("escalation", escalate_overdue_task),
        ("renditions", lambda: [make_derivatives_task(i) for i in pending_photo_ids(db.session)]),
        ("unclaimed uploads", remove_unclaimed_uploads_task),
    ]
    succeeded = {}
    for name, job in jobs:
        if name in _SPACED and not _due(app, name, clock):
            continue
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
        if succeeded[name] and name in _SPACED:
            app.extensions.setdefault(_LAST_RUNS, {})[name] = clock
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
            try:
                run_once(app)
            except Exception:  # the database gone even for a rollback: the thread must live on
                log.exception("background pass failed; the loop runs again at the next tick")
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
