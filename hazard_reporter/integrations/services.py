"""Signed event webhooks for integrators, sent through the same durable outbox as deliveries.

The body is the outbox's signed webhook envelope ``{"id", "event", "created_at", "data"}``.
Events: ``report.created``, ``report.status_changed``, ``report.escalated``,
``commendation.granted``. Payloads describe the hazard and its progress, never who reported it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, text
from sqlalchemy.orm import Session

from hazard_reporter.deliveries import services as deliveries

# Plain SQL, as every report runs it (most often to find no hook at all).
_ACTIVE_HOOKS = (
    text("SELECT url, secret, events FROM integration_hooks WHERE active = :active ORDER BY id")
    .bindparams(active=True)
    .columns(url=String, secret=String, events=JSON)
)

EVENTS = ("report.created", "report.status_changed", "report.escalated", "commendation.granted")


def emit(
    session: Session,
    event: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    report_id: int | None = None,
) -> int:
    """Queue ``event`` for every active hook subscribed to it, in the caller's transaction."""
    hooks = [h for h in session.execute(_ACTIVE_HOOKS) if not h.events or event in h.events]
    for hook in hooks:
        deliveries.enqueue(
            session,
            kind=event,
            payload=payload,  # the webhook envelope adds the event name, id and time
            report_id=report_id,
            now=now,
            targets=[{"type": "webhook", "url": hook.url, "secret": hook.secret}],
        )
    return len(hooks)


def report_facts(report) -> dict[str, Any]:
    """What integrators learn of a report: the hazard, where, how urgent, its status."""
    return {
        "report_id": report.id,
        "status": report.status,
        "severity": report.severity,
        "sector": report.sector,
        "region_code": report.region_code,
        "location": {"lat": report.lat, "lon": report.lon, "coord_system": "wgs84"},
    }
