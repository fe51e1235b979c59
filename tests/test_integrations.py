"""Outgoing event webhooks for integrators: signed, through the outbox, nothing about reporters."""

from __future__ import annotations

import hashlib
import hmac
import json

from hazard_reporter.core import background
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import post_report

SECRET = "integration-secret-0123456789"


def test_events_reach_the_subscriber_signed_and_without_reporter_fields(
    app, client, admin, receiver
):
    url, received = receiver
    hook = client.post(
        "/api/v1/integrations/webhooks",
        headers=admin,
        json={"name": "市应急平台", "url": url, "secret": SECRET},
    )
    assert hook.status_code == 201 and "secret" not in hook.json
    worker = make_user(app, "worker", name="赵师傅")
    created = post_report(
        client,
        headers=worker["headers"],
        region_code="510703",
        photos=[make_jpeg()],
        description="脚手架缺少防护栏",
    ).json
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    client.post(f"/api/v1/reports/{created['id']}/triage", json={}, headers=inspector)
    background.run_once(app)
    events = [r["event"] for r in received]
    assert events == ["report.created", "report.status_changed"]
    changed = received[1]["body"]["data"]
    assert changed["from_status"] == "submitted" and changed["to_status"] == "triaged"
    text = json.dumps([r["body"] for r in received], ensure_ascii=False)
    assert "赵师傅" not in text and worker["phone"] not in text and "reporter" not in text


def test_signature_verifies_with_the_documented_algorithm(app, client, admin):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            seen["headers"] = dict(self.headers)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client.post(
            "/api/v1/integrations/webhooks",
            headers=admin,
            json={
                "name": "x",
                "url": f"http://127.0.0.1:{server.server_port}/h",
                "secret": SECRET,
                "events": ["report.created"],
            },
        )
        post_report(client, region_code="510703", photos=[make_jpeg()])
        background.run_once(app)
    finally:
        server.shutdown()
        server.server_close()
    stamp = seen["headers"]["X-Hazard-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + seen["body"], hashlib.sha256)
    assert seen["headers"]["X-Hazard-Signature"] == f"sha256={expected.hexdigest()}"
    assert seen["headers"]["X-Hazard-Event"] == "report.created"


def test_only_admins_manage_hooks(app, client):
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    assert client.get("/api/v1/integrations/webhooks", headers=inspector).status_code == 403
    assert client.get("/api/v1/integrations/webhooks").status_code == 401
