"""Sign-up, sign-in, token refresh and revocation, and user administration."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hazard_reporter.accounts.credentials import (
    AccessTokens,
    check_password_strength,
    digest,
    hash_password,
    needs_rehash,
    new_secret,
    normalise_phone,
    verify_password,
)
from hazard_reporter.accounts.models import AuthSession, Role, User
from hazard_reporter.errors import (
    AccountDisabled,
    InvalidCredentials,
    NotFound,
    PhoneTaken,
    TokenInvalid,
    UnknownRegion,
    ValidationFailed,
)
from hazard_reporter.regions.models import Region
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPolicy:
    access_seconds: int = 900
    refresh_days: int = 30
    web_hours: int = 12


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


def _new_session(
    session: Session, user: User, *, kind: str, now: datetime, lifetime: timedelta
) -> tuple[AuthSession, str | None]:
    refresh = new_secret() if kind == "api" else None
    auth = AuthSession(
        id=uuid.uuid4().hex,
        user_id=user.id,
        kind=kind,
        refresh_hash=digest(refresh) if refresh else None,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(auth)
    return auth, refresh


def _pair(
    session: Session, user: User, *, tokens: AccessTokens, policy: TokenPolicy, now: datetime
) -> TokenPair:
    auth, refresh = _new_session(
        session, user, kind="api", now=now, lifetime=timedelta(days=policy.refresh_days)
    )
    return TokenPair(tokens.issue(auth.id, user.id), refresh, policy.access_seconds, user)


def signup_worker(
    session: Session,
    *,
    phone: str,
    password: str,
    name: str | None,
    tokens: AccessTokens,
    policy: TokenPolicy,
    now: datetime,
) -> TokenPair:
    """A worker's own account, signed in at once."""
    check_password_strength(password)
    user = User(
        phone=normalise_phone(phone),
        password_hash=hash_password(password),
        name=(name or "").strip() or None,
        role=Role.WORKER.value,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise PhoneTaken(field="phone") from None
    pair = _pair(session, user, tokens=tokens, policy=policy, now=now)
    session.commit()
    return pair


def authenticate(session: Session, *, phone: str, password: str) -> User:
    """The active user with this phone and password, or InvalidCredentials / AccountDisabled."""
    try:
        normalised = normalise_phone(phone)
    except Exception:
        normalised = None
    user = session.scalar(select(User).where(User.phone == normalised)) if normalised else None
    if not verify_password(user.password_hash if user else None, password or ""):
        raise InvalidCredentials()
    if not user.active:
        raise AccountDisabled()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def login(
    session: Session,
    *,
    phone: str,
    password: str,
    tokens: AccessTokens,
    policy: TokenPolicy,
    now: datetime,
) -> TokenPair:
    """Access and refresh tokens for a phone and password."""
    user = authenticate(session, phone=phone, password=password)
    pair = _pair(session, user, tokens=tokens, policy=policy, now=now)
    session.commit()
    return pair


def start_web_session(
    session: Session, *, phone: str, password: str, policy: TokenPolicy, now: datetime
) -> AuthSession:
    """A browser sign-in, carried by the session cookie."""
    user = authenticate(session, phone=phone, password=password)
    auth, _ = _new_session(
        session, user, kind="web", now=now, lifetime=timedelta(hours=policy.web_hours)
    )
    session.commit()
    return auth


def refresh(
    session: Session,
    *,
    refresh_token: str,
    tokens: AccessTokens,
    policy: TokenPolicy,
    now: datetime,
) -> TokenPair:
    """Rotate a refresh token: the old one stops working. Presenting one already used (a copy
    stolen and used by one side first, the thief or the owner) ends every API sign-in of the
    account: which side holds the successor cannot be told apart."""
    hashed = digest(refresh_token or "")
    auth = session.scalar(select(AuthSession).where(AuthSession.refresh_hash == hashed))
    if auth is None or auth.expires_at <= now:
        raise TokenInvalid(field="refresh_token")
    user = session.get(User, auth.user_id)
    if user is None or not user.active:
        raise TokenInvalid(field="refresh_token")
    # Rotation ends this session and starts the next one, claimed with a conditional UPDATE: of
    # two refreshes racing with one token, one gets the successor and the other is a reuse.
    rotated = session.execute(
        update(AuthSession)
        .where(AuthSession.id == auth.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if rotated != 1:
        ended = session.execute(
            update(AuthSession)
            .where(
                AuthSession.user_id == user.id,
                AuthSession.kind == "api",
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        log.warning("user %s: a used refresh token came again; %s sign-ins ended", user.id, ended)
        raise TokenInvalid(field="refresh_token")
    pair = _pair(session, user, tokens=tokens, policy=policy, now=now)
    session.commit()
    return pair


def resolve_session(session: Session, session_id: str, user_id: int, now: datetime) -> User | None:
    """The user of a live sign-in session, or None when it ended or the user was disabled."""
    auth = session.get(AuthSession, session_id)
    if auth is None or auth.user_id != user_id or auth.revoked_at is not None:
        return None
    if auth.expires_at <= now:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def revoke_session(session: Session, session_id: str, *, now: datetime) -> None:
    """End one sign-in (logout)."""
    auth = session.get(AuthSession, session_id)
    if auth is not None and auth.revoked_at is None:
        auth.revoked_at = now
    session.commit()


def revoke_all(session: Session, user_id: int, *, now: datetime) -> None:
    """End every sign-in of a user (password change, disabling)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def change_password(
    session: Session,
    user: User,
    *,
    current_password: str,
    new_password: str,
    tokens: AccessTokens,
    policy: TokenPolicy,
    now: datetime,
) -> TokenPair:
    """Set a new password; every other sign-in ends and this one gets fresh tokens."""
    if not verify_password(user.password_hash, current_password or ""):
        raise InvalidCredentials(field="current_password")
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    revoke_all(session, user.id, now=now)
    pair = _pair(session, user, tokens=tokens, policy=policy, now=now)
    session.commit()
    return pair


def _check_scope(
    session: Session, regions: list[str], sectors: list[str], unit_id: int | None
) -> None:
    for code in regions:
        if session.get(Region, code) is None:
            raise UnknownRegion(field="regions", region_code=code)
    for key in sectors:
        if key not in Sector._value2member_map_:
            raise ValidationFailed(field="sectors", detail=key)
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise NotFound(field="unit_id", what="该责任单位", what_en="unit")


def create_user(
    session: Session,
    *,
    phone: str,
    password: str,
    role: Role,
    name: str | None = None,
    regions: list[str] | None = None,
    sectors: list[str] | None = None,
    unit_id: int | None = None,
    now: datetime,
) -> User:
    """An account of any role, made by an admin (API or command line)."""
    check_password_strength(password)
    regions, sectors = list(regions or []), list(sectors or [])
    _check_scope(session, regions, sectors, unit_id)
    user = User(
        phone=normalise_phone(phone),
        password_hash=hash_password(password),
        name=name,
        role=Role(role).value,
        region_codes=regions,
        sectors=sectors,
        unit_id=unit_id,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise PhoneTaken(field="phone") from None
    return user


def update_user(session: Session, user: User, *, now: datetime, **changes) -> User:
    """Change role, scope, name or active state; disabling ends every sign-in."""
    regions = changes.get("regions", user.region_codes)
    sectors = changes.get("sectors", user.sectors)
    unit_id = changes.get("unit_id", user.unit_id)
    _check_scope(session, list(regions or []), list(sectors or []), unit_id)
    if "role" in changes:
        user.role = Role(changes["role"]).value
    if "name" in changes:
        user.name = changes["name"]
    user.region_codes, user.sectors, user.unit_id = (
        list(regions or []),
        list(sectors or []),
        unit_id,
    )
    if "active" in changes:
        user.active = bool(changes["active"])
        if not user.active:
            revoke_all(session, user.id, now=now)
    if changes.get("role") is not None:
        # A role change alters what the tokens allow: make the person sign in again.
        revoke_all(session, user.id, now=now)
    session.commit()
    return user


def find_user(session: Session, *, user_id: int | None = None, phone: str | None = None) -> User:
    """A user by id or phone, or NotFound."""
    user = None
    if user_id is not None:
        user = session.get(User, user_id)
    elif phone is not None:
        user = session.scalar(select(User).where(User.phone == normalise_phone(phone)))
    if user is None:
        raise NotFound(what="该用户", what_en="user")
    return user
