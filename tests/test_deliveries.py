"""Durable delivery: real receivers on loopback (HTTP and SMTP), a fake clock, app restarts."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import random
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from hazard_reporter import create_app
from hazard_reporter.core.db import utcnow
from hazard_reporter.deliveries import services
from hazard_reporter.deliveries.channels import (
    WECOM_MAX_BYTES,
    DeliveryFailed,
    compose,
    verify_signature,
)
from hazard_reporter.deliveries.cli import deliveries_cli
from hazard_reporter.deliveries.models import Delivery, DeliveryStatus
from hazard_reporter.extensions import db
from hazard_reporter.units.models import Unit
from tests.conftest import make_user

SECRET = "unit-webhook-secret-0123456789"
LINK = "https://hazard.example.cn/u/12?t=signed-link-token"
TITLE = "【隐患转办】红色（重大风险）城市燃气管网 — 报告 #12"
DESCRIPTION = "地下室食堂有燃气味，液化气钢瓶放在地下室，出口被杂物堵住。"
# What a unit must never learn about the reporter, in any payload, at any depth.
REPORTER_FIELDS = {"reporter", "reporter_id", "anonymous", "followup_token", "phone", "devices"}


def forwarded_payload(report_id: int = 12, description: str = DESCRIPTION) -> dict:
    """A payload shaped like the forwarding service's (nothing about who reported)."""
    return {
        "report_id": report_id,
        "sector": "gas_network",
        "sector_name": "城市燃气管网",
        "severity": "red",
        "description": description,
        "location": {"lat": 31.4676, "lon": 104.6791, "coord_system": "wgs84"},
        "region": {"code": "510703", "name": "涪城区"},
        "submitted_at": "2026-05-01T02:00:00+00:00",
        "acknowledge_due_at": "2026-05-01T03:00:00+00:00",
        "rectify_due_at": "2026-05-02T02:00:00+00:00",
        "unit": {"id": 5, "name": "示例燃气有限公司（演示）"},
        "unit_link": LINK,
    }


