"""Web security: file names that try to leave the upload directory, HTML and script in people's
text on every page, CSRF on every state-changing route, and a role row for every route.

test_security.py covers the secret key, headers, CORS and abuse limits; test_authorization_matrix.py
covers who may read which report (scopes, ids that cannot be probed, what units never see). Here
every route of the app's url_map must have its role row below, so a new route cannot be added
without saying who may call it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from werkzeug.routing import Rule

from hazard_reporter.errors import CsrfFailed
from hazard_reporter.extensions import db
from tests.conftest import PASSWORD, build_app, make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

PACKAGE = Path(__file__).resolve().parent.parent / "hazard_reporter"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MISSING = 999_999
KEY = re.compile(r"^originals/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.(jpg|png|webp|heic)$")


# --- file names never reach a storage key or a served path ---------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.jpg",
    "../../../../../../tmp/evil.jpg",
    "/etc/passwd",
    "/tmp/absolute.jpg",
    "..\\..\\windows\\win.ini.jpg",
    "C:\\evil.jpg",
    "a\x00.jpg",
    "photo.jpg\x00.php",
    "\u2025/\u2025/dots.jpg",  # TWO DOT LEADER
    "\uff0e\uff0e\uff0fwide.jpg",  # FULLWIDTH FULL STOP and SOLIDUS
    "%2e%2e%2fencoded.jpg",
    "..",
    "",
]


def files_outside(root: Path, allowed: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and allowed not in p.parents]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_an_upload_name_never_becomes_a_key_or_a_path(app, client, storage, tmp_path, name):
    response = post_report(client, photos=[(make_jpeg(gps=MIANYANG), name)])
    assert response.status_code == 201, response.json
    keys = [o.key for o in storage.list("originals/")]
    assert len(keys) == 1 and KEY.match(keys[0]), keys
    leftovers = [
        p for p in files_outside(tmp_path, tmp_path / "uploads") if not p.name.startswith("test.db")
    ]
    assert leftovers == []
    assert not Path("/etc/passwd.jpg").exists() and not Path("/tmp/evil.jpg").exists()
    admin = make_user(app, "admin")["headers"]
    [photo] = response.json["photos"]
    original = client.get(f"/api/v1/photos/{photo['id']}/original", headers=admin)
    assert original.status_code == 200
    disposition = original.headers["Content-Disposition"]
    assert re.fullmatch(r"(inline|attachment); filename=report-\d+-photo-\d+\.jpg", disposition)


@pytest.mark.parametrize(
    "path",
    [
        "/pages-static/../routes.py",
        "/pages-static/..%2froutes.py",
        "/pages-static/%2e%2e/routes.py",
        "/pages-static/%2e%2e%2froutes.py",
        "/pages-static/pages/..%2f..%2froutes.py",
        "/pages-static/pages/..%5c..%5croutes.py",
        "/pages-static/..%5croutes.py",
        "/pages-static/%2Fetc%2Fpasswd",
        "/pages-static//etc/passwd",
        "/static/..%2f..%2fconfig.py",
        "/static/%2e%2e/%2e%2e/config.py",
        "/static/vendor/..%2f..%2f..%2fconfig.py",
        "/api/v1/photos/..%2f1/display",
        "/api/v1/photos/1/..%2f..%2foriginal",
        "/api/v1/unit/..%2f..%2fusers",
        "/open311/v2/..%2f..%2fapi%2fv1%2fusers",
    ],
)
def test_served_paths_refuse_dot_dot(client, path):
    response = client.get(path, follow_redirects=True)  # "//" is merged by a same-path redirect
    assert response.status_code in (400, 404), (path, response.status_code)
    body = response.get_data(as_text=True)
    assert "import " not in body and "root:" not in body and "SECRET" not in body


def test_local_storage_refuses_keys_that_leave_its_root(storage):
    from hazard_reporter.core.storage import check_key

    for key in ("../x.jpg", "/etc/passwd", "a/../../b", "a\\..\\b", "a\x00b", "", "a//b/../.."):
        with pytest.raises(ValueError):
            check_key(key)
        with pytest.raises(ValueError):
            storage.put_bytes(key, b"x", "image/jpeg")


# --- HTML and script in people's text are shown as text on every page --------------------------

# Sinks that would parse a string as HTML or code, and the uses allowed with their reason.
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setTimeout\(\s*['\"]|\|\s*safe\b|Markup\(|autoescape\s+false|srcdoc"
)
ALLOWED_SINKS = {
    # report.js reads back the innerHTML of a span whose textContent was set: HTML-escaping a
    # configured attribution for Leaflet, which writes attributions as HTML.
    ("pages/static/pages/report.js", "return span.innerHTML;"),
}


def test_no_page_script_or_template_writes_data_as_html():
    found = []
    for path in sorted(PACKAGE.glob("pages/**/*")):
        if path.suffix not in {".js", ".html"} or "vendor" in path.parts:
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith(("*", "/*", "//", "{#")):
                continue  # a comment
            if SINKS.search(line):
                snippet = line.strip().split("//")[0].strip()
                if (relative, snippet) not in ALLOWED_SINKS:
                    found.append(f"{relative}: {line.strip()}")
    assert not found, "data could reach the DOM as HTML:\n" + "\n".join(found)


def test_templates_keep_autoescaping(app):
    for name in ("report", "status", "inspect", "unit", "committee"):
        with app.test_request_context():
            template = app.jinja_env.get_template(f"pages/{name}.html")
            assert template.environment.autoescape(f"pages/{name}.html")


# --- CSRF on every state-changing route -----------------------------------------------------------


def concrete(rule: Rule) -> str:
    """A path for ``rule`` with every variable filled in."""
    fill = {"integer": str(MISSING), "any": "csv", "path": "x", "unicode": "x"}
    path = rule.rule
    for name, converter in rule._converters.items():
        kind = type(converter).__name__.removesuffix("Converter").lower()
        value = "json" if (name, kind) == ("fmt", "unicode") else fill.get(kind, "x")
        path = re.sub(r"<[^>]*\b" + re.escape(name) + ">", value, path)
    return path


def state_changing_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & UNSAFE):
            routes.append((method, concrete(rule)))
    return sorted(routes)


@pytest.fixture(scope="module")
def csrf_world(tmp_path_factory):
    app = build_app(tmp_path_factory.mktemp("csrf"))
    admin = make_user(app, "admin")
    yield app, admin
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def error_code(response) -> str | None:
    """The error's code; Open311 answers its own shape, ``[{"code": status, "description"}]``,
    whose description is then matched to the project's messages."""
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        return body.get("error", {}).get("code")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        description = body[0].get("description")
        if description in {CsrfFailed().message("zh"), CsrfFailed().message("en")}:
            return CsrfFailed.code
    return None


