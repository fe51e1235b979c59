"""``GET /api/v1/health``: whether this process can reach what it needs (database, photo storage,
and the task queue's broker when one is configured), for load balancers and monitoring."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app
from sqlalchemy import text

from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.tasks import current_storage
from hazard_reporter.extensions import db

log = logging.getLogger(__name__)

blp = HazardBlueprint(
    "health", __name__, url_prefix="/api/v1/health", description="运行状态 Health"
)

RETRY_AFTER_SECONDS = 10


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok | unavailable"})
    checks = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "database, storage, broker: ok | unavailable"},
    )


def _database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _storage() -> None:
    current_storage().exists("health/probe")  # a HEAD request on S3, a stat on disk


def _broker() -> None:
    celery = current_app.extensions["hazard_celery"]
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


@blp.route("")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="Something this process needs is down")
def health():
    """Whether the database, the photo storage and the broker answer (no details of errors)."""
    probes = {"database": _database, "storage": _storage}
    if "hazard_celery" in current_app.extensions:
        probes["broker"] = _broker
    checks = {}
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception:
            log.warning("health: %s unavailable", name, exc_info=True)
            checks[name] = "unavailable"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ok", "checks": checks}
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    return {"status": "unavailable", "checks": checks}, 503, headers