def all_keys(value) -> set[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


# --- loopback receivers ------------------------------------------------------------------------


class Receiver:
    """An HTTP endpoint on 127.0.0.1: 503 for the first ``fail_first`` calls, then ``status``."""

    def __init__(self, *, fail_first: int = 0, status: int = 200, answer: dict | None = None):
        self.fail_first = fail_first
        self.status = status
        self.answer = answer
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    failing = len(receiver.calls) < receiver.fail_first
                    status = 503 if failing else receiver.status
                    receiver.calls.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                        }
                    )
                answer = json.dumps(receiver.answer or {"ok": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def accepted(self) -> list[dict]:
        return [c for c in self.calls if 200 <= c["status"] < 300]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receivers():
    """Make receivers; all are stopped after the test."""
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


class LoopbackController(Controller):
    """aiosmtpd's threaded controller on an ephemeral port (port 0)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"mailer" and auth_data.password == b"mail-pass"
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that asks for a login (plain, as in a closed test net)."""
    inbox = Inbox()
    controller = LoopbackController(
        inbox,
        hostname="127.0.0.1",
        port=0,
        authenticator=check_login,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, controller.port
    controller.stop()


def closed_port() -> int:
    """A loopback port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def app(app):
    """The app, with the deliveries API registered if the factory does not register it yet."""
    if "deliveries" not in app.blueprints:
        from hazard_reporter.deliveries.routes import blp
        from hazard_reporter.extensions import api

        api.register_blueprint(blp)
    return app


def add_unit(channels: list[dict], slug: str = "test-unit") -> Unit:
    unit = Unit(
        slug=slug,
        name_zh="测试单位",
        region_code="510700",
        sectors=["gas_network"],
        channels=channels,
    )
    db.session.add(unit)
    db.session.commit()
    return unit


def run_until_settled(config, start, *, step=timedelta(minutes=5), rounds=500, rng=None):
    """Run the worker on a fake clock until nothing is pending; returns the clock's end time."""
    rng = rng or random.Random(2026)
    now = start
    for _ in range(rounds):
        services.process_due(db.session, now=now, config=config, rng=rng)
        if not db.session.scalar(
            db.select(db.func.count()).where(Delivery.status == DeliveryStatus.PENDING.value)
        ):
            return now
        now += step
    raise AssertionError("deliveries still pending")


# --- webhooks: outage, back-off, recovery --------------------------------------------------


def test_webhook_outage_of_hours_delivers_every_message_exactly_once(app, receivers):
    receiver = receivers(fail_first=45)
    start = utcnow()
    with app.app_context():
        unit = add_unit([{"type": "webhook", "url": f"{receiver.url}/hazard", "secret": SECRET}])
        made = []
        for report_id in range(1, 6):
            made += services.enqueue(
                db.session,
                kind="report.forwarded",
                payload=forwarded_payload(report_id),
                unit=unit,
                now=start,
            )
        db.session.commit()
        expected = {d.idempotency_id for d in made}

        end = run_until_settled(app.config, start)

        rows = db.session.scalars(db.select(Delivery)).all()
        assert {d.status for d in rows} == {"sent"}  # none dead
        assert all(d.attempts == 10 and d.last_error.endswith("HTTP 503") for d in rows)
    assert end - start > timedelta(hours=1)  # hours of simulated downtime, with back-off
    assert sum(c["status"] == 503 for c in receiver.calls) == 45
    accepted = Counter(c["headers"]["X-Hazard-Delivery"] for c in receiver.accepted())
    assert set(accepted) == expected and set(accepted.values()) == {1}
    # Every retry of one message carried the same body; the receiver could dedupe on the id.
    bodies: dict[str, set[bytes]] = {}
    for call in receiver.calls:
        bodies.setdefault(call["headers"]["X-Hazard-Delivery"], set()).add(call["body"])
    assert all(len(b) == 1 for b in bodies.values())


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap():
    def ceiling(attempts):
        top = random.Random(1)
        top.uniform = lambda a, b: b  # the largest delay full jitter can draw
        return services.backoff_seconds(attempts, base=30, cap=3600, rng=top)

    assert [ceiling(n) for n in (1, 2, 3, 7, 8, 30, 500)] == [
        30,
        60,
        120,
        1920,
        3600,
        3600,
        3600,
    ]
    draws = [
        services.backoff_seconds(4, base=30, cap=3600, rng=random.Random(s)) for s in range(50)
    ]
    assert all(0 <= d <= 240 for d in draws) and len(set(draws)) > 40


def test_webhook_signature_follows_the_documented_algorithm(app, receivers):
    receiver = receivers()
    with app.app_context():
        unit = add_unit([{"type": "webhook", "url": f"{receiver.url}/hooks", "secret": SECRET}])
        [delivery] = services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            report_id=None,
            now=utcnow(),
        )
        db.session.commit()
        idempotency_id = delivery.idempotency_id
        result = services.process_due(db.session, now=utcnow(), config=app.config)
    assert (result.sent, result.retried, result.dead) == (1, 0, 0)

    [call] = receiver.calls
    headers, body = call["headers"], call["body"]
    assert headers["X-Hazard-Delivery"] == idempotency_id
    assert headers["X-Hazard-Event"] == "report.forwarded"
    assert headers["Content-Type"].startswith("application/json")
    timestamp = headers["X-Hazard-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    # Recomputed independently: HMAC-SHA256(secret, timestamp + "." + raw body), hex.
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Hazard-Signature"] == "sha256=" + expected.hexdigest()

    signature = headers["X-Hazard-Signature"]
    assert verify_signature(SECRET, timestamp, body, signature, now=time.time())
    assert not verify_signature(SECRET, timestamp, body + b" ", signature, now=time.time())
    assert not verify_signature("another-secret", timestamp, body, signature, now=time.time())
    assert not verify_signature(SECRET, timestamp, body, signature, now=int(timestamp) + 301)
    assert not verify_signature(SECRET, "²", body, signature, now=time.time())  # raised before

    envelope = json.loads(body)
    assert envelope["id"] == idempotency_id and envelope["event"] == "report.forwarded"
    assert envelope["data"]["description"] == DESCRIPTION  # UTF-8, not \u escapes
    assert DESCRIPTION.encode() in body
    assert not all_keys(envelope) & REPORTER_FIELDS


def test_payload_naming_the_reporter_is_refused(app):
    with app.app_context():
        unit = add_unit([{"type": "link"}])
        for leak in ({"reporter_id": 3}, {"report": {"anonymous": False}}, {"x": [{"phone": "1"}]}):
            with pytest.raises(ValueError, match="who reported"):
                services.enqueue(
                    db.session,
                    kind="report.forwarded",
                    payload={**forwarded_payload(), **leak},
                    unit=unit,
                    now=utcnow(),
                )
        assert db.session.scalar(db.select(db.func.count()).select_from(Delivery)) == 0


# --- durability across crashes and restarts ----------------------------------------------------


class WorkerDied(BaseException):
    """The process is killed (as by SIGKILL) in the middle of a batch."""


def test_pending_deliveries_survive_a_worker_crash_and_an_app_restart(app, receivers):
    receiver = receivers()
    start = utcnow()
    with app.app_context():
        unit = add_unit([{"type": "webhook", "url": receiver.url, "secret": SECRET}])
        made = []
        for report_id in range(1, 5):
            made += services.enqueue(
                db.session,
                kind="report.forwarded",
                payload=forwarded_payload(report_id),
                unit=unit,
                now=start,
            )
        db.session.commit()
        expected = {d.idempotency_id for d in made}

        real = services.sender_for(app.config)
        sent_here = []

        def send_then_die(delivery):
            real(delivery)
            sent_here.append(delivery.id)
            if len(sent_here) == 2:
                raise WorkerDied  # after the 2nd POST, before its commit

        with pytest.raises(WorkerDied):
            services.process_due(db.session, now=start, config=app.config, send=send_then_die)
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()

    # A new process over the same database: no create_all, no seeding.
    settings = {k: app.config[k] for k in ("DATABASE_URL", "SECRET_KEY", "STORAGE", "UPLOAD_DIR")}
    second = create_app({**settings, "TESTING": True, "RATELIMIT_ENABLED": False})
    with second.app_context():
        statuses = Counter(d.status for d in db.session.scalars(db.select(Delivery)))
        assert statuses == {"sent": 1, "pending": 3}
        # The item claimed by the dead worker waits out its lease; the others go at once.
        now = start + timedelta(seconds=1)
        assert services.process_due(db.session, now=now, config=second.config).sent == 2
        later = start + timedelta(seconds=second.config.get("DELIVERY_LEASE_SECONDS", 300) + 1)
        assert services.process_due(db.session, now=later, config=second.config).sent == 1
        assert {d.status for d in db.session.scalars(db.select(Delivery))} == {"sent"}
        db.session.remove()
        db.engine.dispose()

    received = Counter(c["headers"]["X-Hazard-Delivery"] for c in receiver.accepted())
    assert set(received) == expected  # deduplicated by id: every one arrived
    assert sorted(received.values()) == [1, 1, 1, 2]  # at least once: the crash's one twice


def test_a_run_with_a_time_budget_leaves_the_rest_due_and_untouched(app, monkeypatch):
    # An endpoint that times out costs 15 s an attempt: the serving processes' loop gives its
    # deliveries a budget, so that the pass's other jobs (escalation, the duty report) still run.
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    start = utcnow()
    with app.app_context():
        unit = add_unit([{"type": "link"}])
        for report_id in range(1, 5):
            services.enqueue(
                db.session,
                kind="report.forwarded",
                payload=forwarded_payload(report_id),
                unit=unit,
                now=start,
            )
        db.session.commit()
        attempted = []

        def slow_send(delivery):
            attempted.append(delivery.id)
            clock[0] += 20  # each attempt takes 20 s

        result = services.process_due(
            db.session, now=start, config=app.config, send=slow_send, budget_seconds=30
        )
        assert (result.sent, result.left) == (2, 2)  # started at 0 s and 20 s; none at 40 s
        rows = {d.id: d for d in db.session.scalars(db.select(Delivery))}
        left = [d for d in rows.values() if d.id not in attempted]
        assert [(d.status, d.attempts) for d in left] == [("pending", 0)] * 2
        assert (
            services.process_due(db.session, now=start, config=app.config, send=slow_send).sent == 2
        )
        db.session.remove()


# --- dead letters and the API ------------------------------------------------------------------


def test_dead_after_max_attempts_then_visible_and_retryable_through_the_api(
    app, client, admin, receivers
):
    receiver = receivers(status=500)
    app.config["DELIVERY_MAX_ATTEMPTS"] = 3
    app.config["DELIVERY_RETRY_HOURS"] = 0  # dead after the attempts alone, not after 72 h
    with app.app_context():
        unit = add_unit([{"type": "webhook", "url": f"{receiver.url}/in", "secret": SECRET}])
        [delivery] = services.enqueue(
            db.session, kind="alert.red", payload=forwarded_payload(), unit=unit, now=utcnow()
        )
        db.session.commit()
        delivery_id, idempotency_id = delivery.id, delivery.idempotency_id
        run_until_settled(app.config, utcnow())
    assert len(receiver.calls) == 3

    answer = client.get("/api/v1/deliveries?status=dead", headers=admin)
    assert answer.status_code == 200
    [item] = answer.json["items"]
    assert item["id"] == delivery_id and item["idempotency_id"] == idempotency_id
    assert item["status"] == "dead" and item["attempts"] == 3 and item["channel"] == "webhook"
    assert item["last_error"] == f"webhook 127.0.0.1:{receiver.server.server_port}: HTTP 500"
    assert set(item) == {
        "id",
        "idempotency_id",
        "kind",
        "report_id",
        "unit_id",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    }
    assert SECRET not in answer.get_data(as_text=True)
    assert client.get("/api/v1/deliveries?status=sent", headers=admin).json["items"] == []

    receiver.status = 200  # the unit's system is back
    retried = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json["status"] == "sent"
    assert retried.json["attempts"] == 1
    again = client.post(f"/api/v1/deliveries/{delivery_id}/retry", headers=admin)
    assert again.status_code == 409 and again.json["error"]["code"] == "delivery_not_dead"


def test_delivery_list_is_for_admins_and_inspectors_in_scope(app, client, admin):
    with app.app_context():
        unit = add_unit([])
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            now=utcnow(),
        )
        db.session.commit()
    inspector = make_user(app, "inspector", regions=["510700"])["headers"]
    worker = make_user(app, "worker")["headers"]
    unit_staff = make_user(app, "unit_staff")["headers"]

    assert len(client.get("/api/v1/deliveries", headers=admin).json["items"]) == 1
    # Inspectors see the deliveries of reports in their scope; this one belongs to no report.
    assert client.get("/api/v1/deliveries", headers=inspector).json["items"] == []
    assert client.get("/api/v1/deliveries", headers=worker).status_code == 403
    assert client.get("/api/v1/deliveries", headers=unit_staff).status_code == 403
    assert client.get("/api/v1/deliveries").status_code == 401
    assert client.post("/api/v1/deliveries/1/retry", headers=inspector).status_code == 404


def test_delivery_list_pages_with_a_cursor_and_filters(app, client, admin):
    with app.app_context():
        first, second = add_unit([], "unit-a"), add_unit([], "unit-b")
        for unit in (first, second, first, first):
            services.enqueue(
                db.session,
                kind="report.forwarded",
                payload=forwarded_payload(),
                unit=unit,
                now=utcnow(),
            )
        db.session.commit()
        first_id = first.id

    page = client.get(f"/api/v1/deliveries?unit_id={first_id}&limit=2", headers=admin).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        f"/api/v1/deliveries?unit_id={first_id}&limit=2&cursor={page['next_cursor']}",
        headers=admin,
    ).json
    ids = [i["id"] for i in page["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and rest["next_cursor"] is None
    bad = client.get("/api/v1/deliveries?cursor=nonsense", headers=admin)
    assert bad.status_code == 422 and bad.json["error"]["field"] == "cursor"


# --- group robots ------------------------------------------------------------------------------


def test_wecom_robot_gets_its_documented_markdown_within_4096_bytes(app, receivers):
    receiver = receivers(answer={"errcode": 0, "errmsg": "ok"})
    long_text = "燃气泄漏" * 1500  # 18 000 bytes: must be shortened, the link kept
    with app.app_context():
        unit = add_unit([{"type": "wecom", "url": f"{receiver.url}/cgi-bin/webhook/send?key=k1"}])
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(description=long_text),
            unit=unit,
            now=utcnow(),
        )
        db.session.commit()
        assert services.process_due(db.session, now=utcnow(), config=app.config).sent == 1

    [call] = receiver.calls
    assert call["path"] == "/cgi-bin/webhook/send?key=k1"
    body = json.loads(call["body"])
    assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert len(content.encode()) <= WECOM_MAX_BYTES
    assert TITLE in content and LINK in content
    [described] = [line for line in content.splitlines() if "隐患描述" in line]
    assert described.endswith("…") and "燃气泄漏" * 100 in described
    assert "2026-05-01 11:00（北京时间）" in content  # acknowledge by, in Beijing time
    assert not all_keys(body) & REPORTER_FIELDS


def test_dingtalk_robot_gets_signed_markdown(app, receivers):
    receiver = receivers(answer={"errcode": 0, "errmsg": "ok"})
    secret = "SEC0123456789abcdef"
    with app.app_context():
        unit = add_unit(
            [
                {
                    "type": "dingtalk",
                    "url": f"{receiver.url}/robot/send?access_token=t0k",
                    "secret": secret,
                }
            ]
        )
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            now=utcnow(),
        )
        db.session.commit()
        assert services.process_due(db.session, now=utcnow(), config=app.config).sent == 1

    [call] = receiver.calls
    url = urlsplit(call["path"])
    query = parse_qs(url.query)
    assert url.path == "/robot/send" and query["access_token"] == ["t0k"]
    [timestamp], [sign] = query["timestamp"], query["sign"]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # milliseconds
    # Recomputed independently: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    assert sign == base64.b64encode(digest.digest()).decode()
    assert "%2B" in call["path"] or "+" not in sign  # url-encoded in the query
    body = json.loads(call["body"])
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert body["markdown"]["title"] == TITLE
    assert DESCRIPTION in body["markdown"]["text"] and LINK in body["markdown"]["text"]


@pytest.mark.parametrize(
    ("channel", "answer"),
    [
        (
            {"type": "wecom", "url": "{url}/cgi-bin/webhook/send?key=bad"},
            {"errcode": 93000, "errmsg": "invalid webhook url"},
        ),
        (
            {"type": "dingtalk", "url": "{url}/robot/send?access_token=t", "secret": "SECx"},
            {"errcode": 310000, "errmsg": "sign not match"},
        ),
    ],
)
def test_robot_answer_with_a_nonzero_errcode_is_a_failure(app, receivers, channel, answer):
    receiver = receivers(answer=answer)
    with app.app_context():
        unit = add_unit([{**channel, "url": channel["url"].format(url=receiver.url)}])
        [delivery] = services.enqueue(
            db.session, kind="alert.red", payload=forwarded_payload(), unit=unit, now=utcnow()
        )
        db.session.commit()
        result = services.process_due(db.session, now=utcnow(), config=app.config)
        db.session.refresh(delivery)
        assert (result.sent, result.retried) == (0, 1)
        assert delivery.status == "pending" and delivery.attempts == 1
        assert f"errcode {answer['errcode']}" in delivery.last_error


def test_failures_are_recorded_without_secrets_or_tokened_urls(app):
    port = closed_port()
    config = {
        **app.config,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_FROM": "noreply@hazard.example.cn",
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "mail-pass-SECRET",
    }
    with app.app_context():
        unit = add_unit(
            [
                {
                    "type": "webhook",
                    "url": f"http://127.0.0.1:{port}/h?token=TOKEN-SECRET",
                    "secret": SECRET,
                },
                {"type": "dingtalk", "url": f"http://127.0.0.1:{port}/r?access_token=TOKEN-SECRET"},
                {"type": "email", "to": ["duty@unit.example.cn"]},
                {"type": "webhook"},  # no URL: cannot ever succeed
                {"type": "fax", "number": "0816-1234567"},  # unknown: kept, fails visibly
            ]
        )
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            now=utcnow(),
        )
        db.session.commit()
        result = services.process_due(db.session, now=utcnow(), config=config)
        assert (result.retried, result.dead) == (3, 2)
        errors = [
            d.last_error for d in db.session.scalars(db.select(Delivery).order_by(Delivery.id))
        ]
    assert errors[0] == f"webhook 127.0.0.1:{port}: ConnectionError"
    assert errors[1] == f"dingtalk 127.0.0.1:{port}: ConnectionError"
    assert errors[2] == f"smtp 127.0.0.1:{port}: ConnectionRefusedError"
    assert errors[3] == "webhook: the channel has no url" and "fax" in errors[4]
    assert not any("SECRET" in e or "token" in e for e in errors)


