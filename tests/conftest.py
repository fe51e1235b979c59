"""Shared fixtures: an app from the factory per test, over a fresh SQLite file and fresh storage.

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


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 endpoint (moto's server) on 127.0.0.1 at an ephemeral port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(endpoint: str) -> dict:
    """Settings for a fresh bucket on ``endpoint``."""
    return {
        "STORAGE": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": f"test-{uuid.uuid4().hex[:12]}",
    }


def build_app(tmp_path, **overrides):
    """An app over a fresh database with the demo reference data loaded."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "STORAGE": "local",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": False,
    }
    settings.update(overrides)
    app = create_app(settings)
    with app.app_context():
        if app.config["STORAGE"] == "s3":
            app.extensions["hazard_storage"].ensure_bucket()
        db.create_all()
        load_demo_data(db.session)
    return app


@pytest.fixture
def app(tmp_path, request):
    overrides = {}
    if STORAGE_KIND == "s3":
        overrides = s3_settings(request.getfixturevalue("s3_endpoint"))
    app = build_app(tmp_path, **overrides)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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
