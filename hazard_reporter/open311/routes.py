"""/open311/v2: the Open311 GeoReport v2 interface, JSON only, with Open311's error lists.

A plain Flask blueprint: Open311 defines its own formats (bare lists, ``[{"code", "description"}]``
errors), so it is outside the smorest API and its OpenAPI document.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from hazard_reporter.core import http_errors
from hazard_reporter.core.auth import current_principal, photo_links
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.i18n import request_language
from hazard_reporter.core.limits import submission_limits
from hazard_reporter.errors import (
    FormatNotSupported,
    HazardError,
    NotFound,
)
from hazard_reporter.extensions import db
from hazard_reporter.open311 import services
from hazard_reporter.photos.models import Photo
from hazard_reporter.photos.services import IncomingPhoto
from hazard_reporter.reports.routes import idempotency_key, take_in

open311 = Blueprint("open311", __name__, url_prefix="/open311/v2")

REQUEST = f"/requests/<int(max={services.MAX_ID}):request_id>.<fmt>"


def _language() -> str:
    """Open311's ``locale`` argument (``en``, ``zh_CN`` …; a query argument, or the field a
    POST's form gave, kept by ``create_request``), else ``lang`` or Accept-Language."""
    locale = (request.args.get("locale") or g.get("open311_locale") or "").lower()[:2]
    return locale if locale in ("zh", "en") else request_language()


def _require_json(fmt: str) -> None:
    if fmt != "json":
        raise FormatNotSupported(format=fmt[:10])


def _media_url(photo: Photo) -> str:
    """The signed, expiring, absolute link to a photo's metadata-free display rendition."""
    token = photo_links().sign(photo.id)
    return url_for("photos.display", photo_id=photo.id, t=token, _external=True)


@open311.get("/services.<fmt>")
def list_services(fmt: str) -> list[dict]:
    """Service discovery: one service per sector."""
    _require_json(fmt)
    return services.service_list(_language())


@open311.get("/requests.<fmt>")
def list_requests(fmt: str) -> list[dict]:
    """Public service requests (forwarded reports and later), newest first, at most 1000."""
    _require_json(fmt)
    query = services.parse_request_query(
        request.args, now=utcnow(), local_timezone=current_app.config["LOCAL_TIMEZONE"]
    )
    found = services.find_requests(db.session, query)
    return services.present_requests(db.session, found, lang=_language(), media_url_for=_media_url)


@open311.get(REQUEST)
def get_request(request_id: int, fmt: str) -> list[dict]:
    """One public service request, as a list of one (the spec's shape)."""
    _require_json(fmt)
    report = services.get_request(db.session, request_id)
    return services.present_requests(
        db.session, [report], lang=_language(), media_url_for=_media_url
    )


@open311.post("/requests.<fmt>")
@submission_limits
def create_request(fmt: str) -> tuple[list[dict], int]:
    """File a hazard: ``service_code``, ``lat``/``long``, ``description``, ``media`` file(s)."""
    _require_json(fmt)
    g.open311_locale = request.form.get("locale")  # for the answer and any error that follows
    submission = services.parse_submission(
        request.form,
        # A browser's empty file input sends a part without a filename: no photo, not an empty one.
        [IncomingPhoto(f.filename, f.stream) for f in request.files.getlist("media") if f.filename],
        reporter=current_principal().user,
        idempotency_key=idempotency_key(),
    )
    intake = take_in(submission)
    return [services.present_created(intake, lang=_language())], 201


@open311.route("/<path:_rest>", methods=["GET", "POST"])
def unknown(_rest: str) -> NoReturn:
    """Anything else under /open311/v2 answers Open311's 404."""
    raise NotFound(what="该 Open311 资源", what_en="Open311 resource")


# --- errors: the project's one policy, reshaped into Open311's list ------------------------------


def _as_open311(response: Response) -> Response:
    """``{"error": {"message": …}}`` as ``[{"code": <HTTP status>, "description": …}]``."""
    body = response.get_json(silent=True) or {}
    description = (body.get("error") or {}).get("message") or ""
    out = jsonify([{"code": response.status_code, "description": description}])
    out.status_code = response.status_code
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            out.headers[name] = value
    return out


@open311.errorhandler(HazardError)
def _hazard_error(error: HazardError) -> Response:
    """In Open311's ``locale`` when the client gave one."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    message = error.message(_language())
    return _as_open311(
        http_errors.error_response(error.status, error.code, message, error.field, None, headers)
    )


@open311.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> Response:
    return _as_open311(http_errors.handle_rate_limited(error))


@open311.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return _as_open311(http_errors.handle_http_exception(error))


def _database_error_handler(handler):
    return lambda error: _as_open311(handler(error))


for _error, _handler in http_errors.DATABASE_ERROR_HANDLERS:  # a 503 as on /api/v1, not a 500
    open311.register_error_handler(_error, _database_error_handler(_handler))


@open311.errorhandler(Exception)
def _unexpected(error: Exception) -> Response:
    return _as_open311(http_errors.handle_unexpected(error))
