"""Production safety: a real secret key, security headers on every answer, CORS by allow-list."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEFAULT_SECRET_KEY

CORS_ALLOWED_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, X-Followup-Token, X-CSRF-Token, Accept-Language"
)
CORS_EXPOSED_HEADERS = "Location, Retry-After, Idempotent-Replayed"
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
# The API's docs page (Swagger UI) runs one inline start-up script; everything is same-origin,
# but for the map tiles of MAP_TILE_URL when an operator sets one (see html_csp).
HTML_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def tile_origins(url_template: str | None, subdomains: str = "abc") -> list[str]:
    """The origins a Leaflet tile URL template loads from, as CSP sources.

    ``{s}`` in the host is expanded over ``subdomains`` (Leaflet's option); any other placeholder
    left in the host makes its label and those left of it a ``*.`` wildcard. A template without a
    scheme (``//host/...``) is taken as https. An unusable template gives no origin.
    """
    if not url_template:
        return []
    template = url_template.strip()
    if template.startswith("//"):
        template = "https:" + template
    try:
        parts = urlsplit(template)
    except ValueError:
        return []
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []
    hosts = (
        [parts.netloc.replace("{s}", sub) for sub in (subdomains or "abc")]
        if "{s}" in parts.netloc
        else [parts.netloc]
    )
    origins: list[str] = []
    for host in hosts:
        host = host.rpartition("@")[2]  # never credentials in a policy
        labels = host.split(".")
        templated = [i for i, label in enumerate(labels) if _PLACEHOLDER.search(label)]
        if templated:
            rest = labels[templated[-1] + 1 :]
            if len(rest) < 2 or any(_PLACEHOLDER.search(label) for label in rest):
                return []  # a wildcard over a bare TLD (or a templated port) is refused
            host = "*." + ".".join(rest)
        if re.search(r"[\s;,'\"]", host):
            return []
        origin = f"{parts.scheme}://{host}"
        if origin not in origins:
            origins.append(origin)
    return origins


def bucket_origins(config: Mapping[str, Any]) -> list[str]:
    """Where the pages' photos come from with S3 storage: rendition links redirect to the
    bucket's signed URLs (path-style or virtual-hosted at the endpoint phones are given)."""
    if config.get("STORAGE") != "s3":
        return []
    bucket = config.get("S3_BUCKET")
    endpoint = config.get("S3_PUBLIC_ENDPOINT_URL") or config.get("S3_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if not parts.scheme or not parts.hostname:
            return []
        port = f":{parts.port}" if parts.port else ""
        return [
            f"{parts.scheme}://{parts.hostname}{port}",
            f"{parts.scheme}://{bucket}.{parts.hostname}{port}",
        ]
    region = config.get("S3_REGION") or "us-east-1"
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def html_csp(config: Mapping[str, Any]) -> str:
    """The pages' policy: HTML_CSP, with the tile server's and the bucket's origins in img-src
    when configured, and the bucket's in connect-src (the report page uploads photos there)."""
    bucket = bucket_origins(config)
    origins = tile_origins(config.get("MAP_TILE_URL"), config.get("MAP_TILE_SUBDOMAINS") or "abc")
    origins += [o for o in bucket if o not in origins]
    policy = HTML_CSP
    if origins:
        policy = policy.replace(
            "img-src 'self' data: blob:", "img-src 'self' data: blob: " + " ".join(origins)
        )
    if bucket:
        policy = policy.replace("connect-src 'self'", "connect-src 'self' " + " ".join(bucket))
    return policy


class InsecureConfiguration(SystemExit):
    """Raised at start-up; as a SystemExit it ends the process with just the message."""


def check_production_settings(app: Flask) -> None:
    """Refuse to run outside development and testing with the public default secret key."""
    relaxed = app.debug or app.testing or app.config["ENV"] in ("development", "testing")
    if not relaxed and app.config["SECRET_KEY"] in (DEFAULT_SECRET_KEY, "", None):
        raise InsecureConfiguration(
            "hazard_reporter: refusing to start: HAZARD_SECRET_KEY is not set "
            f"(HAZARD_ENV={app.config['ENV']}). Set it to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'. "
            "For local development only, set HAZARD_ENV=development."
        )


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        csp = current_app.extensions.get("hazard_html_csp", HTML_CSP)
    else:
        csp = JSON_CSP
    headers.setdefault("Content-Security-Policy", csp)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _cors(allowed: set[str]):
    def add_cors_headers(response):
        origin = request.headers.get("Origin")
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
                response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
        return response

    return add_cors_headers


def register_security(app: Flask) -> None:
    check_production_settings(app)
    hops = int(app.config.get("PROXY_FIX_HOPS") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    production = app.config["ENV"] == "production" and not app.testing
    app.config["SESSION_COOKIE_SECURE"] = app.config.get("COOKIE_SECURE", production)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_NAME"] = "hazard_session"
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["WEB_SESSION_HOURS"] * 3600
    app.extensions["hazard_html_csp"] = html_csp(app.config)
    app.after_request(_security_headers)
    app.after_request(_cors(set(app.config.get("CORS_ORIGINS") or [])))