# --- e-mail and signed links -------------------------------------------------------------------


def smtp_config(app, port: int) -> dict:
    return {
        **app.config,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_USERNAME": "mailer",
        "SMTP_PASSWORD": "mail-pass",
        "SMTP_FROM": "隐患随手拍 <noreply@hazard.example.cn>",
        "SMTP_STARTTLS": False,
    }


def test_email_is_a_chinese_utf8_message_with_a_stable_message_id(app, smtp_server):
    inbox, port = smtp_server
    with app.app_context():
        unit = add_unit(
            [{"type": "email", "to": ["duty@unit.example.cn", "chief@unit.example.cn"]}]
        )
        [delivery] = services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            now=utcnow(),
        )
        db.session.commit()
        idempotency_id = delivery.idempotency_id
        assert (
            services.process_due(db.session, now=utcnow(), config=smtp_config(app, port)).sent == 1
        )

    [envelope] = inbox.envelopes
    assert envelope.mail_from == "noreply@hazard.example.cn"
    assert envelope.rcpt_tos == ["duty@unit.example.cn", "chief@unit.example.cn"]
    mail = email.message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == TITLE
    assert mail["Message-ID"] == f"<{idempotency_id}@hazard.example.cn>"
    assert mail["X-Hazard-Delivery"] == idempotency_id
    assert mail["From"].addresses[0].display_name == "隐患随手拍"
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    text = plain.get_content()
    assert DESCRIPTION in text and "涪城区" in text and LINK in text
    assert "签收时限：2026-05-01 11:00（北京时间）" in text
    assert "整改时限：2026-05-02 10:00（北京时间）" in text
    assert f'href="{LINK}"' in html.get_content()


