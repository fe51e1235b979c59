"""Schemathesis over every operation of the OpenAPI document, sent to a running server.

The server is the app served over HTTP on 127.0.0.1 at an ephemeral port, as ``live_server`` in
conftest does (module-scoped here, so one app serves all the operations). Each operation is run
as an administrator, an inspector and a worker, in the examples, coverage and fuzzing phases, with
positive and negative data, and every answer must pass: no 5xx, the status documented, the content
type documented, and the body valid against the documented schema.

Reproducible and bounded: a fixed seed, ``derandomize`` and ``MAX_EXAMPLES`` per operation.

The schema is loaded when the module is collected, from the app the factory builds (schemathesis
4.32's fixture-loaded schemas break on pytest 9, whose nodes no longer have ``_nodeid``);
``test_the_running_server_serves_the_document_under_test`` checks that the running server answers
that very document.

Photos: schemathesis cannot draw valid images, so the photo uploads (``POST /api/v1/reports`` and
the rectification photos) are only ever sent bad photos, which exercises their error answers.
"""

from __future__ import annotations

import tempfile
import threading
import uuid
from datetime import timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from hazard_reporter import create_app
from hazard_reporter.accounts.models import AuthSession, User
from hazard_reporter.accounts.services import TokenPolicy
from hazard_reporter.core.db import utcnow
from hazard_reporter.extensions import api, db
from tests.conftest import _FONT_PROBLEM, build_app, make_user
from tests.test_reports_api import post_report

