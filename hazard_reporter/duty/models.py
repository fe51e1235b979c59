"""Which daily duty reports were sent: one row per region and day makes sending idempotent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hazard_reporter.core.db import UTCDateTime
from hazard_reporter.extensions import db


class DutyReportRun(db.Model):
    __tablename__ = "duty_report_runs"
    __table_args__ = (UniqueConstraint("day", "region_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(12))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_new: Mapped[int] = mapped_column(Integer)
