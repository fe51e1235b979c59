"""/api/v1/auth (sign-up, sign-in, tokens) and /api/v1/users (administration)."""

from __future__ import annotations

from flask import current_app, session
from sqlalchemy import select

from hazard_reporter.accounts import services
from hazard_reporter.accounts.models import Role, User
from hazard_reporter.accounts.schemas import (
    LoginSchema,
    PasswordChangeSchema,
    ProfileSchema,
    RefreshSchema,
    SignupSchema,
    TokenPairSchema,
    UserCreateSchema,
    UserListQuerySchema,
    UserSchema,
    UserUpdateSchema,
    WebSessionSchema,
)
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import (
    access_tokens,
    csrf_exempt,
    csrf_token,
    current_principal,
    requires,
)
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.limits import limiter, login_limits, password_check_limits
from hazard_reporter.errors import AuthRequired
from hazard_reporter.extensions import db

auth = HazardBlueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录 Sign-in")
users = HazardBlueprint("users", __name__, url_prefix="/api/v1/users", description="用户 Users")

MAX_ID = 2**31 - 1


def token_policy() -> services.TokenPolicy:
    config = current_app.config
    return services.TokenPolicy(
        access_seconds=config["ACCESS_TOKEN_SECONDS"],
        refresh_days=config["REFRESH_TOKEN_DAYS"],
        web_hours=config["WEB_SESSION_HOURS"],
    )


def pair_body(pair: services.TokenPair) -> dict:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "user": pair.user,
    }


@auth.route("/signup", methods=["POST"])
@auth.arguments(SignupSchema)
@auth.response(201, TokenPairSchema)
@login_limits
def signup(body):
    """A worker signs up with a phone number and password, and is signed in."""
    pair = services.signup_worker(
        db.session,
        phone=body["phone"],
        password=body["password"],
        name=body.get("name"),
        tokens=access_tokens(),
        policy=token_policy(),
        now=utcnow(),
    )
    return pair_body(pair)


@auth.route("/login", methods=["POST"])
@auth.arguments(LoginSchema)
@auth.response(200, TokenPairSchema)
@login_limits
def login(body):
    """Access and refresh tokens for a phone number and password."""
    pair = services.login(
        db.session,
        phone=body["phone"],
        password=body["password"],
        tokens=access_tokens(),
        policy=token_policy(),
        now=utcnow(),
    )
    return pair_body(pair)


@auth.route("/refresh", methods=["POST"])
@auth.arguments(RefreshSchema)
@auth.response(200, TokenPairSchema)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_CLIENT"])
def refresh(body):
    """A new token pair for a refresh token; the old refresh token stops working."""
    pair = services.refresh(
        db.session,
        refresh_token=body["refresh_token"],
        tokens=access_tokens(),
        policy=token_policy(),
        now=utcnow(),
    )
    return pair_body(pair)


@auth.route("/logout", methods=["POST"])
@auth.response(204)
@requires()
def logout():
    """End this sign-in: its access and refresh tokens (or its cookie) stop working."""
    services.revoke_session(db.session, current_principal().session_id, now=utcnow())
    session.clear()


@auth.route("/password", methods=["POST"])
@auth.arguments(PasswordChangeSchema)
@auth.response(200, TokenPairSchema)
@requires()
@password_check_limits
def change_password(body):
    """Change the password; every sign-in ends and fresh tokens are returned."""
    pair = services.change_password(
        db.session,
        current_principal().user,
        current_password=body["current_password"],
        new_password=body["new_password"],
        tokens=access_tokens(),
        policy=token_policy(),
        now=utcnow(),
    )
    session.clear()
    return pair_body(pair)


@auth.route("/me")
@auth.response(200, UserSchema)
@requires()
def me():
    """The signed-in user."""
    return current_principal().user


@auth.route("/me", methods=["PATCH"])
@auth.arguments(ProfileSchema)
@auth.response(200, UserSchema)
@requires()
def update_me(body):
    """Change my name and whether the committee may show it."""
    user = current_principal().user
    if "name" in body:
        user.name = (body["name"] or "").strip() or None
    if "consent_named" in body:
        user.consent_named = body["consent_named"]
    db.session.commit()
    return user


@auth.route("/session")
@auth.response(200, WebSessionSchema)
@requires()
def web_session():
    """The browser's signed-in session and its CSRF token: a new tab (or a page opened again)
    takes up the session the cookie holds rather than asking to sign in again."""
    principal = current_principal()
    if principal.via != "cookie":
        raise AuthRequired()
    return {"user": principal.user, "csrf_token": csrf_token()}


@auth.route("/session", methods=["POST"])
@csrf_exempt
@auth.arguments(LoginSchema)
@auth.response(200, WebSessionSchema)
@login_limits
def start_web_session(body):
    """Sign a browser in with a session cookie; writes then need the returned CSRF token."""
    auth_session = services.start_web_session(
        db.session,
        phone=body["phone"],
        password=body["password"],
        policy=token_policy(),
        now=utcnow(),
    )
    session.clear()
    session.permanent = True
    session["sid"], session["uid"] = auth_session.id, auth_session.user_id
    user = db.session.get(User, auth_session.user_id)
    return {"user": user, "csrf_token": csrf_token()}


@users.route("")
@users.arguments(UserListQuerySchema, location="query")
@users.response(200, UserSchema(many=True))
@requires(Role.ADMIN)
def list_users(query):
    """Users, by id; ``after`` continues a listing."""
    statement = select(User).order_by(User.id).limit(query["limit"])
    if "role" in query:
        statement = statement.where(User.role == query["role"])
    if "after" in query:
        statement = statement.where(User.id > query["after"])
    return list(db.session.scalars(statement))


@users.route("", methods=["POST"])
@users.arguments(UserCreateSchema)
@users.response(201, UserSchema)
@requires(Role.ADMIN)
def create_user(body):
    """Create an account of any role, with its scope."""
    return services.create_user(db.session, now=utcnow(), **body)


@users.route(f"/<int(max={MAX_ID}):user_id>", methods=["PATCH"])
@users.arguments(UserUpdateSchema)
@users.response(200, UserSchema)
@requires(Role.ADMIN)
def update_user(body, user_id):
    """Change a user's role, scope, name or active state (disabling ends every sign-in)."""
    user = services.find_user(db.session, user_id=user_id)
    return services.update_user(db.session, user, now=utcnow(), **body)
