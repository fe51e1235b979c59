"""Background work, run by name (``HAZARD_TASK_RUNNER``).

``inline`` (the embedded default) runs a task in this process right after the request's work is
committed, and the serving process's loop (``core/background.py``) does the periodic work.
``celery`` sends the task to a Celery queue on Redis; workers run it, and Celery beat schedules
the periodic work (``core/queue.py``).

A task is a plain function over ids, registered with ``@task``: it loads what it needs, calls a
service, commits, and is safe to run twice, because a queue acknowledges late and may deliver a
task again after a worker dies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)

TASKS: dict[str, Callable[..., object]] = {}


def task(fn: Callable[..., object]) -> Callable[..., object]:
    """Register ``fn`` as a background task under its dotted name (the name Celery sends)."""
    name = f"{fn.__module__}.{fn.__name__}"
    TASKS[name] = fn
    fn.task_name = name  # type: ignore[attr-defined]
    return fn


class Runner(Protocol):
    name: str

    def enqueue(self, task: Callable[..., object], *args: object) -> None: ...

    def wake(self) -> None: ...


class InlineRunner:
    """Runs each task at once, in the calling process; a failure is logged, never raised, because
    the caller's own work is already committed and tasks can be run again."""

    name = "inline"

    def enqueue(self, task: Callable[..., object], *args: object) -> None:
        try:
            task(*args)
        except Exception:
            log.exception("task %s%r failed; it can be run again", task.__name__, args)

    def wake(self) -> None:
        """Send due deliveries now rather than at the loop's next tick."""
        from hazard_reporter.core import background

        background.wake()


class CeleryRunner:
    """Sends each task to the Celery queue. If the broker cannot take it, the task is logged and
    dropped: what it would have done is recorded in the database (a pending photo, a due
    delivery) and the periodic sweeps of beat pick it up."""

    name = "celery"

    def __init__(self, celery) -> None:
        from hazard_reporter.core.queue import TaskSender

        self.celery = celery
        self.sender = TaskSender(celery)

    def enqueue(self, task: Callable[..., object], *args: object) -> None:
        try:
            self.sender.send(task.task_name, args)  # type: ignore[attr-defined]
        except Exception:
            log.exception("could not queue %s%r; the periodic sweep will do it", task, args)

    def wake(self) -> None:
        from hazard_reporter.deliveries.tasks import process_deliveries_task

        self.enqueue(process_deliveries_task)


def create_runner(app: Flask) -> Runner:
    """The runner named by ``HAZARD_TASK_RUNNER``."""
    kind = app.config.get("TASK_RUNNER", "inline")
    if kind == "inline":
        return InlineRunner()
    if kind == "celery":
        from hazard_reporter.core.queue import make_celery

        celery = make_celery(app)
        app.extensions["hazard_celery"] = celery
        return CeleryRunner(celery)
    raise ValueError(f"HAZARD_TASK_RUNNER must be inline or celery, not {kind!r}")


def register_services(app: Flask, storage, runner: Runner) -> None:
    app.extensions["hazard_storage"] = storage
    app.extensions["hazard_runner"] = runner


def current_storage():
    """The storage backend of the running app."""
    return current_app.extensions["hazard_storage"]


def current_runner() -> Runner:
    """The task runner of the running app."""
    return current_app.extensions["hazard_runner"]
