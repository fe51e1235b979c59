"""Abuse limits: report submissions and password attempts per client address and per account.

Counters live in memory by default and in Redis when ``HAZARD_RATELIMIT_STORAGE_URI`` names one, so
that every worker process shares them. If the store is down, requests pass (a report is never
refused because a counter could not be read) and an in-memory fallback takes over.
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, request

from hazard_reporter.accounts.credentials import normalise_phone
from hazard_reporter.core.auth import current_principal
from hazard_reporter.errors import InvalidPhone
from hazard_reporter.extensions import limiter


def client_key() -> str:
    """The caller's address (behind a proxy, the one ProxyFix recovered)."""
    return f"ip:{request.remote_addr or 'unknown'}"


def account_key() -> str:
    """The signed-in account, else the caller's address."""
    principal = current_principal()
    return f"user:{principal.user.id}" if principal.authenticated else client_key()


def phone_key() -> str:
    """The phone number being signed in to, as sign-in reads it (``139-0000-0000`` and
    ``0086 13900000000`` are one account, so one counter), hashed so counters hold no numbers."""
    body = request.get_json(silent=True)
    raw = str(body.get("phone", "") if isinstance(body, dict) else "")[:40]
    try:
        phone = normalise_phone(raw)
    except InvalidPhone:  # no account has it: sign-in fails anyway, counted as typed
        phone = raw
    return _phone_counter(phone)


def signed_in_phone_key() -> str:
    """The signed-in account's phone, counted as ``phone_key`` counts it: a guess at an account's
    password is one guess whether it came through sign-in or through changing the password."""
    principal = current_principal()
    return _phone_counter(principal.user.phone) if principal.authenticated else client_key()


def _phone_counter(phone: str) -> str:
    return "phone:" + hashlib.sha256(phone.encode()).hexdigest()[:24]


def _config(name: str):
    return lambda: current_app.config[name]


def submission_limits(view):
    """Limits on filing reports: per client address, and per account when signed in."""
    view = limiter.limit(
        _config("SUBMIT_LIMIT_ACCOUNT"),
        key_func=account_key,
        scope="submit-account",
        exempt_when=lambda: not current_principal().authenticated,
    )(view)
    return limiter.limit(
        _config("SUBMIT_LIMIT_CLIENT"), key_func=client_key, scope="submit-client"
    )(view)


def upload_limits(view):
    """Limits on asking for direct uploads, per client address (six photos to a report)."""
    return limiter.limit(_config("UPLOAD_LIMIT_CLIENT"), key_func=client_key, scope="upload")(view)


def login_limits(view):
    """Limits on password attempts: per phone number and per client address. Each counter is
    shared by every view so decorated (sign-up, API sign-in, browser sign-in): a counter per view
    would give a guesser the allowance once per view."""
    return _password_limits(view, account=phone_key)


def password_check_limits(view):
    """The sign-in limits on a signed-in account checking its current password (changing it), so
    a stolen session gives no more guesses than the sign-in form: the account's phone and the
    client address, on the same counters as sign-in."""
    return _password_limits(view, account=signed_in_phone_key)


def _password_limits(view, *, account):
    view = limiter.shared_limit(
        _config("LOGIN_LIMIT_PHONE"), scope="login-phone", key_func=account
    )(view)
    return limiter.shared_limit(
        _config("LOGIN_LIMIT_CLIENT"), scope="login-client", key_func=client_key
    )(view)


def retry_after_seconds() -> int:
    """Seconds until the limit that was just exceeded lets requests through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()) + 1)
