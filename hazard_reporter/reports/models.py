"""Reports, their photos and their append-only timeline of events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hazard_reporter.core.db import UTCDateTime, utcnow
from hazard_reporter.extensions import db

if TYPE_CHECKING:
    from hazard_reporter.photos.models import Photo
    from hazard_reporter.regions.models import Region


class Status(StrEnum):
    SUBMITTED = "submitted"
    TRIAGED = "triaged"
    FORWARDED = "forwarded"
    ACKNOWLEDGED = "acknowledged"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Severity(StrEnum):
    """The four-colour risk scale (安全风险四色分级)."""

    RED = "red"  # 重大风险
    ORANGE = "orange"  # 较大风险
    YELLOW = "yellow"  # 一般风险
    BLUE = "blue"  # 低风险


class LocationSource(StrEnum):
    DEVICE = "device"
    EXIF = "exif"
    MANUAL = "manual"


class Flag(StrEnum):
    LOCATION_MISMATCH = "location_mismatch"
    NO_CAMERA_METADATA = "no_camera_metadata"
    STALE_PHOTO = "stale_photo"
    POSSIBLE_DUPLICATE = "possible_duplicate"


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_region_status_id", "region_code", "status", "id"),
        Index("ix_reports_sector_id", "sector", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sector: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=Status.SUBMITTED, index=True)
    severity: Mapped[str] = mapped_column(String(8), index=True)

    lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)

    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    # The reporter's account, unless they reported anonymously; never shown to units.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The responsible unit the report was forwarded to; its staff see it.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    immediate_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)

    region: Mapped[Region | None] = relationship(lazy="joined")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="report", order_by="Photo.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="report", order_by="Event.id", cascade="all, delete-orphan"
    )


class Event(db.Model):
    """One entry of a report's timeline; rows are only ever added (the audit log)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    report: Mapped[Report] = relationship(back_populates="events")
