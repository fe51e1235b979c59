"""Entry point for the Celery task queue (Redis at ``HAZARD_CELERY_BROKER_URL``):

    celery -A worker worker --loglevel INFO     # runs photo renditions, deliveries, escalations
    celery -A worker beat --loglevel INFO       # one per deployment: the periodic work

Web processes send tasks when they run with ``HAZARD_TASK_RUNNER=celery``.
"""

from hazard_reporter import create_app

flask_app = create_app({"TASK_RUNNER": "celery"})
celery = flask_app.extensions["hazard_celery"]
