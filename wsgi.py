"""Entry point for gunicorn and ``flask run``: ``gunicorn wsgi:app``.

Serving processes also run the embedded background loop (outbox, escalation, renditions) unless
``HAZARD_BACKGROUND_SECONDS=0`` or a task queue is configured.
"""

import gc

from hazard_reporter import create_app
from hazard_reporter.core import background
from hazard_reporter.core.memory import keep_freed_memory

# Uploads pass through in pieces of up to 1 MiB: keep the memory they free for the next one.
keep_freed_memory()
app = create_app()
background.start(app)
# What is loaded by now lives as long as the process: keep it out of the collector's full passes,
# which otherwise hold up a request for tens of milliseconds every few hundred requests.
gc.freeze()