def test_link_channel_emails_the_signed_link_or_waits_for_a_person_to_pass_it_on(app, smtp_server):
    inbox, port = smtp_server
    with app.app_context():
        by_mail = add_unit([{"type": "link", "to": "office@unit.example.cn"}], "with-mail")
        no_system = add_unit([], "no-system")  # no channel at all: a link to pass on by phone
        made = []
        for unit in (by_mail, no_system):
            made += services.enqueue(
                db.session,
                kind="report.forwarded",
                payload=forwarded_payload(),
                unit=unit,
                now=utcnow(),
            )
        db.session.commit()
        assert [d.channel for d in made] == ["link", "link"]
        result = services.process_due(db.session, now=utcnow(), config=smtp_config(app, port))
        # The unit without an address was told nothing: not "sent" (its timeline had said
        # 已送达责任单位), but waiting for an inspector to pass its link on.
        assert (result.sent, result.handover) == (1, 1)
        assert [d.status for d in made] == ["sent", "handover"]
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["office@unit.example.cn"]
    mail = email.message_from_bytes(envelope.content, policy=policy.default)
    assert LINK in mail.get_body(preferencelist=("plain",)).get_content()


def test_message_text_is_chinese_first_for_every_kind():
    escalated = {
        "report_id": 7,
        "sector": "construction",
        "severity": "orange",
        "description": "高支模无监测",
        "deadline": "acknowledge",
        "due_at": "2026-05-01T01:00:00+00:00",
        "region": "510703",
    }
    message = compose("report.escalated", escalated)
    assert message.title == "【隐患超期升级】橙色（较大风险）建筑施工 — 报告 #7"
    assert ("已超期", "签收时限 2026-05-01 09:00（北京时间）") in message.lines
    assert message.summary_en.startswith("Overdue hazard escalated: report #7")
    assert compose("alert.red", forwarded_payload()).title.startswith("【重大隐患警报】红色")
    changed = compose(
        "report.severity_changed", {**forwarded_payload(), "previous_severity": "yellow"}
    )
    assert changed.title.startswith("【隐患风险等级调整】")
    assert ("原风险等级", "黄色（一般风险）") in changed.lines
    assert isinstance(DeliveryFailed("x"), Exception)