SEED = 20260601
MAX_EXAMPLES = 8  # per operation, role and generation mode in the fuzzing phase
ROLES = {
    "admin": {},
    "inspector": {"regions": ["510000"]},  # the whole province: sees every report
    "worker": {},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations that end or change the caller's own sign-in: each case gets a sign-in of its own.
SESSION_ENDING = {
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/password",
    "PATCH /api/v1/users/{user_id}",
}


def openapi_document() -> dict:
    """The OpenAPI document, from an app the factory builds (nothing is served or stored)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "schema-only",
                "DATABASE_URL": "sqlite://",
                "UPLOAD_DIR": tmp,
            }
        )
        with app.app_context():
            return api.spec.to_dict()


def config(*phases: str) -> schemathesis.Config:
    """Deterministic generation, positive and negative, in ``phases``."""
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {
                name: {"enabled": name in phases}
                for name in ("examples", "coverage", "fuzzing", "stateful")
            },
            "operations": [
                {
                    # Direct uploads answer their documented 501 where photos are not kept in a
                    # bucket (local storage, as here): a deployment's choice, not a fault.
                    "include-name": "POST /api/v1/uploads",
                    "checks": {
                        "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", 501]}
                    },
                }
            ],
        }
    )


DOCUMENT = openapi_document()
# The administrator reaches every operation: the examples, the coverage phase's boundary and
# negative values, then fuzzing. The other roles are refused most of them, so fuzzing suffices.
full = schemathesis.openapi.from_dict(DOCUMENT, config=config("examples", "coverage", "fuzzing"))
fuzz = schemathesis.openapi.from_dict(DOCUMENT, config=config("fuzzing"))
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class Server:
    """The running app, its callers and a way to give them a fresh sign-in."""

    def __init__(self, app, url: str):
        self.app, self.url = app, url
        self.users: dict[str, dict] = {}
        self.headers: dict[str, dict] = {}
        self.snapshots: dict[str, dict] = {}

    def add(self, role: str, **scope) -> None:
        user = make_user(self.app, role, **scope)
        self.users[role] = user
        with self.app.app_context():
            row = db.session.get(User, user["id"])
            self.snapshots[role] = {
                "role": row.role,
                "active": row.active,
                "region_codes": list(row.region_codes or []),
                "sectors": list(row.sectors or []),
                "unit_id": row.unit_id,
                "password_hash": row.password_hash,
            }

    def sign_in(self, role: str) -> dict:
        """Restore ``role``'s account as it was made and answer the headers of a new sign-in
        (a database row and a token, without the deliberately slow password check)."""
        user_id = self.users[role]["id"]
        now = utcnow()
        with self.app.app_context():
            row = db.session.get(User, user_id)
            for name, value in self.snapshots[role].items():
                setattr(row, name, value)
            sid = AuthSession(
                id=uuid.uuid4().hex,
                user_id=user_id,
                kind="api",
                created_at=now,
                expires_at=now + timedelta(days=TokenPolicy().refresh_days),
            )
            db.session.add(sid)
            db.session.commit()
            token = self.app.extensions["hazard_access_tokens"].issue(sid.id, user_id)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = build_app(tmp_path_factory.mktemp("schemathesis"))
    client = app.test_client()
    for region in ("510703", "510781"):  # ids 1 and 2 exist, so some drawn ids hit a report
        assert post_report(client, region_code=region).status_code == 201
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    running = Server(app, f"http://127.0.0.1:{httpd.server_port}")
    for role, scope in ROLES.items():
        running.add(role, **scope)
    yield running
    httpd.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fresh_sign_ins(server):
    """Every role signed in afresh, its account as made, for each operation (one operation's
    cases may disable an account, change its role or end its sign-in)."""
    for role in ROLES:
        server.headers[role] = server.sign_in(role)


def test_the_running_server_serves_the_document_under_test(server):
    served = requests.get(f"{server.url}/api/v1/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


def call(case, server, role: str) -> None:
    if _FONT_PROBLEM is not None and case.operation.path.endswith(".pdf"):
        # Answered 503 pdf_font_missing, as documented, on a machine without the font.
        pytest.skip(f"no CJK font for PDFs ({_FONT_PROBLEM}); apt-get install fonts-wqy-microhei")
    headers = server.sign_in(role) if case.operation.label in SESSION_ENDING else None
    case.call_and_validate(
        base_url=server.url, headers=headers or server.headers[role], checks=CHECKS
    )


@full.parametrize()
@HYPOTHESIS
def test_every_operation_answers_an_admin_as_documented(case, server, fresh_sign_ins):
    call(case, server, "admin")


@pytest.mark.parametrize("role", ["inspector", "worker"])
@fuzz.parametrize()
@HYPOTHESIS
def test_every_operation_answers_other_roles_as_documented(case, server, role, fresh_sign_ins):
    call(case, server, role)


# --- what schemathesis found, pinned as plain tests -----------------------------------------------


def test_a_photo_sent_as_a_text_field_is_a_422_naming_photos(client):
    response = client.post(
        "/api/v1/reports",
        data={"sector": "other", "description": "d", "region_code": "510703", "photos": "{}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "photos"


def test_an_after_photo_sent_as_a_text_field_is_a_422_naming_photos(app, client):
    staff = make_user(app, "unit_staff", unit_id=1)
    response = client.post(
        "/api/v1/reports/1/rectification",
        data={"note": "n", "photos": "not a file"},
        content_type="multipart/form-data",
        headers=staff["headers"],
    )
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "photos"


def test_a_routing_rule_without_a_sector_covers_every_sector(client, admin):
    response = client.post(
        "/api/v1/routing-rules", json={"region_code": "510703", "unit_id": 1}, headers=admin
    )
    assert response.status_code == 201, response.json
    assert response.json["sector"] is None


@pytest.mark.parametrize(
    "path", ["/api/v1/units/import", "/api/v1/routing-rules/import", "/api/v1/regions/import"]
)
@pytest.mark.parametrize(
    "body",
    ['a,b\r\n"x\ry"z\r\n', 'region_code,sector,unit_slug\n"unclosed\n', "a\n" + "x" * 200_000],
    ids=["stray-quote", "unclosed-quote", "huge-field"],
)
def test_a_csv_import_that_is_not_csv_is_a_422_naming_csv(client, admin, path, body):
    response = client.post(path, data=body, content_type="text/csv", headers=admin)
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    assert response.json["error"]["field"] == "csv"


def test_unit_channels_in_a_csv_must_be_a_json_list(client, admin):
    body = "slug,name_zh,name_en,region_code,sectors,channels\nx-unit,单位,,510703,other,5\n"
    response = client.post(
        "/api/v1/units/import", data=body, content_type="text/csv", headers=admin
    )
    assert response.status_code == 422, response.json
    assert "第 2 行：channels 须为 JSON 列表" in response.json["error"]["message"]
