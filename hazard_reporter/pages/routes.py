"""GET /report, /status, /inspect, /unit and /committee: thin pages whose scripts call the JSON
API of the same origin.

The pages carry no data of their own (the follow-up token travels in the URL fragment, which
never reaches the server or its logs), so they need no session, no CSRF token and no cache-busting.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

pages = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/pages-static",
)


@pages.get("/report")
def report():
    """The phone page for reporting a hazard (works offline once loaded; queues and retries).

    Its pin map shows tiles only when ``MAP_TILE_URL`` is set (the CSP then allows that origin);
    with S3 storage its photos go straight to the bucket (the CSP allows that origin too). The
    settings reach the script as data- attributes, never as an inline script."""
    config = current_app.config
    return render_template(
        "pages/report.html",
        direct_uploads=config.get("STORAGE") == "s3",
        tile_url=config.get("MAP_TILE_URL") or "",
        tile_subdomains=config.get("MAP_TILE_SUBDOMAINS") or "abc",
        tile_attribution=config.get("MAP_TILE_ATTRIBUTION") or "",
    )


@pages.get("/status")
def status():
    """The follow-up page: a report's status and timeline, opened with ``#id=…&token=…``."""
    return render_template("pages/status.html")


@pages.get("/inspect")
def inspect():
    """The inspectors' desk (desk and phone): sign in, the queue, its map and a report's panel."""
    return render_template("pages/inspect.html")


@pages.get("/unit")
def unit():
    """A unit's page for its signed link, opened as ``/unit#<token>`` (the token never leaves
    the fragment for the server's logs; the script sends it to the API path)."""
    return render_template("pages/unit.html")


@pages.get("/committee")
def committee():
    """The award committee's page: sign in, the award list for a period, and its exports."""
    return render_template("pages/committee.html")
