"""Cursors are opaque to clients, and a crafted one is a 422 naming the cursor, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import make_user


def crafted(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


QUEUE = [
    '[Infinity,"2024-01-01T00:00:00",1]',
    '[1,"2024-01-01T00:00:00",Infinity]',
    '[1,"2024-01-01T00:00:00",1e400]',
    '[1,"2024-01-01T00:00:00",NaN]',
    '[1,"2024-01-01T00:00:00",99999999999999999999999]',
    '[1,"2024-01-01T00:00:00",true]',
    '[1,"not a time",1]',
    '[1,"2024-01-01T00:00:00"]',
    '{"a":1}',
    "[" * 100_000,
]
AWARDS = ["[Infinity,1]", "[1e400,1]", "[1,-Infinity]", "[99999999999999999999,1]", '["1",1]', "[]"]


@pytest.mark.parametrize("raw", QUEUE)
def test_a_crafted_queue_cursor_is_refused(app, client, raw):
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    answer = client.get(f"/api/v1/inspect/queue?cursor={crafted(raw)}", headers=inspector)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:200]
    assert answer.get_json()["error"]["field"] == "cursor"


@pytest.mark.parametrize("raw", AWARDS)
def test_a_crafted_award_list_cursor_is_refused(app, client, raw):
    committee = make_user(app, "committee")["headers"]
    answer = client.get(f"/api/v1/awards?cursor={crafted(raw)}", headers=committee)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:200]
    assert answer.get_json()["error"]["field"] == "cursor"


def test_the_cursors_the_lists_hand_out_still_work(app, client):
    from tests.test_reports_api import post_report

    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    for _ in range(3):
        post_report(client, region_code="510703")
    first = client.get("/api/v1/inspect/queue?limit=2", headers=inspector).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))  # a JSON list inside
    rest = client.get(
        f"/api/v1/inspect/queue?limit=2&cursor={first['next_cursor']}", headers=inspector
    ).get_json()
    assert len(rest["items"]) == 1
