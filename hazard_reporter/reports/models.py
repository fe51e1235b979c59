"""Reports, their photos and their append-only timeline of events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
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

    @property
    def rank(self) -> int:
        """0 for red … 3 for blue: the queue's order."""
        return list(Severity).index(self)

    @property
    def label_zh(self) -> str:
        return {
            "red": "红色（重大风险）",
            "orange": "橙色（较大风险）",
            "yellow": "黄色（一般风险）",
            "blue": "蓝色（低风险）",
        }[self.value]


class LocationSource(StrEnum):
    DEVICE = "device"
    EXIF = "exif"
    MANUAL = "manual"


class Flag(StrEnum):
    LOCATION_MISMATCH = "location_mismatch"
    NO_CAMERA_METADATA = "no_camera_metadata"
    STALE_PHOTO = "stale_photo"
    DUPLICATE_PHOTO = "duplicate_photo"  # the same or a near-identical photo from someone else
    BURST = "burst"  # many reports from one account in a short time


# The inspector queue reads open reports only, and only they have an urgency (closed ones have
# none): its indexes are partial, a few percent of the table once a year of reports is in.
OPEN_ONLY = {
    "sqlite_where": text("urgency_due_at IS NOT NULL"),
    "postgresql_where": text("urgency_due_at IS NOT NULL"),
}

CREDITED_ONLY = {
    "sqlite_where": text("credit_reporter_id IS NOT NULL"),
    "postgresql_where": text("credit_reporter_id IS NOT NULL"),
}


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        # List pages are newest first under one filter: (filter, id) reads a page in order and
        # resumes at a cursor on PostgreSQL too (on SQLite every index ends with the id anyway).
        Index("ix_reports_region_status_id", "region_code", "status", "id"),
        Index("ix_reports_sector_id", "sector", "id"),
        # A sector in a district (SQLite keeps no statistics per value to find a rare one).
        Index("ix_reports_sector_region_id", "sector", "region_code", "id"),
        Index("ix_reports_status_page", "status", "id"),
        Index("ix_reports_severity_page", "severity", "id"),
        Index("ix_reports_region_page", "region_code", "id"),
        Index("ix_reports_reporter_page", "reporter_id", "id"),  # a worker's own reports
        Index("ix_reports_unit_page", "unit_id", "id"),  # a unit's reports
        # Award lists: the verified reports of a period.
        Index("ix_reports_status_submitted_at", "status", "submitted_at"),
        # A period's credits summed per reporter from the index alone, and one reporter's
        # credits; over the credited hazards only (some 10 % of reports).
        Index(
            "ix_reports_credits",
            "submitted_at",
            "credit_reporter_id",
            "credit_points",
            "region_code",
            "sector",
            **CREDITED_ONLY,
        ),
        Index("ix_reports_credits_reporter", "credit_reporter_id", "submitted_at", **CREDITED_ONLY),
        # The queue, most urgent first: alone, and after each filter it is most often cut by.
        Index("ix_reports_queue", "severity_rank", "urgency_due_at", "id", **OPEN_ONLY),
        Index(
            "ix_reports_queue_status",
            "status",
            "severity_rank",
            "urgency_due_at",
            "id",
            **OPEN_ONLY,
        ),
        Index(
            "ix_reports_queue_sector",
            "sector",
            "severity_rank",
            "urgency_due_at",
            "id",
            **OPEN_ONLY,
        ),
        Index(
            "ix_reports_queue_region",
            "region_code",
            "severity_rank",
            "urgency_due_at",
            "id",
            **OPEN_ONLY,
        ),
        # The queue's counts per colour come from this one alone: colour first, so they are
        # counted in order without sorting and any filter is reached by skipping over the four
        # colours; urgency_due_at last so that SQLite sees the partial condition covered too.
        Index(
            "ix_reports_queue_counts",
            "severity",
            "status",
            "sector",
            "region_code",
            "overdue",
            "unit_id",
            "urgency_due_at",
            **OPEN_ONLY,
        ),
        Index("ix_reports_nearby", "sector", "grid_cell", "submitted_at"),
        # The reports merged into each one, earliest first (most reports are merged into none).
        Index(
            "ix_reports_merged",
            "duplicate_of_id",
            "submitted_at",
            "id",
            sqlite_where=text("duplicate_of_id IS NOT NULL"),
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sector: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=Status.SUBMITTED)
    severity: Mapped[str] = mapped_column(String(8))

    lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    grid_cell: Mapped[int | None] = mapped_column(Integer)  # duplicates.grid.cell_of(lat, lon)

    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    # The reporter's account, unless they reported anonymously; never shown to units.
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The responsible unit the report was forwarded to; its staff see it.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    immediate_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    followup_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Anti-fraud flags hold a report out of award lists until an inspector clears them.
    flags_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flags_cleared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Triage: the computed assessment, and an inspector's override kept beside it.
    computed_severity: Mapped[str | None] = mapped_column(String(8))
    triage_score: Mapped[int | None] = mapped_column(Integer)
    triage_reasons: Mapped[list[dict]] = mapped_column(JSON, default=list)
    severity_override_reason: Mapped[str | None] = mapped_column(Text)
    severity_rank: Mapped[int] = mapped_column(Integer, default=3)  # 0 red … 3 blue: queue order
    independent_reports: Mapped[int] = mapped_column(Integer, default=1)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))

    # Forwarding and deadlines (UTC); urgency_due_at is the next deadline that matters now.
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledge_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rectify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    urgency_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    # Outcome recorded by an inspector on verification (feeds commendations).
    hazard_confirmed: Mapped[str | None] = mapped_column(String(8))  # general | major
    accident_prevented: Mapped[bool] = mapped_column(Boolean, default=False)
    prevented_account: Mapped[str | None] = mapped_column(Text)
    # The award credit this report earns as a verified hazard, kept by awards.credits: the
    # reporter credited (NULL: none) and the points.
    credit_reporter_id: Mapped[int | None] = mapped_column(Integer)
    credit_points: Mapped[int | None] = mapped_column(Integer)

    region: Mapped[Region | None] = relationship(lazy="joined")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="report", order_by="Photo.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="report", order_by="Event.id", cascade="all, delete-orphan"
    )


class Escalation(db.Model):
    """One missed deadline, escalated once: the unique key makes the job idempotent."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("report_id", "deadline", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    deadline: Mapped[str] = mapped_column(String(16))  # acknowledge | rectify
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    to_region_code: Mapped[str | None] = mapped_column(String(12))


class RoutingRule(db.Model):
    """An explicit choice of unit for a sector (or every sector) in a region's subtree."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("region_code", "sector"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    sector: Mapped[str | None] = mapped_column(String(32))  # None: every sector
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))


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
