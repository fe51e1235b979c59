"""People who sign in, their roles and scopes, and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hazard_reporter.core.db import UTCDateTime, utcnow
from hazard_reporter.extensions import db


class Role(StrEnum):
    WORKER = "worker"  # 职工
    INSPECTOR = "inspector"  # 工会劳动保护监督检查员
    UNIT_STAFF = "unit_staff"  # 责任单位
    COMMITTEE = "committee"  # 评先评优
    ADMIN = "admin"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)  # normalised, e.g. 13800000000
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(100))
    # Whether the committee may show this reporter's name in award lists and certificates.
    consent_named: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default=Role.WORKER, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Scope: inspectors are bound to region subtrees and optionally sectors; unit staff to a unit.
    region_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthSession(db.Model):
    """One sign-in (a phone's API tokens or a browser's cookie); revoking it ends both tokens."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # api | web
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
