"""The Celery task queue on Redis (``HAZARD_TASK_RUNNER=celery``): workers run the registered
tasks (``core/tasks.py``) inside the app's context, and beat schedules the periodic work that the
embedded setup's background loop does in-process.

Tasks are acknowledged late (after they finish) and rejected back to the queue when their worker
dies, so a killed worker loses nothing; every task is idempotent, so a task delivered again (after
``CELERY_VISIBILITY_SECONDS`` without an acknowledgement) duplicates nothing. Redis here may keep
nothing on disk: what a lost message would have done is recorded in the database first (a pending
photo, a due delivery, an overdue report), and the periodic sweeps find it again.
"""

from __future__ import annotations

import base64
import time
import uuid

from celery import Celery
from flask import Flask
from sqlalchemy.exc import DBAPIError

from hazard_reporter.errors import StorageUnavailable

# Import the modules whose @task functions the workers run.
TASK_MODULES = (
    "hazard_reporter.photos.tasks",
    "hazard_reporter.deliveries.tasks",
    "hazard_reporter.inspection.tasks",
    "hazard_reporter.duty.tasks",
)

# What beat sends, and how often (seconds, from the config key); the loop's work, one task each.
PERIODIC = {
    "deliveries": (
        "hazard_reporter.deliveries.tasks.process_deliveries_task",
        "BACKGROUND_SECONDS",
    ),
    "escalation": ("hazard_reporter.inspection.tasks.escalate_overdue_task", "ESCALATE_SECONDS"),
    "duty-report": ("hazard_reporter.duty.tasks.send_duty_reports_task", "DUTY_CHECK_SECONDS"),
    "renditions": (
        "hazard_reporter.photos.tasks.sweep_pending_derivatives_task",
        "RENDITION_SWEEP_SECONDS",
    ),
    "uploads": (
        "hazard_reporter.photos.tasks.remove_unclaimed_uploads_task",
        "UPLOAD_SWEEP_SECONDS",
    ),
}

# Failures worth trying again soon: the bucket or the database is briefly away.
TRANSIENT = (StorageUnavailable, DBAPIError)


def make_celery(app: Flask) -> Celery:
    """A Celery app for ``app``'s settings with every registered task bound to it."""
    import importlib

    from hazard_reporter.core.tasks import TASKS
    from hazard_reporter.extensions import db

    config = app.config
    celery = Celery(app.import_name, set_as_current=False)
    visibility = int(config["CELERY_VISIBILITY_SECONDS"])
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": visibility,
            # Look for tasks of dead workers every few seconds (one Redis scan each time).
            "unacked_restore_interval": max(1, min(60, visibility // 4)),
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
        },
        task_default_queue=config["CELERY_QUEUE"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        worker_prefetch_multiplier=1,
        timezone="UTC",
        beat_schedule_filename=config["CELERY_BEAT_SCHEDULE_FILE"],
        beat_schedule={
            name: {"task": task_name, "schedule": float(config[key])}
            for name, (task_name, key) in PERIODIC.items()
            if float(config[key]) > 0
        },
    )

    class AppTask(celery.Task):
        """Runs in the app's context and leaves no session behind."""

        autoretry_for = TRANSIENT
        retry_backoff = True
        retry_backoff_max = 300
        max_retries = 8

        def __call__(self, *args, **kwargs):
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    for module in TASK_MODULES:
        importlib.import_module(module)
    for name, fn in TASKS.items():
        celery.task(name=name, base=AppTask)(fn)
    return celery


class TaskSender:
    """Puts a task on the Redis list the workers read: the message Celery's ``send_task`` would
    put there (Celery's own protocol-2 task message from ``amqp.as_task_v2``, in kombu's Redis
    envelope), pushed with one LPUSH on a connection kept from one task to the next.

    Intake sends one or two tasks per report. Through ``send_task`` each cost about 0.6 ms of
    CPU (measured in-process, nothing else running): routing, a retry wrapper, and a new Redis
    client per message in kombu. This costs about a third of that. Celery's routing is not
    consulted: every task goes to ``task_default_queue``, as ``make_celery`` configures it
    (``tests/test_task_queue.py`` checks that the envelope matches Celery's, key for key).

    It sends while a report's answer waits, so it waits little: 2 s a try, one retry, and after
    a failure no try at all for ``PAUSE_SECONDS`` (a Redis that takes connections but never
    answers held a six-photo report's 201 for minutes). What it could not queue, the periodic
    sweeps queue again: the work is recorded in the database first."""

    TIMEOUT_SECONDS = 2
    PAUSE_SECONDS = 30

    def __init__(self, celery: Celery) -> None:
        import redis
        from redis.backoff import ConstantBackoff
        from redis.retry import Retry

        conf = celery.conf
        if conf.task_routes:
            raise ValueError("TaskSender sends every task to the default queue: no task_routes")
        transport = conf.broker_transport_options
        self.celery = celery
        self.queue = conf.task_default_queue
        timeout = min(self.TIMEOUT_SECONDS, transport.get("socket_timeout") or self.TIMEOUT_SECONDS)
        self.redis = redis.Redis.from_url(
            conf.broker_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(ConstantBackoff(0.5), 1),  # once more, half a second later
        )
        self.paused_until = 0.0  # time.monotonic(): no try before, after a failure

    def message(self, name: str, args: tuple) -> bytes:
        """The queued message for task ``name`` with ``args``, as kombu would write it."""
        from kombu.utils.json import dumps

        task_id = str(uuid.uuid4())
        headers, properties, body, _sent_event = self.celery.amqp.as_task_v2(
            task_id,
            name,
            args=args,
            kwargs={},
            reply_to=self.celery.thread_oid,
            ignore_result=None,
        )
        return dumps(
            {
                "body": base64.b64encode(dumps(body).encode()).decode(),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": headers,
                "properties": {
                    **properties,
                    "delivery_mode": 2,  # persistent
                    "delivery_info": {"exchange": "", "routing_key": self.queue},
                    "priority": 0,
                    "body_encoding": "base64",
                    "delivery_tag": str(uuid.uuid4()),
                },
            }
        ).encode()

    def send(self, name: str, args: tuple) -> None:
        """Queue task ``name``; raises what Redis raises when it cannot take it, or
        ConnectionError at once while paused after a failure."""
        if time.monotonic() < self.paused_until:
            raise ConnectionError("the broker failed moments ago; the periodic sweep queues this")
        try:
            self.redis.lpush(self.queue, self.message(name, args))
        except Exception:
            self.paused_until = time.monotonic() + self.PAUSE_SECONDS
            raise
