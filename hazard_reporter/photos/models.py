"""Photos: the private original and its public, metadata-free derivatives."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hazard_reporter.core.db import UTCDateTime, utcnow
from hazard_reporter.extensions import db

if TYPE_CHECKING:
    from hazard_reporter.reports.models import Report


class DerivativeState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Photo(db.Model):
    __tablename__ = "photos"
    __table_args__ = (
        # The sweep of photos still waiting for renditions, and the look-back of the
        # near-identical-photo check (not partial: both compare with bound parameters).
        Index("ix_photos_derivatives_id", "derivatives", "id"),
        Index("ix_photos_kind_created_at", "kind", "created_at"),
        # Intake's exact-duplicate look-up (sha256 and kind; the sha256 alone uses its prefix).
        Index("ix_photos_sha256_kind", "sha256", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # report: the hazard as reported; rectification: the unit's after-photo.
    kind: Mapped[str] = mapped_column(String(16), default="report")

    # The original is private evidence: stored unaltered, never served to the public.
    original_key: Mapped[str] = mapped_column(String(200), unique=True)
    # The key a phone uploaded it to (direct uploads): claimed once. The checked bytes are kept
    # under ``original_key``, as the upload's presigned POST may write that key again.
    upload_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)  # upright
    height: Mapped[int] = mapped_column(Integer)

    # Metadata read once from the original (private: device, GPS, capture time).
    metadata_: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    derivatives: Mapped[str] = mapped_column(String(8), default=DerivativeState.PENDING)
    display_key: Mapped[str | None] = mapped_column(String(200))
    display_width: Mapped[int | None] = mapped_column(Integer)
    display_height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    thumbnail_width: Mapped[int | None] = mapped_column(Integer)
    thumbnail_height: Mapped[int | None] = mapped_column(Integer)
    phash: Mapped[str | None] = mapped_column(String(16), index=True)
    derivatives_error: Mapped[str | None] = mapped_column(String(200))
    # Decodings started: one that kills its worker records nothing else (see MAX_RENDER_ATTEMPTS).
    derivatives_attempts: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="photos")
