"""The embedded default's background work: one daemon thread per serving process that, every few
seconds, sends the daily duty report once its window closes (15:30), sends due outbox deliveries,
escalates overdue reports and makes the renditions still missing after
``HAZARD_RENDITION_SWEEP_GRACE_SECONDS``, and every ``HAZARD_UPLOAD_SWEEP_SECONDS`` removes the
phones' direct uploads no report claimed in time.

It is armed by ``wsgi.py`` (the serving entry point), never by ``create_app``, so tests and
commands run no thread. It starts when gunicorn has loaded the app in a worker
(``gunicorn.conf.py``), or else with the first request served. At scale, Celery workers and beat
do this work instead (``core/queue.py``); several processes running this loop at once are safe
(deliveries are claimed with a lease, escalations are unique, renditions made once are kept).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

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
_START = "hazard_background_start"  # app.extensions: starts the loop (armed by ``start``)
# A pass starts no delivery after this long, so that endpoints timing out (15 s an attempt) hold
# up the pass's other jobs, and the next pass, by at most about this much plus one attempt.
DELIVERIES_BUDGET_SECONDS = 30


def _due(app: Flask, name: str, clock: float) -> bool:
    """True unless the spaced job ``name`` is off (its interval 0, as for beat) or succeeded in
    this process less than its interval before ``clock``."""
    interval = float(app.config[_SPACED[name]])
    last = app.extensions.get(_LAST_RUNS, {}).get(name)
    return interval > 0 and (last is None or clock - last >= interval)


def _make_missing_renditions(app: Flask) -> None:
    """Renditions of the photos still without them after the grace period (the request's own
    attempt failed, or its process stopped first), each photo on its own: one whose original
    cannot be read holds up none of the others. Raises at the end if any failed."""
    from hazard_reporter.core.db import utcnow
    from hazard_reporter.extensions import db
    from hazard_reporter.photos.services import pending_photo_ids
    from hazard_reporter.photos.tasks import make_derivatives_task

    grace = timedelta(seconds=app.config["RENDITION_SWEEP_GRACE_SECONDS"])
    failed = []
    for photo_id in pending_photo_ids(db.session, created_before=utcnow() - grace):
        try:
            make_derivatives_task(photo_id)  # rolls back on failure
        except Exception:
            log.exception("renditions of photo %s failed; tried again at the next pass", photo_id)
            failed.append(photo_id)
    if failed:
        raise RuntimeError(f"renditions failed for {len(failed)} photo(s): {failed[:10]}")


def run_once(app: Flask, *, clock: float | None = None) -> dict[str, bool]:
    """One pass of every background job that is due, each isolated from the others' failures;
    returns whether each job that ran succeeded, by name. ``clock`` is a ``time.monotonic()``
    reading (the current one when not given); a spaced job that fails is due again at once."""
    from hazard_reporter.deliveries.tasks import process_deliveries_task
    from hazard_reporter.duty.tasks import send_duty_reports_task
    from hazard_reporter.extensions import db
    from hazard_reporter.inspection.tasks import escalate_overdue_task
    from hazard_reporter.photos.tasks import remove_unclaimed_uploads_task

    clock = time.monotonic() if clock is None else clock
    jobs = [
        ("duty report", send_duty_reports_task),
        ("deliveries", lambda: process_deliveries_task(budget_seconds=DELIVERIES_BUDGET_SECONDS)),
        ("escalation", escalate_overdue_task),
        ("renditions", lambda: _make_missing_renditions(app)),
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
                log.exception("background job %s failed", name)
                db.session.rollback()
                succeeded[name] = False
            finally:
                db.session.remove()
        if succeeded[name] and name in _SPACED:
            app.extensions.setdefault(_LAST_RUNS, {})[name] = clock
    return succeeded


def start(app: Flask) -> bool:
    """Arm the loop, unless it is disabled (``HAZARD_BACKGROUND_SECONDS=0``) or another runner is
    set: it starts with ``start_now`` (gunicorn's hook once a worker has loaded the app) or with
    the first request this process serves. Not starting it here keeps ``flask db upgrade`` and the
    other commands, which import the same app, free of it, as well as gunicorn's master process
    when it loads the app before forking its workers (``--preload``)."""
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
    app.extensions[_START] = start_once
    return True


def start_now(app: object) -> bool:
    """Start the loop armed by ``start`` at once (in a serving process, after any fork); False
    when ``app`` has none armed (switched off, another runner, or not this project's app)."""
    start_once = getattr(app, "extensions", {}).get(_START)
    if start_once is None:
        return False
    start_once()
    return True
