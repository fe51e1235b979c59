"""Responsible units: the bodies a hazard is forwarded to."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hazard_reporter.extensions import db


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Delivery channels (webhook, e-mail, signed link, …), filled in by the routing work.
    channels: Mapped[list[dict]] = mapped_column(JSON, default=list)
    is_union_department: Mapped[bool] = mapped_column(default=False)