# --- the command line --------------------------------------------------------------------------


def test_cli_runs_the_outbox_and_lists_dead_deliveries(app, receivers):
    receiver = receivers()
    with app.app_context():
        unit = add_unit(
            [{"type": "webhook", "url": receiver.url, "secret": SECRET}, {"type": "webhook"}]
        )
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            unit=unit,
            now=utcnow() - timedelta(seconds=1),
        )
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(deliveries_cli, ["run"])
    assert result.exit_code == 0, result.output
    assert "sent 1, retried 0, dead 1" in result.output
    listed = runner.invoke(deliveries_cli, ["list", "--status", "dead"])
    assert listed.exit_code == 0 and "the channel has no url" in listed.output
    assert "1 delivery" in listed.output and SECRET not in listed.output


def test_a_busy_days_duty_report_on_wecom_says_how_many_lines_it_left_out():
    # 80 red reports: the robot's 4096 bytes hold about 20; the rest were cut off mid-list with
    # no word of them, and the English summary was lost with them.
    from hazard_reporter.deliveries.channels import to_markdown

    payload = {
        "title": "【隐患随手拍值班日报】四川省 2026年6月1日（截至15:30）",
        "lines": [["新增隐患", "共 80 起"]]
        + [[f"红色 #{1000 + i}", "地下室液化气钢瓶漏气，现场有人员作业" * 2] for i in range(80)],
        "summary_en": "Daily duty report 2026-06-01 510000: 80 new, 0 overdue.",
    }
    text = to_markdown(compose("duty.report", payload), max_bytes=WECOM_MAX_BYTES)
    assert len(text.encode()) <= WECOM_MAX_BYTES
    shown = text.count("**红色 #")
    assert 10 < shown < 80
    assert f"另有 {80 - shown} 项未列出" in text
    assert text.endswith("Daily duty report 2026-06-01 510000: 80 new, 0 overdue.")


