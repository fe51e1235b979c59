"""The delivery outbox: one row per message owed to a unit or to inspectors on one channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hazard_reporter.core.db import UTCDateTime, utcnow
from hazard_reporter.extensions import db


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"  # the receiver accepted it
    DEAD = "dead"  # gave up after the maximum attempts; an inspector may retry it
    # A link with no address to send it to (a unit without any channel): nobody was told, and an
    # inspector passes the link on by phone or SMS (GET /api/v1/reports/<id>/unit-link).
    HANDOVER = "handover"
    # Owed to a unit that no longer holds the report (re-routed, rejected, merged): not sent.
    SKIPPED = "skipped"


class Channel(StrEnum):
    WEBHOOK = "webhook"  # the unit's own system: signed JSON POST
    EMAIL = "email"  # SMTP
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉群机器人
    LINK = "link"  # no system: a signed link, e-mailed when the unit has an address


class DeliveryKind(StrEnum):
    """The usual kinds; ``kind`` is free text so new events need no migration."""

    REPORT_FORWARDED = "report.forwarded"
    ALERT_RED = "alert.red"
    REPORT_ESCALATED = "report.escalated"
    REPORT_SEVERITY_CHANGED = "report.severity_changed"


def new_idempotency_id() -> str:
    """A fresh idempotency id (uuid4, hex)."""
    return uuid.uuid4().hex


class Delivery(db.Model):
    """A message to send at least once; receivers dedupe on ``idempotency_id``."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The worker's one query: pending rows whose time has come, oldest first.
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_idempotency_id)
    kind: Mapped[str] = mapped_column(String(40))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's configuration at enqueue time (URL, secret, addresses): never shown by the API.
    target: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(8), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a dead delivery is put back in the queue: its retry window runs from then.
    retry_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
