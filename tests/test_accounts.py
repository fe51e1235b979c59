"""Sign-up, sign-in, tokens, browser sessions, and the command line for accounts."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PASSWORD, build_app, make_user
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report


def signup(client, phone="13800001111", password="worker-pass-1", name="王师傅"):
    return client.post(
        "/api/v1/auth/signup", json={"phone": phone, "password": password, "name": name}
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_worker_signs_up_and_is_signed_in(client):
    response = signup(client, phone="+86 138-0000-1111")
    assert response.status_code == 201
    body = response.json
    assert body["user"]["phone"] == "13800001111" and body["user"]["role"] == "worker"
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json["name"] == "王师傅"
    assert "password" not in str(body)


@pytest.mark.parametrize(
    ("phone", "password", "status", "code"),
    [
        ("12345", "worker-pass-1", 422, "invalid_phone"),
        ("13800001111", "short", 422, "weak_password"),
        ("13800001111", "1234567890", 422, "weak_password"),
    ],
)
def test_signup_refuses_bad_phone_or_weak_password(client, phone, password, status, code):
    response = signup(client, phone=phone, password=password)
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_a_phone_signs_up_once(client):
    signup(client)
    again = signup(client)
    assert again.status_code == 409 and again.json["error"]["code"] == "phone_taken"


@pytest.mark.parametrize(
    "spelling",
    [
        "13800001111",
        "138-0000-1111",
        "(138) 0000 1111",
        "+86 138-0000-1111",
        "0086 13800001111",
        "86 138 0000 1111",  # the country code without its plus
        "8613800001111",
        "13８００００１１１１",  # a phone keyboard's full-width digits, some or all
        "１３８００００１１１１",
        "＋８６　１３８－００００－１１１１",
    ],
)
def test_every_spelling_of_a_number_is_one_account(client, spelling):
    signup(client, phone="13800001111")
    again = signup(client, phone=spelling)
    assert again.status_code == 409 and again.json["error"]["code"] == "phone_taken"
    signed_in = client.post(
        "/api/v1/auth/login", json={"phone": spelling, "password": "worker-pass-1"}
    )
    assert signed_in.status_code == 200 and signed_in.json["user"]["phone"] == "13800001111"


@pytest.mark.parametrize(
    "phone",
    [
        "١٣٨٠٠٠٠١١١١",  # Arabic-Indic digits are digits to Python's \d, not to a phone network
        "13800001١١١",
        "१३८००००११११",  # Devanagari
        "86 1380000111",  # 86 and ten digits
        "1313800001111",  # thirteen digits that do not start 86
    ],
)
def test_a_number_in_other_digits_or_of_the_wrong_length_is_refused(client, phone):
    response = signup(client, phone=phone)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_phone" and error["message"] == "请输入有效的 11 位手机号码。"


def test_wrong_password_and_unknown_phone_get_the_same_answer(client):
    signup(client)
    wrong = client.post(
        "/api/v1/auth/login", json={"phone": "13800001111", "password": "nope-nope"}
    )
    unknown = client.post(
        "/api/v1/auth/login", json={"phone": "13800009999", "password": "worker-pass-1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["message"] == "手机号或密码不正确。"


def test_refresh_rotates_and_the_old_refresh_token_stops_working(client):
    tokens = signup(client).json
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert fresh.status_code == 200 and fresh.json["refresh_token"] != tokens["refresh_token"]
    assert (
        client.get("/api/v1/auth/me", headers=bearer(fresh.json["access_token"])).status_code == 200
    )
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401 and reused.json["error"]["code"] == "token_invalid"
    # The access token of the rotated-away sign-in no longer works either.
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401


def test_a_used_refresh_token_coming_again_ends_the_sign_in_it_was_rotated_into(client):
    # A copy of the refresh token, used by a thief first: the owner's reuse was refused, but the
    # thief's successor sign-in went on, refreshing for a month.
    tokens = signup(client).json
    thief = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert thief.status_code == 200
    owner = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert owner.status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers=bearer(thief.json["access_token"])).status_code == 401
    )
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": thief.json["refresh_token"]})
    assert again.status_code == 401


def test_refreshes_racing_with_one_token_give_one_successor(app, live_server):
    # Four at once on one token had all answered 200 on PostgreSQL: one sign-in forked in four.
    import concurrent.futures

    import requests

    tokens = signup(app.test_client()).json
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(
                    f"{live_server}/api/v1/auth/refresh",
                    json={"refresh_token": tokens["refresh_token"]},
                    timeout=30,
                ),
                range(4),
            )
        )
    live = [
        a
        for a in answers
        if a.status_code == 200
        and requests.get(
            f"{live_server}/api/v1/auth/me",
            headers=bearer(a.json()["access_token"]),
            timeout=30,
        ).status_code
        == 200
    ]
    assert len(live) <= 1, [a.status_code for a in answers]


def test_logout_ends_the_access_and_refresh_tokens_at_once(client):
    tokens = signup(client).json
    assert (
        client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code
        == 204
    )
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_password_change_ends_every_other_sign_in(client):
    phone_one = signup(client).json
    laptop = client.post(
        "/api/v1/auth/login", json={"phone": "13800001111", "password": "worker-pass-1"}
    ).json
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": "worker-pass-1", "new_password": "new-secret-22"},
        headers=bearer(phone_one["access_token"]),
    )
    assert changed.status_code == 200
    for old in (phone_one, laptop):
        assert client.get("/api/v1/auth/me", headers=bearer(old["access_token"])).status_code == 401
    assert (
        client.get("/api/v1/auth/me", headers=bearer(changed.json["access_token"])).status_code
        == 200
    )
    old_password = client.post(
        "/api/v1/auth/login", json={"phone": "13800001111", "password": "worker-pass-1"}
    )
    assert old_password.status_code == 401


def test_expired_access_token_is_refused(tmp_path):
    app = build_app(tmp_path, ACCESS_TOKEN_SECONDS=-1)
    client = app.test_client()
    tokens = signup(client).json
    response = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401 and response.json["error"]["code"] == "token_invalid"


@pytest.mark.parametrize("header", ["Bearer forged.token.value", "Basic dXNlcjpwYXNz", "Bearer"])
def test_malformed_or_forged_authorization_is_401(client, header):
    response = client.get("/api/v1/sectors", headers={"Authorization": header})
    assert response.status_code == 401 and response.json["error"]["field"] == "Authorization"


def test_browser_session_needs_the_csrf_token_for_writes(client):
    signup(client)
    started = client.post(
        "/api/v1/auth/session", json={"phone": "13800001111", "password": "worker-pass-1"}
    )
    assert started.status_code == 200
    cookie = client.get_cookie("hazard_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get("/api/v1/auth/me").json["phone"] == "13800001111"
    refused = client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "csrf_failed"
    forged = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "guess"})
    assert forged.status_code == 403
    ok = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": started.json["csrf_token"]})
    assert ok.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_signed_in_worker_is_credited_unless_choosing_anonymity(client):
    tokens = signup(client).json
    credited = post_report(client, headers=bearer(tokens["access_token"])).json
    assert credited["anonymous"] is False and credited["followup_token"] is None
    hidden = post_report(client, headers=bearer(tokens["access_token"]), anonymous="true").json
    assert hidden["anonymous"] is True and hidden["followup_token"]
    mine = client.get("/api/v1/reports", headers=bearer(tokens["access_token"])).json["items"]
    # An anonymous report is not linked to the account at all, so it is not in "my reports".
    assert [r["id"] for r in mine] == [credited["id"]]


def test_anonymous_reporter_follows_and_then_claims_the_report(client):
    created = post_report(client).json
    token = created["followup_token"]
    seen = client.get(f"/api/v1/reports/{created['id']}", headers={"X-Followup-Token": token})
    assert seen.status_code == 200 and seen.json["timeline"][0]["action"] == "submitted"
    wrong = client.get(f"/api/v1/reports/{created['id']}", headers={"X-Followup-Token": "x" * 43})
    assert wrong.status_code == 404
    worker = signup(client).json
    claimed = client.post(
        f"/api/v1/reports/{created['id']}/claim",
        headers={**bearer(worker["access_token"]), "X-Followup-Token": token},
    )
    assert claimed.status_code == 200 and claimed.json["anonymous"] is False
    mine = client.get("/api/v1/reports", headers=bearer(worker["access_token"])).json["items"]
    assert [r["id"] for r in mine] == [created["id"]]


def test_admin_manages_users_and_disabling_ends_their_sign_ins(app, client, admin):
    created = client.post(
        "/api/v1/users",
        json={
            "phone": "13700000001",
            "password": "inspect-2026",
            "role": "inspector",
            "regions": ["510703"],
            "sectors": ["gas_network"],
            "name": "李检查员",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.json
    assert created.json["regions"] == ["510703"] and created.json["sectors"] == ["gas_network"]
    tokens = client.post(
        "/api/v1/auth/login", json={"phone": "13700000001", "password": "inspect-2026"}
    ).json
    disabled = client.patch(
        f"/api/v1/users/{created.json['id']}", json={"active": False}, headers=admin
    )
    assert disabled.status_code == 200 and disabled.json["active"] is False
    assert client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"phone": "13700000001", "password": "inspect-2026"}
    )
    assert login.status_code == 403 and login.json["error"]["code"] == "account_disabled"
    bad_scope = client.post(
        "/api/v1/users",
        json={
            "phone": "13700000002",
            "password": "inspect-2026",
            "role": "inspector",
            "regions": ["999999"],
        },
        headers=admin,
    )
    assert bad_scope.status_code == 422 and bad_scope.json["error"]["code"] == "unknown_region"


def test_command_line_creates_changes_and_disables_users(app):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "create-user",
            "13600000001",
            "--role",
            "inspector",
            "--password",
            "cli-pass-123",
            "--region",
            "510700",
            "--sector",
            "construction",
            "--name",
            "张三",
        ]
    )
    assert made.exit_code == 0, made.output
    assert "(inspector)" in made.output
    client = app.test_client()
    login = {"phone": "13600000001", "password": "cli-pass-123"}
    assert client.post("/api/v1/auth/login", json=login).json["user"]["regions"] == ["510700"]
    changed = runner.invoke(args=["set-role", "13600000001", "committee"])
    assert changed.exit_code == 0 and "committee" in changed.output
    assert client.post("/api/v1/auth/login", json=login).json["user"]["role"] == "committee"
    off = runner.invoke(args=["disable-user", "13600000001"])
    assert off.exit_code == 0
    assert client.post("/api/v1/auth/login", json=login).status_code == 403
    on = runner.invoke(args=["disable-user", "13600000001", "--enable"])
    assert on.exit_code == 0 and client.post("/api/v1/auth/login", json=login).status_code == 200
    duplicate = runner.invoke(
        args=["create-user", "13600000001", "--role", "worker", "--password", "cli-pass-123"]
    )
    assert duplicate.exit_code != 0 and "already registered" in duplicate.output
    unknown = runner.invoke(args=["set-role", "13600000999", "admin"])
    assert unknown.exit_code != 0 and "No such user" in unknown.output


def test_logs_carry_no_phone_numbers_tokens_or_reporter_positions(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = signup(client, phone="13811112222").json
    client.post("/api/v1/auth/login", json={"phone": "13811112222", "password": "bad-password"})
    created = post_report(
        client,
        headers=bearer(tokens["access_token"]),
        photos=[make_jpeg(gps=MIANYANG)],
        lat=MIANYANG[0],
        lon=MIANYANG[1],
    ).json
    post_report(client, photos=[b"not an image"])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (
        "13811112222",
        tokens["access_token"],
        tokens["refresh_token"],
        str(MIANYANG[0]),
        PASSWORD,
    ):
        assert secret not in logged
    assert created["id"]


def test_make_user_helper_gives_working_tokens(app, client):
    inspector = make_user(app, "inspector", regions=["510703"])
    me = client.get("/api/v1/auth/me", headers=inspector["headers"]).json
    assert me["role"] == "inspector" and me["regions"] == ["510703"]


def test_text_with_a_nul_character_is_refused_naming_the_field(app, client):
    # PostgreSQL's text columns cannot hold U+0000 (SQLite's can): refused alike on both.
    worker = make_user(app, name="张三")
    answer = client.patch("/api/v1/auth/me", json={"name": "张\x00三"}, headers=worker["headers"])
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "validation_error"
    assert answer.json["error"]["field"] == "name"
    assert client.get("/api/v1/auth/me", headers=worker["headers"]).json["name"] == "张三"