def test_a_retried_dead_delivery_gets_a_whole_retry_window_again(app):
    # The 72 hours ran from when the message was made: retried after them, a message to a unit
    # still down died again after its 12 attempts, 2.5 hours later, not 72.
    def down(delivery):
        raise DeliveryFailed("webhook unit.example.cn: HTTP 503")

    start = utcnow()
    with app.app_context():
        unit = add_unit(
            [{"type": "webhook", "url": "https://unit.example.cn/in", "secret": SECRET}]
        )
        [delivery] = services.enqueue(
            db.session, kind="alert.red", payload=forwarded_payload(), unit=unit, now=start
        )
        db.session.commit()
        now = start
        while delivery.status == DeliveryStatus.PENDING.value:
            now = max(now, delivery.next_attempt_at)
            services.process_due(db.session, now=now, config=app.config, send=down)
            db.session.refresh(delivery)
        first_life = now - start
        services.retry_dead(db.session, delivery.id, now)
        retried = now
        while delivery.status == DeliveryStatus.PENDING.value:
            now = max(now, delivery.next_attempt_at)
            services.process_due(db.session, now=now, config=app.config, send=down)
            db.session.refresh(delivery)
    assert first_life >= timedelta(hours=72)
    assert now - retried >= timedelta(hours=72)


