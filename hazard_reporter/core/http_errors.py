"""The one error policy: every failure leaves the API as ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from hazard_reporter.core.i18n import request_language
from hazard_reporter.core.pdf import FontMissing
from hazard_reporter.errors import HazardError, RateLimited, ValidationFailed

log = logging.getLogger(__name__)

DB_RETRY_AFTER_SECONDS = 30

# Messages for errors Werkzeug raises itself, by status.
HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式有误。", "The request is malformed."),
    401: ("unauthorized", "需要登录。", "Authentication is required."),
    403: ("forbidden", "无权访问。", "You are not allowed to do this."),
    404: ("not_found", "找不到该资源。", "The resource was not found."),
    405: ("method_not_allowed", "不支持该请求方法。", "This method is not allowed here."),
    406: ("not_acceptable", "无法提供所请求的格式。", "The requested format is not available."),
    409: ("conflict", "请求与当前状态冲突。", "The request conflicts with the current state."),
    413: ("request_too_large", "请求体过大。", "The request body is too large."),
    415: ("unsupported_media_type", "不支持的内容类型。", "Unsupported content type."),
    422: ("validation_error", "请求参数无效。", "The request parameters are not valid."),
    429: ("rate_limited", "请求过于频繁，请稍后再试。", "Too many requests; try again later."),
    500: ("internal_error", "服务器内部错误，请稍后重试。", "Internal server error; please retry."),
    503: (
        "service_unavailable",
        "服务暂时不可用，请稍后重试。",
        "Service unavailable; please retry.",
    ),
}

MISSING = "Missing data for required field."


def error_response(status: int, code: str, message: str, field=None, details=None, headers=None):
    """A JSON error response in the project's shape."""
    body = {"code": code, "message": message, "field": field}
    if details:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _first_field_error(messages) -> tuple[str | None, str | None]:
    """The first (field, message) in webargs' ``{location: {field: [msg]}}`` structure."""
    if not isinstance(messages, dict):
        return None, None
    for value in messages.values():
        if isinstance(value, dict):
            for field, errs in value.items():
                detail = errs[0] if isinstance(errs, list) and errs else errs
                if isinstance(detail, dict):  # nested (e.g. list index)
                    detail = next(iter(detail.values()), detail)
                    if isinstance(detail, list) and detail:
                        detail = detail[0]
                return str(field), str(detail)
    return None, None


def handle_hazard_error(error: HazardError):
    lang = request_language()
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return error_response(error.status, error.code, error.message(lang), error.field, None, headers)


def handle_http_exception(error: HTTPException):
    lang = request_language()
    status = error.code or 500
    code, zh, en = HTTP_MESSAGES.get(status, ("http_error", error.name, error.name))
    message = en if lang == "en" else zh
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    data = getattr(error, "data", None) or {}
    field, details = None, None
    if status == 422 and "messages" in data:
        # webargs/marshmallow validation: name the first field at fault.
        details = data["messages"]
        field, detail = _first_field_error(details)
        if field:
            if detail == MISSING:
                code = "missing_field"
                message = (
                    f"Field '{field}' is required." if lang == "en" else f"缺少必填字段“{field}”。"
                )
            else:
                message = ValidationFailed(field=field, detail=detail).message(lang)
        headers = {}
    return error_response(status, code, message, field, details, headers)


def handle_rate_limited(error: RateLimitExceeded):
    from hazard_reporter.core.limits import retry_after_seconds

    retry = retry_after_seconds()
    limited = RateLimited(retry_after=retry, limit=str(error.limit.limit))
    limited.params["retry_after"] = retry  # also named in the message
    return handle_hazard_error(limited)


def handle_database_error(error: DBAPIError | PoolTimeout):
    # The database is down, locked beyond the busy timeout, or every pooled connection is busy
    # (a burst of load): the client may retry the same request (with its Idempotency-Key) safely.
    log.warning("database unavailable: %s", error.__class__.__name__)
    english = request_language() == "en"
    return error_response(
        503,
        "database_unavailable",
        "The database is temporarily unavailable; nothing was saved. Please retry."
        if english
        else "数据库暂时不可用，未保存任何内容，请稍后重试。",
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


# SQLSTATE 25006: PostgreSQL refuses writes (a standby promoted late, a database switched to
# read-only for maintenance); the driver raises it as an InternalError.
READ_ONLY_SQLSTATE = "25006"


def handle_internal_database_error(error: InternalError):
    """A database that refuses writes for now is unavailable (503); any other internal error is
    unexpected (500)."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate == READ_ONLY_SQLSTATE:
        return handle_database_error(error)
    return handle_unexpected(error)


# Each database error and its handler, for the app and for blueprints with handlers of their own.
DATABASE_ERROR_HANDLERS = (
    (OperationalError, handle_database_error),
    (InterfaceError, handle_database_error),
    (PoolTimeout, handle_database_error),
    (InternalError, handle_internal_database_error),
)


def handle_font_missing(error):
    # A deployment problem, not the caller's: say what the server lacks.
    log.error("PDF font missing: %s", error)
    english = request_language() == "en"
    return error_response(
        503,
        "pdf_font_missing",
        "The server has no Chinese font for PDFs (install fonts-wqy-microhei); CSV and XLSX work."
        if english
        else "服务器缺少生成 PDF 所需的中文字体（请安装 fonts-wqy-microhei），CSV 和 XLSX 可正常导出。",
    )


def handle_unexpected(error: Exception):
    log.exception("unhandled error")
    lang = request_language()
    code, zh, en = HTTP_MESSAGES[500]
    return error_response(500, code, en if lang == "en" else zh)


def register_error_handlers(app: Flask) -> None:
    """Map every exception to the JSON error shape."""
    app.register_error_handler(HazardError, handle_hazard_error)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    app.register_error_handler(HTTPException, handle_http_exception)
    for database_error, handler in DATABASE_ERROR_HANDLERS:
        app.register_error_handler(database_error, handler)
    app.register_error_handler(FontMissing, handle_font_missing)
    app.register_error_handler(Exception, handle_unexpected)
