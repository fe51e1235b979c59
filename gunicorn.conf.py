"""gunicorn's settings, read from the folder gunicorn is started in (its default
``./gunicorn.conf.py``); flags on the command line still set workers, binding and the rest.

Each worker starts the app's background loop (``hazard_reporter/core/background.py``) as soon as
it has loaded the app, not with the first request it serves: a worker started at night sends the
deliveries still due, escalates and sweeps before anyone reports. Started elsewhere, without this
file, the loop still starts with the worker's first request.
"""


def post_worker_init(worker):
    from hazard_reporter.core import background

    background.start_now(worker.wsgi)
