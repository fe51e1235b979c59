"""Production safety: secret key, security headers, CORS, and abuse limits (also across workers)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import build_app
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

REPO = Path(__file__).resolve().parent.parent


def run_factory(env: dict) -> subprocess.CompletedProcess:
    """Build the app in a fresh interpreter, as gunicorn or ``flask`` would."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_a_secret_key_exits_with_a_clear_message(tmp_path):
    result = run_factory(
        {"HAZARD_ENV": "production", "HAZARD_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    )
    assert result.returncode != 0
    assert "HAZARD_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ('{"Red": 2}', "names 'Red', not one of red, orange, yellow, blue"),
        ('{"red": "2"}', "gives red '2', not a number of hours above 0"),
        ('{"red": -5}', "gives red -5"),
        ("[1, 2]", "must be a JSON object"),
        ('{"red": Infinity}', "gives red inf"),
    ],
)
def test_a_wrong_deadline_setting_stops_the_start_with_what_is_wrong(tmp_path, setting, says):
    result = run_factory(
        {
            "HAZARD_ENV": "development",
            "HAZARD_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            "HAZARD_ACKNOWLEDGE_HOURS": setting,
        }
    )
    assert result.returncode != 0
    assert f"HAZARD_ACKNOWLEDGE_HOURS {says}" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_with_a_secret_key_starts(tmp_path):
    result = run_factory(
        {
            "HAZARD_ENV": "production",
            "HAZARD_SECRET_KEY": "x" * 48,
            "HAZARD_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert result.returncode == 0, result.stderr


def test_security_headers_on_json_and_html(client):
    for url, csp_start in (
        ("/api/v1/sectors", "default-src 'none'"),
        ("/api/v1/docs", "default-src 'self'"),
    ):
        headers = client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Content-Security-Policy"].startswith(csp_start)
    error = client.get("/api/v1/nowhere")
    assert error.status_code == 404 and error.headers["X-Frame-Options"] == "DENY"


def test_cors_only_for_configured_origins(tmp_path):
    app = build_app(tmp_path, CORS_ORIGINS=["https://report.example.org"])
    client = app.test_client()
    allowed = client.get("/api/v1/sectors", headers={"Origin": "https://report.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://report.example.org"
    other = client.get("/api/v1/sectors", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/api/v1/reports",
        headers={
            "Origin": "https://report.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Idempotency-Key",
        },
    )
    assert preflight.status_code == 200
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]


def limited_app(tmp_path, **limits):
    return build_app(
        tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex, **limits
    )


def test_submissions_past_the_limit_get_429_with_retry_after(tmp_path):
    app = limited_app(tmp_path, SUBMIT_LIMIT_CLIENT="2 per minute")
    client = app.test_client()
    photo = make_jpeg(320, 240, gps=MIANYANG)
    statuses = [post_report(client, photos=[photo]).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = post_report(client, photos=[photo])
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    error = refused.json["error"]
    assert error["code"] == "rate_limited" and "秒后再试" in error["message"]


def test_one_account_is_limited_even_from_many_addresses(tmp_path):
    from tests.conftest import make_user

    app = limited_app(tmp_path, SUBMIT_LIMIT_ACCOUNT="1 per minute")
    client = app.test_client()
    worker = make_user(app, "worker")
    photo = make_jpeg(320, 240, gps=MIANYANG)
    first = client.post(
        "/api/v1/reports",
        headers=worker["headers"],
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        data={"sector": "other", "description": "x", "photos": [(io.BytesIO(photo), "a.jpg")]},
    )
    assert first.status_code == 201
    second = post_report(client, headers=worker["headers"], photos=[photo])
    assert second.status_code == 429
    assert post_report(client, photos=[photo]).status_code == 201  # anonymous: its own counter


def test_password_guessing_on_one_phone_is_limited(tmp_path):
    app = limited_app(tmp_path, LOGIN_LIMIT_PHONE="3 per minute")
    client = app.test_client()
    attempt = {"phone": "13800001111", "password": "guess-guess"}
    statuses = [client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    other_phone = {"phone": "13800002222", "password": "guess-guess"}
    assert client.post("/api/v1/auth/login", json=other_phone).status_code == 401


def test_the_same_phone_written_otherwise_shares_its_guessing_limit(tmp_path):
    # Sign-in reads 138-0000-1111, (138)00001111 and 0086 13800001111 as one number; a counter
    # per spelling would give a guesser one more try per spelling.
    app = limited_app(tmp_path, LOGIN_LIMIT_PHONE="3 per minute")
    client = app.test_client()
    spellings = ["138-0000-1111", "(138)00001111", "0086 13800001111", "+86 138 0000 1111"]
    statuses = [
        client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "password": "guess-guess"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{number}"},
        ).status_code
        for number, phone in enumerate(spellings, start=1)
    ]
    assert statuses == [401, 401, 401, 429]


def test_limits_can_be_switched_off_for_load_tests(tmp_path):
    app = build_app(tmp_path, RATELIMIT_ENABLED=False, SUBMIT_LIMIT_CLIENT="1 per minute")
    client = app.test_client()
    photo = make_jpeg(320, 240, gps=MIANYANG)
    assert [post_report(client, photos=[photo]).status_code for _ in range(3)] == [201] * 3


def redis_or_skip(url="redis://127.0.0.1:6379/0") -> str:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379 ({exc})")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_limit_holds_across_two_gunicorn_workers_with_redis(tmp_path):
    import requests

    redis_url = redis_or_skip()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    env.update(
        {
            "HAZARD_ENV": "production",
            "HAZARD_SECRET_KEY": "k" * 48,
            "HAZARD_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
            "HAZARD_UPLOAD_DIR": str(tmp_path / "uploads"),
            "HAZARD_RATELIMIT_STORAGE_URI": redis_url,
            "HAZARD_RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "HAZARD_SUBMIT_LIMIT_CLIENT": "4 per minute",
            "HAZARD_BACKGROUND_SECONDS": "0",
        }
    )
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=REPO, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed"], cwd=REPO, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/api/v1/sectors", timeout=5)
                break
            except requests.RequestException:  # not listening yet, or a worker still booting
                time.sleep(0.2)
        photo = make_jpeg(320, 240, gps=MIANYANG)
        statuses = []
        for _ in range(8):
            # A fresh connection each time, so the two workers share the requests.
            response = requests.post(
                f"{base}/api/v1/reports",
                data={"sector": "other", "description": "限流测试"},
                files={"photos": ("p.jpg", photo, "image/jpeg")},
                headers={"Connection": "close"},
                timeout=30,
            )
            statuses.append(response.status_code)
        assert statuses.count(201) == 4 and statuses.count(429) == 4, statuses
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sign_in_guesses_on_one_phone_count_once_across_every_sign_in_door(tmp_path):
    # Sign-up, the API's sign-in and the browser's sign-in all check a phone's password: a counter
    # per door would give a guesser the limit once per door.
    from tests.conftest import make_user

    app = limited_app(tmp_path, LOGIN_LIMIT_PHONE="3 per minute")
    client = app.test_client()
    worker = make_user(app, "worker")
    guess = {"phone": worker["phone"], "password": "guess-guess"}
    assert [client.post("/api/v1/auth/login", json=guess).status_code for _ in range(3)] == [
        401
    ] * 3
    right = {"phone": worker["phone"], "password": worker["password"]}
    for door in ("/api/v1/auth/session", "/api/v1/auth/signup", "/api/v1/auth/login"):
        refused = client.post(door, json=right)
        assert refused.status_code == 429, (door, refused.json)
        error = refused.json["error"]
        assert error["code"] == "rate_limited" and "秒后再试" in error["message"]


def test_sign_in_attempts_from_one_address_count_once_across_every_sign_in_door(tmp_path):
    app = limited_app(tmp_path, LOGIN_LIMIT_CLIENT="3 per minute")
    client = app.test_client()
    statuses = [
        client.post(door, json={"phone": f"1380000{number:04d}", "password": "guess-guess"})
        for number, door in enumerate(
            ["/api/v1/auth/login", "/api/v1/auth/session", "/api/v1/auth/login"]
        )
    ]
    assert [response.status_code for response in statuses] == [401] * 3
    refused = client.post(
        "/api/v1/auth/session", json={"phone": "13800009999", "password": "guess-guess"}
    )
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"


def change_password(client, worker, current, address="10.0.0.1"):
    return client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": "new-pass-2026"},
        headers=worker["headers"],
        environ_base={"REMOTE_ADDR": address},
    )


def test_guessing_the_current_password_of_a_signed_in_account_is_limited(tmp_path):
    # A stolen session must not give unlimited guesses at the password it cannot see: however
    # many addresses the guesses come from, the account's own limit stops them.
    from tests.conftest import make_user

    app = limited_app(tmp_path, LOGIN_LIMIT_PHONE="3 per minute")
    client = app.test_client()
    worker = make_user(app, "worker")
    statuses = [
        change_password(client, worker, f"guess-{n}", address=f"10.0.0.{n}").status_code
        for n in range(1, 4)
    ]
    assert statuses == [401, 401, 401]
    refused = change_password(client, worker, worker["password"], address="10.0.0.9")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    error = refused.json["error"]
    assert error["code"] == "rate_limited" and "秒后再试" in error["message"]
    other = make_user(app, "worker")  # another account: its own counter
    assert change_password(client, other, other["password"]).status_code == 200


def test_password_change_guesses_count_with_sign_in_guesses_on_that_phone(tmp_path):
    from tests.conftest import make_user

    app = limited_app(tmp_path, LOGIN_LIMIT_PHONE="3 per minute")
    client = app.test_client()
    worker = make_user(app, "worker")
    guess = {"phone": worker["phone"], "password": "guess-guess"}
    assert [client.post("/api/v1/auth/login", json=guess).status_code for _ in range(2)] == [
        401
    ] * 2
    assert change_password(client, worker, "guess-guess").status_code == 401
    refused = change_password(client, worker, worker["password"])
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"


def test_password_changes_from_one_address_are_limited(tmp_path):
    from tests.conftest import make_user

    app = limited_app(tmp_path, LOGIN_LIMIT_CLIENT="2 per minute")
    client = app.test_client()
    workers = [make_user(app, "worker") for _ in range(3)]
    assert [change_password(client, w, "guess-guess").status_code for w in workers[:2]] == [401] * 2
    refused = change_password(client, workers[2], workers[2]["password"])
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
