"""Campaigns and commendations."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hazard_reporter.awards import credits  # noqa: F401  (its flush hook keeps credits current)
from hazard_reporter.core.db import UTCDateTime, utcnow
from hazard_reporter.extensions import db


class Level(StrEnum):
    TIMELY_PRAISE = "timely_praise"  # 及时表扬
    PRIORITY = "priority"  # 优先推荐（评先评优）
    SPECIAL = "special"  # 特别贡献

    @property
    def label_zh(self) -> str:
        return {"timely_praise": "及时表扬", "priority": "优先推荐", "special": "特别贡献"}[
            self.value
        ]


class Campaign(db.Model):
    """A named period over some regions (e.g. 安全生产月 in June); reports fall into it by their
    submission date and region."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: everywhere


class Commendation(db.Model):
    """Recognition of a reporter for the reports behind it; inspectors propose, the committee
    grants."""

    __tablename__ = "commendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    report_ids: Mapped[list[int]] = mapped_column(JSON)
    level: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    points: Mapped[int] = mapped_column(Integer, default=0)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    status: Mapped[str] = mapped_column(String(10), default="proposed")  # proposed | granted
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
