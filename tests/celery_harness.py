"""The project's Celery worker (``worker.py``) for the tests, with one change when
``HAZARD_TEST_SLOW_RENDER_DIR`` is set: a photo's rendering drops a marker file there and then
sleeps for a minute before doing the real work, so a test can kill the worker mid-task."""

import os
import time
from pathlib import Path

from hazard_reporter.photos import services

_slow_dir = os.environ.get("HAZARD_TEST_SLOW_RENDER_DIR")
if _slow_dir:
    _real = services.make_derivatives

    def _slow_make_derivatives(fp, **kwargs):
        Path(_slow_dir, f"started-{os.getpid()}").touch()
        time.sleep(60)
        return _real(fp, **kwargs)

    services.make_derivatives = _slow_make_derivatives

from worker import celery  # noqa: E402, F401
