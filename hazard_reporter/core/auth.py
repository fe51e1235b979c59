"""Who is asking: the principal behind a request (bearer token, session cookie, or nobody).

Routes read ``current_principal()`` and hand it to services as ``actor``; services never look at
the request. Cookie sign-ins must prove each unsafe request with the CSRF token.
"""

from __future__ import annotations

import functools
import hmac

from flask import Flask, current_app, g, request, session

from hazard_reporter.accounts.credentials import AccessTokens, SignedPhotoLinks, new_secret
from hazard_reporter.accounts.models import Role
from hazard_reporter.accounts.principal import ANONYMOUS, Principal
from hazard_reporter.accounts.services import resolve_session
from hazard_reporter.core.db import utcnow
from hazard_reporter.errors import AuthRequired, CsrfFailed, Forbidden, TokenInvalid
from hazard_reporter.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def current_principal() -> Principal:
    """The principal of the current request."""
    return g.get("principal", ANONYMOUS)


def access_tokens() -> AccessTokens:
    return current_app.extensions["hazard_access_tokens"]


def photo_links() -> SignedPhotoLinks:
    return current_app.extensions["hazard_photo_links"]


def csrf_exempt(view):
    """Mark a view whose unsafe requests need no CSRF token (signing in: it replaces the session
    whatever it held, and a tab that has lost the token must still be able to sign in)."""
    view.csrf_exempt = True
    return view


def _view_is_csrf_exempt() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "csrf_exempt", False))


def csrf_token() -> str:
    """The browser session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = new_secret()
    return session["csrf"]


def _from_bearer(header: str) -> Principal:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise TokenInvalid(field="Authorization")
    claims = access_tokens().read(token.strip())
    if claims is None:
        raise TokenInvalid(field="Authorization")
    user = resolve_session(db.session, claims[0], claims[1], utcnow())
    if user is None:
        raise TokenInvalid(field="Authorization")
    return Principal(user, claims[0], "bearer")


def _from_cookie() -> Principal:
    sid, uid = session.get("sid"), session.get("uid")
    if not sid or not isinstance(uid, int):
        return ANONYMOUS
    user = resolve_session(db.session, sid, uid, utcnow())
    if user is None:
        session.clear()
        return ANONYMOUS
    if request.method not in SAFE_METHODS and not _view_is_csrf_exempt():
        sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token", "")
        if not hmac.compare_digest(str(sent), str(session.get("csrf", ""))) or not sent:
            raise CsrfFailed()
    return Principal(user, sid, "cookie")


def load_principal() -> None:
    """Resolve the caller once per request (before the view runs)."""
    header = request.headers.get("Authorization")
    g.principal = _from_bearer(header) if header else _from_cookie()


def requires(*roles: Role):
    """Route decorator: a signed-in caller, and one of ``roles`` when any are named."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if not principal.authenticated:
                raise AuthRequired()
            if roles and principal.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def register_auth(app: Flask) -> None:
    app.extensions["hazard_access_tokens"] = AccessTokens(
        app.config["SECRET_KEY"], app.config["ACCESS_TOKEN_SECONDS"]
    )
    app.extensions["hazard_photo_links"] = SignedPhotoLinks(
        app.config["SECRET_KEY"], app.config["PHOTO_LINK_SECONDS"]
    )
    app.before_request(load_principal)
