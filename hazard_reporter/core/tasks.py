"""Background work. ``inline`` (the embedded default) runs a task in this process right after the
request's work is committed; a queue-backed runner (Celery) can take its place by name."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

log = logging.getLogger(__name__)


class InlineRunner:
    """Runs each task at once, in the calling process; a failure is logged, never raised, because
    the caller's own work is already committed and tasks can be run again."""

    name = "inline"

    def enqueue(self, task: Callable[..., object], *args: object) -> None:
        try:
            task(*args)
        except Exception:
            log.exception("task %s%r failed; it can be run again", task.__name__, args)


def create_runner(config) -> InlineRunner:
    """The runner named by ``HAZARD_TASK_RUNNER``."""
    kind = config.get("TASK_RUNNER", "inline")
    if kind == "inline":
        return InlineRunner()
    raise ValueError(f"HAZARD_TASK_RUNNER must be inline, not {kind!r}")


def register_services(app: Flask, storage, runner) -> None:
    app.extensions["hazard_storage"] = storage
    app.extensions["hazard_runner"] = runner


def current_storage():
    """The storage backend of the running app."""
    return current_app.extensions["hazard_storage"]


def current_runner() -> InlineRunner:
    """The task runner of the running app."""
    return current_app.extensions["hazard_runner"]
