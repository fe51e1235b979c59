"""Passwords, phone numbers and tokens: pure helpers with no database."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from hazard_reporter.errors import InvalidPhone, WeakPassword

MIN_PASSWORD = 8
MAX_PASSWORD = 128
# ASCII digits only: \d would also take Arabic-Indic, Devanagari … digits, so one number could be
# written (and registered) twice.
_PHONE = re.compile(r"1[3-9][0-9]{9}")
_hasher = PasswordHasher()
# Verified against when the phone is unknown, so a wrong phone costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalise_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits (``+86 138-0000-0000``, ``86 13800000000`` and
    full-width ``１３８００００００００`` → ``13800000000``)."""
    # NFKC first: phone keyboards in Chinese input modes type full-width digits, plus and hyphens.
    text = unicodedata.normalize("NFKC", raw or "")
    digits = re.sub(r"[\s\-()]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):  # the country code without its plus
        digits = digits[2:]
    if not _PHONE.fullmatch(digits):
        raise InvalidPhone(field="phone")
    return digits


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short, too long or only digits."""
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD or password.isdigit():
        raise WeakPassword(field="password", min=MIN_PASSWORD)


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; runs a full verification even without a hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def new_secret() -> str:
    """A random URL-safe token (refresh tokens, CSRF tokens, session ids)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """How a bearer secret is stored: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessTokens:
    """Short-lived signed access tokens naming a sign-in session."""

    def __init__(self, secret_key: str, max_age: int):
        self.max_age = max_age
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hazard-access-token")

    def issue(self, session_id: str, user_id: int) -> str:
        return self._serializer.dumps({"sid": session_id, "uid": user_id})

    def read(self, token: str) -> tuple[str, int] | None:
        """(session id, user id), or None when forged, malformed or expired."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
            return str(data["sid"]), int(data["uid"])
        except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
            return None


class SignedPhotoLinks:
    """Time-limited links to a photo's renditions, so an <img> needs no Authorization header."""

    def __init__(self, secret_key: str, max_age: int):
        self.max_age = max_age
        self._serializer = URLSafeTimedSerializer(secret_key, salt="hazard-photo-link")

    def sign(self, photo_id: int) -> str:
        return self._serializer.dumps(photo_id)

    def allows(self, token: str | None, photo_id: int) -> bool:
        if not token:
            return False
        try:
            return self._serializer.loads(token, max_age=self.max_age) == photo_id
        except (BadSignature, SignatureExpired):
            return False