def cookie_client(app, person):
    client = app.test_client()
    signed = client.post(
        "/api/v1/auth/session", json={"phone": person["phone"], "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.json
    assert client.get("/api/v1/auth/me").status_code == 200  # the cookie alone signs in
    return client, signed.json["csrf_token"]


def test_there_are_state_changing_routes_to_check(csrf_world):
    app, _ = csrf_world
    routes = state_changing_routes(app)
    assert len(routes) > 40 and ("POST", "/api/v1/reports") in routes


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["absent", "empty", "wrong"])
def test_a_cookie_write_without_its_csrf_token_is_refused_everywhere(csrf_world, token):
    app, admin = csrf_world
    client, _ = cookie_client(app, admin)
    headers = {} if token is None else {"X-CSRF-Token": token}
    unrefused = []
    for method, path in state_changing_routes(app):
        if (method, path) == SIGN_IN:
            continue  # signing in again replaces the session: see the test below
        response = client.open(path, method=method, json={}, headers=headers)
        code = error_code(response)
        if (response.status_code, code) != (403, "csrf_failed"):
            unrefused.append(f"{method} {path}: {response.status_code} {code}")
    assert not unrefused, "cookie writes accepted without the CSRF token:\n" + "\n".join(unrefused)
    assert client.get("/api/v1/auth/me").status_code == 200  # nothing above signed it out


SIGN_IN = ("POST", "/api/v1/auth/session")


def test_a_tab_without_the_token_takes_up_the_cookies_session_or_signs_in_again(csrf_world):
    # A new tab, or the desk opened again tomorrow: the cookie's session is still live but the
    # token the old tab kept is gone. The page takes the session up (GET gives the token);
    # signing in again also works. Before, the sign-in itself failed the CSRF check, forever.
    app, admin = csrf_world
    client, token = cookie_client(app, admin)
    taken_up = client.get("/api/v1/auth/session")
    assert taken_up.status_code == 200 and taken_up.json["csrf_token"] == token
    assert taken_up.json["user"]["phone"] == admin["phone"]
    again = client.post(
        "/api/v1/auth/session", json={"phone": admin["phone"], "password": PASSWORD}
    )
    assert again.status_code == 200, again.json
    fresh = again.json["csrf_token"]
    assert (
        client.patch(
            "/api/v1/auth/me", json={"name": "管理员"}, headers={"X-CSRF-Token": fresh}
        ).status_code
        == 200
    )
    assert app.test_client().get("/api/v1/auth/session").status_code == 401  # no cookie, no token


def test_a_cookie_write_with_its_csrf_token_passes_the_check(csrf_world):
    app, admin = csrf_world
    client, token = cookie_client(app, admin)
    response = client.patch(
        "/api/v1/auth/me", json={"name": "管理员"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200, response.json


def test_bearer_writes_need_no_csrf_token(csrf_world):
    app, _ = csrf_world
    client = app.test_client(use_cookies=False)
    refused = []
    for method, path in state_changing_routes(app):
        if path in ("/api/v1/auth/logout", "/api/v1/auth/password"):
            continue  # they end the sign-in; checked on their own below
        headers = make_user(app, "admin")["headers"] if path == "/api/v1/auth/session" else None
        response = client.open(
            path, method=method, json={}, headers=headers or csrf_world[1]["headers"]
        )
        if error_code(response) == "csrf_failed":
            refused.append(f"{method} {path}")
    assert not refused, refused
    for path in ("/api/v1/auth/logout", "/api/v1/auth/password"):
        fresh = make_user(app, "worker")["headers"]
        body = {"current_password": PASSWORD, "new_password": "another-pass-2026"}
        response = client.post(path, json=body, headers=fresh)
        assert response.status_code in (200, 204), (path, response.json)


def test_a_bearer_token_beside_a_cookie_is_not_a_way_round_csrf(csrf_world):
    """The bearer decides who calls; a forged or missing one with a cookie never skips the check."""
    app, admin = csrf_world
    client, _ = cookie_client(app, admin)
    forged = client.patch("/api/v1/auth/me", json={}, headers={"Authorization": "Bearer abc"})
    assert forged.status_code == 401 and forged.json["error"]["code"] == "token_invalid"
    plain = client.patch("/api/v1/auth/me", json={}, headers={"Authorization": ""})
    assert plain.status_code == 403 and plain.json["error"]["code"] == "csrf_failed"


# --- every route has its role row ---------------------------------------------------------------

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed in"  # any role
ALL_ROLES = ("worker", "inspector", "unit_staff", "committee", "admin")
DESK = ("inspector", "admin")
R = "/api/v1/reports/<int(max=2147483647):report_id>"
UNIT_LINK = "/api/v1/unit/<token>"
CAMPAIGN = {"name": "安全月", "starts_on": "2026-06-01", "ends_on": "2026-06-30"}
HOOK = {"name": "h", "url": "https://example.org/hook", "secret": "s" * 16}
UNIT = {"slug": "a-unit", "name_zh": "单位", "region_code": "510703"}
PROPOSAL = {"reporter_id": 1, "report_ids": [1], "level": "timely_praise", "reason": "r"}

# (method, rule) -> who may call it, and a valid body (so that refusals are not hidden behind 422).
# Written from DESIGN.md's people and README's API; scopes within a role are
# test_authorization_matrix.py's business.
ROUTES: dict[tuple[str, str], tuple[object, dict | None]] = {
    ("GET", "/"): (PUBLIC, None),
    ("GET", "/api/v1/docs"): (PUBLIC, None),
    ("GET", "/api/v1/openapi.json"): (PUBLIC, None),
    ("GET", "/api/v1/sectors"): (PUBLIC, None),
    ("GET", "/api/v1/regions"): (PUBLIC, None),
    ("POST", "/api/v1/regions/import"): (("admin",), None),
    ("GET", "/api/v1/health"): (PUBLIC, None),  # for load balancers and probes
    ("POST", "/api/v1/auth/signup"): (PUBLIC, {"phone": "13911112222", "password": PASSWORD}),
    ("POST", "/api/v1/auth/login"): (PUBLIC, {"phone": "13911113333", "password": PASSWORD}),
    ("POST", "/api/v1/auth/session"): (PUBLIC, {"phone": "13911113333", "password": PASSWORD}),
    ("POST", "/api/v1/auth/refresh"): (PUBLIC, {"refresh_token": "not-a-refresh-token"}),
    ("POST", "/api/v1/auth/logout"): (SIGNED_IN, None),
    ("POST", "/api/v1/auth/password"): (
        SIGNED_IN,
        {"current_password": PASSWORD, "new_password": "another-pass-2026"},
    ),
    ("GET", "/api/v1/auth/me"): (SIGNED_IN, None),
    ("PATCH", "/api/v1/auth/me"): (SIGNED_IN, {}),
    ("GET", "/api/v1/users"): (("admin",), None),
    ("POST", "/api/v1/users"): (
        ("admin",),
        {"phone": "13911114444", "password": PASSWORD, "role": "worker"},
    ),
    ("PATCH", "/api/v1/users/<int(max=2147483647):user_id>"): (("admin",), {}),
    # Reporting needs no account; reading needs one (or the follow-up token, see the matrix).
    ("POST", "/api/v1/reports"): (PUBLIC, "multipart"),
    ("POST", "/api/v1/uploads"): (PUBLIC, {"content_type": "image/jpeg"}),
    ("GET", "/api/v1/reports"): (SIGNED_IN, None),
    ("GET", "/api/v1/reports.geojson"): (SIGNED_IN, None),
    ("GET", R): (SIGNED_IN, None),
    ("POST", f"{R}/claim"): (SIGNED_IN, None),
    ("POST", f"{R}/me-too"): (SIGNED_IN, {"into_id": 1}),  # or with the report's follow-up token
    ("GET", f"{R}/reporter"): (DESK, None),
    ("GET", "/api/v1/photos/<int(max=2147483647):photo_id>/original"): (DESK, None),
    ("GET", "/api/v1/photos/<int(max=2147483647):photo_id>/display"): (PUBLIC, None),  # signed link
    ("GET", "/api/v1/photos/<int(max=2147483647):photo_id>/thumbnail"): (PUBLIC, None),
    # Inspectors' work.
    ("GET", "/api/v1/inspect/queue"): (DESK, None),
    ("POST", f"{R}/triage"): (DESK, {}),
    ("POST", f"{R}/severity"): (DESK, {"severity": "red", "reason": "r"}),
    ("POST", f"{R}/forward"): (DESK, {}),
    ("POST", f"{R}/reject"): (DESK, {"reason": "r"}),
    ("POST", f"{R}/retriage"): (DESK, {"reason": "r"}),
    ("POST", f"{R}/merge"): (DESK, {"into_id": 1}),
    ("POST", f"{R}/verify"): (DESK, {}),
    ("POST", f"{R}/reopen"): (DESK, {"reason": "r"}),
    ("POST", f"{R}/outcome"): (DESK, {"hazard_confirmed": "general"}),
    ("POST", f"{R}/clear-flags"): (DESK, {"reason": "r"}),
    ("GET", f"{R}/duplicates"): (DESK, None),
    ("GET", f"{R}/unit-link"): (DESK, None),  # to pass on to a unit without a channel
    ("GET", f"{R}/route"): (DESK, None),  # the unit "automatic" forwarding would pick
    ("GET", "/api/v1/deliveries"): (DESK, None),
    ("GET", "/api/v1/deliveries/<int(max=2147483647):delivery_id>"): (DESK, None),
    ("POST", "/api/v1/deliveries/<int(max=2147483647):delivery_id>/retry"): (DESK, None),
    # Units: as unit staff, or through their signed link with no account.
    ("POST", f"{R}/acknowledge"): (("unit_staff",), {}),
    ("POST", f"{R}/rectifying"): (("unit_staff",), {}),
    ("POST", f"{R}/rectification"): (("unit_staff",), "rectification"),
    ("POST", f"{R}/decline"): (("unit_staff",), {"reason": "r"}),
    ("GET", UNIT_LINK): (PUBLIC, None),
    ("POST", f"{UNIT_LINK}/acknowledge"): (PUBLIC, {}),
    ("POST", f"{UNIT_LINK}/rectifying"): (PUBLIC, {}),
    ("POST", f"{UNIT_LINK}/rectification"): (PUBLIC, "rectification"),
    ("POST", f"{UNIT_LINK}/decline"): (PUBLIC, {"reason": "r"}),
    # Administration.
    ("GET", "/api/v1/units"): (DESK, None),
    ("POST", "/api/v1/units"): (("admin",), UNIT),
    ("PATCH", "/api/v1/units/<int(max=2147483647):unit_id>"): (("admin",), UNIT),
    ("POST", "/api/v1/units/import"): (("admin",), None),
    ("GET", "/api/v1/routing-rules"): (DESK, None),
    ("POST", "/api/v1/routing-rules"): (("admin",), {"region_code": "510703", "unit_id": MISSING}),
    ("POST", "/api/v1/routing-rules/import"): (("admin",), None),
    ("GET", "/api/v1/integrations/webhooks"): (("admin",), None),
    ("POST", "/api/v1/integrations/webhooks"): (("admin",), HOOK),
    ("DELETE", "/api/v1/integrations/webhooks/<int(max=2147483647):hook_id>"): (("admin",), None),
    # Awards: the committee grants, inspectors propose.
    ("GET", "/api/v1/awards"): (("committee", "admin"), None),
    ("GET", "/api/v1/awards/certificates.pdf"): (("committee", "admin"), None),
    ("GET", "/api/v1/awards/export.<any(csv, xlsx, pdf):fmt>"): (("committee", "admin"), None),
    ("GET", "/api/v1/campaigns"): (("inspector", "committee", "admin"), None),
    ("POST", "/api/v1/campaigns"): (("admin",), CAMPAIGN),
    ("GET", "/api/v1/commendations"): (("inspector", "committee", "admin"), None),
    ("POST", "/api/v1/commendations"): (("inspector", "committee", "admin"), PROPOSAL),
    ("POST", "/api/v1/commendations/<int(max=2147483647):commendation_id>/grant"): (
        ("committee", "admin"),
        None,
    ),
    # Open311 is public by its nature; it lists only forwarded reports and no reporters.
    ("GET", "/open311/v2/services.<fmt>"): (PUBLIC, None),
    ("GET", "/open311/v2/requests.<fmt>"): (PUBLIC, None),
    ("POST", "/open311/v2/requests.<fmt>"): (PUBLIC, None),
    ("GET", "/open311/v2/requests/<int(max=2147483647):request_id>.<fmt>"): (PUBLIC, None),
    ("GET", "/open311/v2/<path:_rest>"): (PUBLIC, None),
    ("POST", "/open311/v2/<path:_rest>"): (PUBLIC, None),
    # The pages carry no data; their scripts call the API above.
    ("GET", "/report"): (PUBLIC, None),
    ("GET", "/status"): (PUBLIC, None),
    ("GET", "/inspect"): (PUBLIC, None),
    ("GET", "/unit"): (PUBLIC, None),
    ("GET", "/committee"): (PUBLIC, None),
    ("GET", "/pages-static/<path:filename>"): (PUBLIC, None),
    ("GET", "/static/<path:filename>"): (PUBLIC, None),
}
# Routes deliberately without a row, each with its reason (none today).
WAIVED: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/auth/session"): "a browser's cookie session only (a bearer caller has none: "
    "401); test_a_tab_without_the_token_takes_up_the_cookies_session_or_signs_in_again",
}
CALLERS = ("anonymous", *ALL_ROLES)
SESSION_ENDING = {"/api/v1/auth/logout", "/api/v1/auth/password"}
BODY_CREDENTIALS = {"/api/v1/auth/login", "/api/v1/auth/session", "/api/v1/auth/refresh"}


def url_map_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_role_row_or_a_waiver(app):
    routes = url_map_routes(app)
    missing = sorted(routes - ROUTES.keys() - WAIVED.keys())
    assert not missing, (
        f"routes with no role row (add one to ROUTES, or to WAIVED with a reason): {missing}"
    )
    stale = sorted((ROUTES.keys() | WAIVED.keys()) - routes)
    assert not stale, f"rows for routes that no longer exist: {stale}"
    assert all(reason.strip() for reason in WAIVED.values())


@pytest.fixture(scope="module")
def role_world(tmp_path_factory):
    app = build_app(tmp_path_factory.mktemp("roles"))
    with app.app_context():
        from sqlalchemy import select

        from hazard_reporter.units.models import Unit

        unit_id = db.session.scalar(select(Unit.id).where(Unit.slug == "my-gas-demo"))
    people = {
        "worker": {},
        "inspector": {"regions": ["510000"]},
        "unit_staff": {"unit_id": unit_id},
        "committee": {},
        "admin": {},
    }
    callers = {role: make_user(app, role, **scope) for role, scope in people.items()}
    yield app, callers, people
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def request_kwargs(body) -> dict:
    if body == "multipart":
        photo = (io.BytesIO(make_jpeg(gps=MIANYANG)), "p.jpg")
        return {"data": {"sector": "other", "description": "d", "photos": [photo]}}
    if body == "rectification":
        return {"data": {"note": "n", "photos": [(io.BytesIO(make_jpeg()), "after.jpg")]}}
    return {"json": body} if body is not None else {}


def route_path(app, method: str, rule_text: str) -> str:
    [rule] = [r for r in app.url_map.iter_rules() if r.rule == rule_text and method in r.methods]
    path = concrete(rule)
    return {
        "/static/x": "/static/vendor/swagger-ui/LICENSE",
        "/pages-static/x": "/pages-static/pages/desk.js",
    }.get(path, path)


ROWS = [(method, rule, caller) for (method, rule) in ROUTES for caller in CALLERS]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row[0]} {row[1]} | {row[2]}")
def test_each_route_admits_exactly_its_roles(role_world, row):
    app, callers, people = role_world
    method, rule, caller = row
    allowed, body = ROUTES[(method, rule)]
    path = route_path(app, method, rule)
    headers = {}
    if caller != "anonymous":
        fresh = rule in SESSION_ENDING  # these end the sign-in they are called with
        person = make_user(app, caller, **people[caller]) if fresh else callers[caller]
        headers = person["headers"]
    client = app.test_client(use_cookies=False)
    response = client.open(path, method=method, headers=headers, **request_kwargs(body))
    response.close()  # static files are streamed from an open file
    code = error_code(response)
    where = f"{method} {path} as {caller}: {response.status_code} {code}"
    if allowed == PUBLIC or (allowed == SIGNED_IN and caller != "anonymous") or caller in allowed:
        assert code not in {"auth_required", "forbidden"}, where
        if rule not in BODY_CREDENTIALS:  # their 401 is about the body's phone or token
            assert response.status_code not in (401, 403), where
    elif caller == "anonymous":
        assert (response.status_code, code) == (401, "auth_required"), where
    else:
        assert (response.status_code, code) == (403, "forbidden"), where


# --- the same, in a real browser: each page shows hostile text as text ---------------------------

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"\'&amp;'
CHROMIUM = Path("/usr/bin/chromium")


def hostile_world(app) -> dict:
    """A report whose every piece of people's text is markup: the worker's name, its region's
    name, its description, the override reason, the unit's name and the rectification note."""
    from urllib.parse import urlsplit

    from sqlalchemy import select

    from hazard_reporter.deliveries.models import Delivery
    from hazard_reporter.regions.models import RegionLevel
    from hazard_reporter.regions.services import upsert_region

    client = app.test_client(use_cookies=False)
    with app.app_context():
        upsert_region(
            db.session, code="510799", name_zh=XSS, level=RegionLevel.COUNTY, parent_code="510700"
        )
        db.session.commit()
    admin = make_user(app, "admin")["headers"]
    worker = make_user(app, "worker", name=XSS)
    inspector = make_user(app, "inspector", regions=["510000"])
    committee = make_user(app, "committee")
    assert (
        client.patch(
            "/api/v1/auth/me", json={"consent_named": True}, headers=worker["headers"]
        ).status_code
        == 200
    )
    unit = client.post(
        "/api/v1/units",
        json={
            "slug": "xss-unit",
            "name_zh": XSS,
            "region_code": "510799",
            "sectors": ["other"],
            "channels": [{"type": "link"}],
        },
        headers=admin,
    )
    assert unit.status_code == 201, unit.json
    photo = make_jpeg(gps=MIANYANG, make="HUAWEI", model="P60")
    mine = post_report(
        client,
        photos=[photo],
        headers=worker["headers"],
        sector="other",
        description=XSS,
        region_code="510799",
    )
    anonymous = post_report(client, sector="other", description=XSS, region_code="510799")
    assert mine.status_code == 201 and anonymous.status_code == 201, (mine.json, anonymous.json)
    rid, ins = mine.json["id"], inspector["headers"]
    steps = [
        (f"/api/v1/reports/{rid}/triage", {"severity": "orange", "reason": XSS}),
        (f"/api/v1/reports/{rid}/forward", {"unit_id": unit.json["id"]}),
    ]
    for path, body in steps:
        done = client.post(path, json=body, headers=ins)
        assert done.status_code == 200, (path, done.json)
    with app.app_context():
        delivery = db.session.scalar(
            select(Delivery).where(Delivery.report_id == rid, Delivery.kind == "report.forwarded")
        )
        token = urlsplit(delivery.payload["unit_link"]).fragment
        db.session.remove()
    for action in ("acknowledge", "rectifying"):
        assert client.post(f"/api/v1/unit/{token}/{action}", json={}).status_code == 200
    fixed = client.post(
        f"/api/v1/unit/{token}/rectification",
        data={"note": XSS, "photos": [(io.BytesIO(make_jpeg()), "after.jpg")]},
    )
    assert fixed.status_code == 200, fixed.json
    # The anonymous one stays in the inspectors' queue, triaged with a hostile reason.
    triaged = client.post(
        f"/api/v1/reports/{anonymous.json['id']}/triage",
        json={"severity": "red", "reason": XSS},
        headers=ins,
    )
    assert triaged.status_code == 200, triaged.json
    return {
        "client": client,
        "report": rid,
        "unit_token": token,
        "anonymous": (anonymous.json["id"], anonymous.json["followup_token"]),
        "inspector": inspector,
        "committee": committee,
    }


def verify_and_commend(world) -> None:
    """Verify the rectified report (its unit link then stops working), so the committee lists it."""
    rid, ins = world["report"], world["inspector"]["headers"]
    for path, body in (
        (f"/api/v1/reports/{rid}/verify", {}),
        (f"/api/v1/reports/{rid}/clear-flags", {"reason": XSS}),
        (f"/api/v1/reports/{rid}/outcome", {"hazard_confirmed": "major", "account": XSS}),
    ):
        done = world["client"].post(path, json=body, headers=ins)
        assert done.status_code in (200, 409), (path, done.json)  # clear-flags: maybe none


def test_hostile_text_is_shown_as_text_on_every_page(app, live_server):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    world = hostile_world(app)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ]

    def signed_in(page, person):
        page.get_by_label("手机号").fill(person["phone"])
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.locator("#signin-form")).to_be_hidden()

    def harmless(page, where):
        assert page.evaluate("window.__xss") is None, f"script ran on {where}"
        assert page.locator("img[src='x']").count() == 0, f"markup became elements on {where}"
        assert page.locator("body script").count() == 0 or all(
            "__xss" not in (s or "") for s in page.locator("script").all_inner_texts()
        ), f"a script element with the payload on {where}"

    anon_id, anon_token = world["anonymous"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            context.set_default_timeout(20_000)
            dialogs = []
            context.on("page", lambda p: p.on("dialog", lambda d: dialogs.append(d.message)))

            page = context.new_page()
            page.goto(f"{live_server}/status#id={anon_id}&token={anon_token}")
            expect(page.locator("body")).to_contain_text(XSS)
            harmless(page, "/status")

            page = context.new_page()
            page.goto(f"{live_server}/inspect")
            signed_in(page, world["inspector"])
            item = page.locator(f"#queue .queue-item[data-report-id='{anon_id}']")
            expect(item).to_contain_text(XSS)
            item.locator("button").click()
            expect(page.locator("#p-description")).to_have_text(XSS)
            expect(page.locator("#p-region")).to_have_text(XSS)
            expect(page.locator("#p-reasons")).to_contain_text(XSS)
            harmless(page, "/inspect")

            unit_page = browser.new_page()
            unit_page.goto(f"{live_server}/unit#{world['unit_token']}")
            expect(unit_page.locator("#u-description")).to_have_text(XSS)
            harmless(unit_page, "/unit")
            unit_page.close()

            verify_and_commend(world)

            board = browser.new_context(locale="zh-CN").new_page()
            board.goto(f"{live_server}/committee")
            signed_in(board, world["committee"])
            expect(board.locator("#awards-body")).to_contain_text(XSS)
            harmless(board, "/committee")
            assert dialogs == []
        finally:
            browser.close()