def dripping_endpoint(first: bytes, drip: bytes, context: ssl.SSLContext | None = None) -> str:
    """The URL of an endpoint that reads a request, answers ``first`` and then ``drip`` every
    quarter second for 10 s, its answer never complete: each piece within any read timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer():
        raw, _ = listener.accept()
        listener.close()
        try:
            with context.wrap_socket(raw, server_side=True) if context else raw as connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                connection.sendall(first)
                for _ in range(40):
                    time.sleep(0.25)
                    connection.sendall(drip)
        except OSError:
            pass  # the sender hung up: what is wanted

    threading.Thread(target=answer, daemon=True).start()
    scheme = "https" if context else "http"
    return f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/hook"


@pytest.mark.parametrize(
    ("first", "drip", "sent"),
    [
        (b"", b"x-h", False),
        (b"HTTP/1.1 200 OK\r\n", b"x-h", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", b"x", True),
    ],
    ids=["status line", "headers", "body"],
)
def test_an_endpoint_answering_a_byte_at_a_time_does_not_hold_the_worker(
    app, monkeypatch, first, drip, sent
):
    # requests' timeouts are per read: an answer sent a byte at a time, each within the read
    # timeout, held the delivery worker (and the loop's escalations) as long as the endpoint
    # liked; first only in its body, then in its status line or headers too.
    from hazard_reporter.deliveries import channels

    monkeypatch.setattr(channels, "ANSWER_SECONDS", 1)
    url = dripping_endpoint(first, drip)
    with app.app_context():
        services.enqueue(
            db.session,
            kind="report.forwarded",
            payload=forwarded_payload(),
            now=utcnow(),
            targets=[{"type": "webhook", "url": url, "secret": SECRET}],
        )
        db.session.commit()
        started = time.monotonic()
        result = services.process_due(db.session, now=utcnow(), config=app.config)
        held = time.monotonic() - started
        [delivery] = db.session.scalars(select(Delivery)).all()
    assert held < 5, held
    if sent:  # a 200 came in time: the unit's system took the message
        assert result.sent == 1 and delivery.status == "sent"
    else:  # no answer: tried again later, the error naming the host and not the URL
        assert result.sent == 0 and delivery.status == "pending"
        assert "webhook 127.0.0.1" in delivery.last_error and url not in delivery.last_error


def self_signed(tmp_path) -> ssl.SSLContext:
    """A server's TLS context for 127.0.0.1, with a certificate made on the spot."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # self-signed
@pytest.mark.parametrize("first", [b"", b"HTTP/1.1 200 OK\r\n"], ids=["status line", "headers"])
def test_an_https_endpoint_dripping_its_answer_does_not_hold_the_worker(
    monkeypatch, tmp_path, first
):
    # Units' webhooks and the robots are HTTPS: the deadline must reach the connection under the
    # TLS layer (the first version shut a socket TLS had already detached, and held for ever).
    from hazard_reporter.deliveries import channels

    monkeypatch.setattr(channels, "ANSWER_SECONDS", 1)
    url = dripping_endpoint(first, b"x-h", self_signed(tmp_path))
    started = time.monotonic()
    try:
        answer = channels._post(url, "webhook", data=b"{}", verify=False)
    except DeliveryFailed as failed:
        outcome = str(failed)
    else:
        outcome = answer.status_code
    held = time.monotonic() - started
    assert held < 5, held
    if first:  # a 200 came in time: it stands, as with a slow body
        assert outcome == 200
    else:  # no answer: a failure naming the host, to be tried again
        assert str(outcome).startswith("webhook 127.0.0.1:") and url not in str(outcome)
