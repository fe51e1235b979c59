"""Shared fixtures: an app from the factory per test, over a fresh database and fresh storage.

Every app that ``build_app`` makes (the ``app`` fixture, or a test that needs its own settings) gets
a database of its own with the schema and the demo reference data, so tests never see each other's
rows. Which server holds it is chosen by ``HAZARD_TEST_DATABASE``:

- unset or ``sqlite`` (the default): a new SQLite file in the test's ``tmp_path``, built with
  ``create_all`` and ``load_demo_data``.
- ``postgresql``: a new database on the server at ``HAZARD_TEST_POSTGRES_URL`` (default
  ``postgresql://postgres@127.0.0.1:5432/test``, which is only used to create and drop the others).
  At session start each pytest process builds one template database (``hz_template_<random>``)
  with the schema and the demo data; each app then gets ``CREATE DATABASE hz_<random> TEMPLATE
  …``, a copy far quicker than ``create_all`` and the seed. When the app is done with (the end of
  its fixture or of the test that built it) its engine is disposed and its database is dropped
  ``WITH (FORCE)`` (PostgreSQL 13+), which terminates any connection a stray thread still holds.
  The template, and anything left over, is dropped at session end (a run killed by a signal
  leaves its ``hz_*`` databases behind). A server that cannot be reached in this mode stops the
  run at once with the reason: CI must never pass by testing nothing.

A test that passes its own ``DATABASE_URL`` to ``build_app`` keeps it, in either mode.

``HAZARD_STORAGE=s3`` runs the same tests against a real S3 endpoint on loopback (moto's server);
otherwise photos go to a temporary directory, as in the embedded default.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from hazard_reporter import create_app
from hazard_reporter.demo import load_demo_data
from hazard_reporter.extensions import db

# boto3 must never look for real credentials or the cloud metadata address.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

STORAGE_KIND = os.environ.get("HAZARD_STORAGE", "local")
DATABASE_KIND = os.environ.get("HAZARD_TEST_DATABASE", "sqlite")
POSTGRES_URL = os.environ.get(
    "HAZARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class PostgresDatabases:
    """Fresh databases on one PostgreSQL server, cloned from a template made once per process."""

    def __init__(self, url: str) -> None:
        self.url = url  # the maintenance database: only CREATE and DROP DATABASE are run there
        self.template = f"hz_template_{uuid.uuid4().hex[:12]}"
        self._admin = None
        self._live: set[str] = set()  # databases made and not dropped yet

    def url_of(self, name: str) -> str:
        """The URL of database ``name`` on the same server."""
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def start(self) -> None:
        """Connect, or stop the whole run with the reason; then build the template."""
        import psycopg

        conninfo = make_url(self.url).set(drivername="postgresql")
        try:
            self._admin = psycopg.connect(
                conninfo.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
            )
        except psycopg.Error as exc:
            pytest.exit(
                f"HAZARD_TEST_DATABASE=postgresql, but PostgreSQL is not reachable at "
                f"{conninfo.render_as_string()} (start it, set HAZARD_TEST_POSTGRES_URL, or unset "
                f"HAZARD_TEST_DATABASE to test on SQLite): {type(exc).__name__}: {exc}",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )
        self._execute("CREATE DATABASE {}", self.template)
        try:
            app = create_app(
                {"TESTING": True, "DATABASE_URL": self.url_of(self.template), "STORAGE": "memory"}
            )
            with app.app_context():
                db.create_all()
                load_demo_data(db.session)
                db.session.remove()
                db.engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template idle
        except BaseException:
            self.stop()
            raise

    def create(self) -> str:
        """A new database with the schema and the demo data; returns its name."""
        name = f"hz_{uuid.uuid4().hex[:16]}"
        self._execute("CREATE DATABASE {} TEMPLATE {}", name, self.template)
        self._live.add(name)
        return name

    def drop(self, name: str) -> None:
        """Drop ``name``, ending any session still on it."""
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
        self._live.discard(name)

    def stop(self) -> None:
        """Drop whatever this process left behind, then the template; close the connection."""
        if self._admin is None:
            return
        for name in sorted(self._live):
            self.drop(name)
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.template)
        self._admin.close()
        self._admin = None

    def _execute(self, statement: str, *names: str) -> None:
        from psycopg import sql

        self._admin.execute(sql.SQL(statement).format(*(sql.Identifier(n) for n in names)))


POSTGRES = PostgresDatabases(POSTGRES_URL) if DATABASE_KIND == "postgresql" else None
# Apps built and not closed yet, with the PostgreSQL database made for each (None: not made here).
_open_apps: dict[Flask, str | None] = {}


def pytest_sessionstart(session):
    if DATABASE_KIND not in ("sqlite", "postgresql"):
        raise pytest.UsageError(
            f"HAZARD_TEST_DATABASE={DATABASE_KIND!r}: use 'sqlite' (the default) or 'postgresql'"
        )
    if POSTGRES is not None:
        POSTGRES.start()


def pytest_sessionfinish(session, exitstatus):
    for app in list(_open_apps):
        close_app(app)
    if POSTGRES is not None:
        POSTGRES.stop()


def start_s3_server(port: int = 0):
    """A real S3 endpoint (moto's server) started on 127.0.0.1, at ``port`` (0: an ephemeral
    one; give the same port again to bring a stopped endpoint back); (server, url, port)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}", port


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 endpoint (moto's server) on 127.0.0.1 at an ephemeral port."""
    server, url, _port = start_s3_server()
    yield url
    server.stop()


def s3_settings(endpoint: str) -> dict:
    """Settings for a fresh bucket on ``endpoint``."""
    return {
        "STORAGE": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": f"test-{uuid.uuid4().hex[:12]}",
    }


def build_app(tmp_path, **overrides):
    """An app over a fresh database with the demo reference data loaded.

    Closed by ``close_app``, or at the end of the test that built it."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "STORAGE": "local",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": False,
    }
    database = None
    if "DATABASE_URL" in overrides:
        seeded = False
    elif POSTGRES is not None:
        database = POSTGRES.create()
        settings["DATABASE_URL"] = POSTGRES.url_of(database)
        seeded = True  # the template has the schema and the demo data
    else:
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'test.db'}"
        seeded = False
    settings.update(overrides)
    app = create_app(settings)
    _open_apps[app] = database
    with app.app_context():
        if app.config["STORAGE"] == "s3":
            app.extensions["hazard_storage"].ensure_bucket()
        if not seeded:
            db.create_all()
            load_demo_data(db.session)
    return app


def close_app(app: Flask) -> None:
    """Close the app's connections and drop its PostgreSQL database if ``build_app`` made one."""
    database = _open_apps.pop(app, None)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if database is not None:
        POSTGRES.drop(database)


@pytest.fixture(autouse=True)
def _close_apps_built_by_the_test():
    """Apps a test built itself are closed when it ends (fixtures close their own)."""
    already_open = set(_open_apps)
    yield
    for app in [app for app in _open_apps if app not in already_open]:
        close_app(app)


@pytest.fixture
def app(tmp_path, request):
    overrides = {}
    if STORAGE_KIND == "s3":
        overrides = s3_settings(request.getfixturevalue("s3_endpoint"))
    app = build_app(tmp_path, **overrides)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def storage(app):
    return app.extensions["hazard_storage"]


@pytest.fixture
def live_server(app):
    """The app served over HTTP on 127.0.0.1 at an ephemeral port, many requests at once."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


_phones = iter(range(10_000))
PASSWORD = "safe-pass-2026"


def unit_api_path(link: str) -> str:
    """The API path a unit's link (``PUBLIC_URL/unit#<token>``) has its page call."""
    from urllib.parse import urlsplit

    parts = urlsplit(link)
    assert parts.path == "/unit" and parts.fragment, link
    return f"/api/v1/unit/{parts.fragment}"


def make_user(app, role="worker", *, regions=(), sectors=(), unit_id=None, name=None) -> dict:
    """A user of ``role`` with a signed-in bearer token: id, phone, password, headers."""
    from hazard_reporter.accounts import services as accounts
    from hazard_reporter.accounts.models import Role
    from hazard_reporter.core.db import utcnow

    phone = f"1390000{next(_phones):04d}"
    with app.app_context():
        user = accounts.create_user(
            db.session,
            phone=phone,
            password=PASSWORD,
            role=Role(role),
            name=name,
            regions=list(regions),
            sectors=list(sectors),
            unit_id=unit_id,
            now=utcnow(),
        )
        pair = accounts.login(
            db.session,
            phone=phone,
            password=PASSWORD,
            tokens=app.extensions["hazard_access_tokens"],
            policy=accounts.TokenPolicy(),
            now=utcnow(),
        )
        return {
            "id": user.id,
            "phone": phone,
            "password": PASSWORD,
            "headers": {"Authorization": f"Bearer {pair.access_token}"},
            "refresh_token": pair.refresh_token,
        }


@pytest.fixture
def admin(app):
    """Bearer headers of an administrator."""
    return make_user(app, "admin")["headers"]


def _cjk_font_missing() -> str | None:
    from hazard_reporter.core.pdf import FontMissing, cjk_font

    try:
        cjk_font()
    except FontMissing as error:
        return str(error)
    return None


_FONT_PROBLEM = _cjk_font_missing()
requires_cjk_font = pytest.mark.skipif(
    _FONT_PROBLEM is not None,
    reason=f"no CJK font for PDFs ({_FONT_PROBLEM}); apt-get install -y fonts-wqy-microhei",
)


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 that records what it is sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"event": self.headers["X-Hazard-Event"], "body": json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()
