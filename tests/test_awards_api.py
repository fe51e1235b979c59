"""Award lists, fairness, anti-fraud flags, commendations and exports through the API."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from sqlalchemy import select

from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.extensions import db
from tests.conftest import make_user, requires_cjk_font, unit_api_path
from tests.corpus import corpus_path, requires_corpus
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report


@pytest.fixture
def people(app):
    return {
        "inspector": make_user(app, "inspector", regions=["510000"]),
        "committee": make_user(app, "committee"),
        "zhang": make_user(app, "worker", name="张建国"),
        "li": make_user(app, "worker", name="李秀英"),
        "wang": make_user(app, "worker", name="王小明"),
    }


def consent(client, person, agreed=True):
    response = client.patch(
        "/api/v1/auth/me", json={"consent_named": agreed}, headers=person["headers"]
    )
    assert response.status_code == 200 and response.json["consent_named"] is agreed


def report(client, person, description="脚手架缺少防护栏", photo=None, **fields):
    body = post_report(
        client,
        headers=person["headers"] if person else None,
        photos=[photo or make_jpeg(gps=MIANYANG, make="HUAWEI", model="P60")],
        region_code="510703",
        sector="construction",
        description=description,
        **fields,
    )
    assert body.status_code == 201, body.json
    return body.json


def verify(app, client, rid, inspector, prevented=False):
    """Take a report through triage, forwarding, the unit's rectification and verification."""
    headers = inspector["headers"]
    assert client.post(f"/api/v1/reports/{rid}/triage", json={}, headers=headers).status_code == 200
    assert (
        client.post(f"/api/v1/reports/{rid}/forward", json={}, headers=headers).status_code == 200
    )
    with app.app_context():
        delivery = db.session.scalar(
            select(Delivery).where(Delivery.report_id == rid, Delivery.kind == "report.forwarded")
        )
        link = unit_api_path(delivery.payload["unit_link"])
    client.post(f"{link}/acknowledge", json={})
    fixed = client.post(
        f"{link}/rectification",
        content_type="multipart/form-data",
        data={"note": "已整改", "photos": [(io.BytesIO(make_jpeg()), "a.jpg")]},
    )
    assert fixed.status_code == 200, fixed.json
    assert client.post(f"/api/v1/reports/{rid}/verify", json={}, headers=headers).status_code == 200
    if prevented:
        client.post(
            f"/api/v1/reports/{rid}/outcome",
            headers=headers,
            json={
                "hazard_confirmed": "major",
                "accident_prevented": True,
                "account": "避免了高处坠落",
            },
        )


def awards(client, person, query="period=year"):
    response = client.get(f"/api/v1/awards?{query}", headers=person["headers"])
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_fair_list_first_reporter_credit_flags_held_rejected_never(app, client, people):
    inspector = people["inspector"]
    consent(client, people["zhang"])
    first = report(client, people["zhang"])  # 张 reported it first
    later = report(client, people["li"])  # 李 the same hazard, later
    client.post(
        f"/api/v1/reports/{later['id']}/merge",
        json={"into_id": first["id"]},
        headers=inspector["headers"],
    )
    verify(app, client, first["id"], inspector, prevented=True)
    rejected = report(client, people["wang"], description="路边有落叶")
    client.post(
        f"/api/v1/reports/{rejected['id']}/reject",
        json={"reason": "不是隐患"},
        headers=inspector["headers"],
    )
    shared = make_jpeg(gps=MIANYANG, make="Xiaomi", model="13")
    report(client, people["li"], description="塔吊倾斜", photo=shared)
    copied = report(client, people["wang"], description="塔吊倾斜", photo=shared)
    assert "duplicate_photo" in copied["flags"]
    verify(app, client, copied["id"], inspector)

    listed = awards(client, people["committee"])
    assert [(row["reporter"], row["report_ids"]) for row in listed] == [("张建国", [first["id"]])]
    assert "2 人报告，首报" in listed[0]["reasons"][0]
    assert "避免了事故" in listed[0]["reasons"][0]

    cleared = client.post(
        f"/api/v1/reports/{copied['id']}/clear-flags",
        json={"reason": "核实为本人重新拍摄"},
        headers=inspector["headers"],
    )
    assert cleared.status_code == 200
    listed = awards(client, people["committee"])
    assert {row["reporter"] for row in listed} == {"张建国", f"职工 #{people['wang']['id']}"}


def test_committee_sees_names_only_with_consent(app, client, people):
    verify(app, client, report(client, people["zhang"])["id"], people["inspector"])
    assert awards(client, people["committee"])[0]["reporter"] == f"职工 #{people['zhang']['id']}"
    consent(client, people["zhang"])
    assert awards(client, people["committee"])[0]["reporter"] == "张建国"


def test_anonymous_reporter_claims_credit_with_the_token(app, client, people):
    anonymous = report(client, None)
    verify(app, client, anonymous["id"], people["inspector"])
    assert awards(client, people["committee"]) == []
    claimed = client.post(
        f"/api/v1/reports/{anonymous['id']}/claim",
        headers={**people["wang"]["headers"], "X-Followup-Token": anonymous["followup_token"]},
    )
    assert claimed.status_code == 200
    assert [row["report_ids"] for row in awards(client, people["committee"])] == [[anonymous["id"]]]


def test_an_inspector_cannot_claim_a_report_they_handled(app, client, people):
    # Filed anonymously, verified with "accident prevented" by the same inspector, then claimed:
    # 150 points, self-awarded, because the own-report rule saw no reporter while they acted.
    inspector = people["inspector"]
    anonymous = report(client, None)
    verify(app, client, anonymous["id"], inspector, prevented=True)
    claimed = client.post(
        f"/api/v1/reports/{anonymous['id']}/claim",
        headers={**inspector["headers"], "X-Followup-Token": anonymous["followup_token"]},
    )
    assert claimed.status_code == 403 and claimed.json["error"]["code"] == "claim_by_handler"
    assert awards(client, people["committee"]) == []
    # nor one merged into a hazard they handled
    head = report(client, people["zhang"])
    merged = report(client, None)
    client.post(
        f"/api/v1/reports/{merged['id']}/merge",
        json={"into_id": head["id"]},
        headers=inspector["headers"],
    )
    handled = client.post(
        f"/api/v1/reports/{merged['id']}/claim",
        headers={**inspector["headers"], "X-Followup-Token": merged["followup_token"]},
    )
    assert handled.status_code == 403


def test_lists_by_period_region_and_campaign(app, client, people, admin):
    verify(app, client, report(client, people["zhang"])["id"], people["inspector"])
    assert awards(client, people["committee"], "period=month")
    assert (
        awards(client, people["committee"], "period=custom&start=2020-01-01&end=2020-12-31") == []
    )
    assert awards(client, people["committee"], "region=510781") == []
    assert awards(client, people["committee"], "region=510700")
    campaign = client.post(
        "/api/v1/campaigns",
        headers=admin,
        json={
            "name": "安全生产月",
            "starts_on": "2020-06-01",
            "ends_on": "2020-06-30",
            "region_codes": ["510700"],
        },
    )
    assert campaign.status_code == 201
    assert awards(client, people["committee"], f"campaign={campaign.json['id']}") == []
    # A campaign alone lists its own dates, not this month's: a report inside one counts.
    from datetime import date, timedelta

    today = date.today()
    running = client.post(
        "/api/v1/campaigns",
        headers=admin,
        json={
            "name": "隐患随手拍活动",
            "starts_on": (today - timedelta(days=90)).isoformat(),
            "ends_on": (today + timedelta(days=1)).isoformat(),
            "region_codes": ["510700"],
        },
    ).json
    answer = client.get(
        f"/api/v1/awards?campaign={running['id']}", headers=people["committee"]["headers"]
    ).json
    assert answer["start"] == running["starts_on"] and answer["end"] == running["ends_on"]
    assert len(answer["items"]) == 1
    clipped = client.get(
        f"/api/v1/awards?campaign={running['id']}&period=year",
        headers=people["committee"]["headers"],
    ).json
    assert clipped["start"] == max(running["starts_on"], f"{today.year}-01-01")
    assert clipped["end"] == min(running["ends_on"], f"{today.year}-12-31")
    bad = client.get(
        "/api/v1/awards?period=custom&start=2026-02-01&end=2026-01-01",
        headers=people["committee"]["headers"],
    )
    assert bad.status_code == 422


def test_only_the_committee_and_admins_read_award_lists(client, people):
    for who in ("inspector", "zhang"):
        assert client.get("/api/v1/awards", headers=people[who]["headers"]).status_code == 403
    assert client.get("/api/v1/awards").status_code == 401


def test_commendation_is_proposed_granted_and_traceable(app, client, people):
    first = report(client, people["zhang"])
    verify(app, client, first["id"], people["inspector"])
    proposed = client.post(
        "/api/v1/commendations",
        headers=people["inspector"]["headers"],
        json={
            "reporter_id": people["zhang"]["id"],
            "report_ids": [first["id"]],
            "level": "timely_praise",
            "reason": "及时发现脚手架隐患",
        },
    )
    assert proposed.status_code == 201 and proposed.json["status"] == "proposed"
    granted = client.post(
        f"/api/v1/commendations/{proposed.json['id']}/grant", headers=people["committee"]["headers"]
    )
    assert granted.json["status"] == "granted"
    assert awards(client, people["committee"])[0]["level"] == "及时表扬"
    timeline = client.get(
        f"/api/v1/reports/{first['id']}", headers=people["inspector"]["headers"]
    ).json["timeline"]
    actions = [e["action"] for e in timeline]
    assert "commendation_proposed" in actions and "commendation_granted" in actions
    wrong = client.post(
        "/api/v1/commendations",
        headers=people["inspector"]["headers"],
        json={
            "reporter_id": people["li"]["id"],
            "report_ids": [first["id"]],
            "level": "special",
            "reason": "x",
        },
    )
    assert wrong.status_code == 422


def test_a_commendation_shows_only_beside_the_hazards_it_was_granted_for(app, client, people):
    # Granted for last year's hazard, it showed on this year's list too (and its certificate).
    from hazard_reporter.extensions import db
    from hazard_reporter.reports.models import Report

    old, new = (report(client, people["zhang"]) for _ in range(2))
    for rid in (old["id"], new["id"]):
        verify(app, client, rid, people["inspector"])
    proposed = client.post(
        "/api/v1/commendations",
        headers=people["inspector"]["headers"],
        json={
            "reporter_id": people["zhang"]["id"],
            "report_ids": [old["id"]],
            "level": "special",
            "reason": "去年的重大隐患",
        },
    ).json
    client.post(
        f"/api/v1/commendations/{proposed['id']}/grant", headers=people["committee"]["headers"]
    )
    with app.app_context():
        last_year = db.session.get(Report, old["id"])
        last_year.submitted_at = last_year.submitted_at.replace(
            year=last_year.submitted_at.year - 1
        )
        db.session.commit()
    this_year = awards(client, people["committee"])
    assert this_year[0]["report_ids"] == [new["id"]] and this_year[0]["level"] is None
    with app.app_context():
        on = db.session.get(Report, old["id"]).submitted_at.date().isoformat()
    before = awards(client, people["committee"], f"period=year&on={on}")
    assert before[0]["report_ids"] == [old["id"]] and before[0]["level"] == "特别贡献"


@requires_cjk_font
def test_exports_carry_the_chinese_names_reasons_and_points(app, client, people):
    consent(client, people["zhang"])
    verify(app, client, report(client, people["zhang"])["id"], people["inspector"], prevented=True)
    headers = people["committee"]["headers"]
    csv = client.get("/api/v1/awards/export.csv?period=year", headers=headers)
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
    assert "张建国" in csv.data.decode("utf-8-sig")
    xlsx = client.get("/api/v1/awards/export.xlsx?period=year", headers=headers)
    from openpyxl import load_workbook

    values = [
        c
        for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True)
        for c in row
    ]
    assert "张建国" in values and 150 in values  # orange 30 + major hazard 20 + prevented 100
    pdf = client.get("/api/v1/awards/export.pdf?period=year", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
        ).stdout.decode()
        assert "张建国" in text


@requires_corpus
def test_years_old_corpus_photo_is_flagged_stale(client, people):
    path = corpus_path("real/apple_iphone4_gps.jpg")  # taken in 2011
    body = report(client, people["zhang"], photo=path.read_bytes())
    assert "stale_photo" in body["flags"]
    again = report(client, people["li"], photo=path.read_bytes())
    assert "duplicate_photo" in again["flags"]


def test_export_command_writes_the_list_with_progress(app, client, people, tmp_path):
    from openpyxl import load_workbook

    consent(client, people["zhang"])
    verify(app, client, report(client, people["zhang"])["id"], people["inspector"])
    output = tmp_path / "awards.xlsx"
    result = app.test_cli_runner().invoke(
        args=["awards", "export", "--period", "year", "--format", "xlsx", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "writing 1 row(s)" in result.output
    values = [c for row in load_workbook(output).active.iter_rows(values_only=True) for c in row]
    assert "张建国" in values


def test_a_commendation_carries_the_points_of_the_reports_behind_it(app, client, people):
    first = report(client, people["zhang"])  # construction scaffold: orange, 30
    verify(app, client, first["id"], people["inspector"], prevented=True)  # +20 major, +100
    granted = client.post(
        "/api/v1/commendations",
        headers=people["committee"]["headers"],
        json={
            "reporter_id": people["zhang"]["id"],
            "report_ids": [first["id"]],
            "level": "special",
            "reason": "避免了高处坠落",
        },
    )
    assert granted.status_code == 201 and granted.json["points"] == 150


def propose(client, by, reporter, report_ids, level="timely_praise"):
    return client.post(
        "/api/v1/commendations",
        headers=by["headers"],
        json={
            "reporter_id": reporter["id"],
            "report_ids": report_ids,
            "level": level,
            "reason": "及时发现隐患",
        },
    )


def test_a_merged_hazard_is_commended_to_its_first_reporter(app, client, people):
    # 李 reported the hazard first; 张's later report became the head of the cluster. The award
    # list credits 李, but a commendation could only be proposed for 张, the head's reporter.
    li_first = report(client, people["li"])
    zhang_later = report(client, people["zhang"])
    merged = client.post(
        f"/api/v1/reports/{li_first['id']}/merge",
        json={"into_id": zhang_later["id"]},
        headers=people["inspector"]["headers"],
    )
    assert merged.status_code == 200, merged.json
    verify(app, client, zhang_later["id"], people["inspector"])
    consent(client, people["li"])
    assert [(r["reporter"], r["report_ids"]) for r in awards(client, people["committee"])] == [
        ("李秀英", [zhang_later["id"]])
    ]
    to_zhang = propose(client, people["inspector"], people["zhang"], [zhang_later["id"]])
    assert to_zhang.status_code == 422 and to_zhang.json["error"]["field"] == "report_ids"
    to_li = propose(client, people["inspector"], people["li"], [zhang_later["id"]])
    assert to_li.status_code == 201, to_li.json


def test_a_hazard_held_by_anti_fraud_flags_is_not_commended_until_cleared(app, client, people):
    shared = make_jpeg(gps=MIANYANG, make="Xiaomi", model="13")
    report(client, people["li"], description="塔吊倾斜", photo=shared)
    copied = report(client, people["wang"], description="塔吊倾斜", photo=shared)
    assert "duplicate_photo" in copied["flags"]
    verify(app, client, copied["id"], people["inspector"])
    held = propose(client, people["inspector"], people["wang"], [copied["id"]])
    assert held.status_code == 422 and held.json["error"]["field"] == "report_ids"
    client.post(
        f"/api/v1/reports/{copied['id']}/clear-flags",
        json={"reason": "核实为本人重新拍摄"},
        headers=people["inspector"]["headers"],
    )
    assert propose(client, people["inspector"], people["wang"], [copied["id"]]).status_code == 201


def test_a_commendation_is_granted_only_while_its_hazard_still_stands(app, client, people):
    # Proposed for a verified hazard; the rectification is then found wanting and reopened.
    # The committee's grant went through regardless, for a hazard no longer fixed.
    rid = report(client, people["zhang"])["id"]
    verify(app, client, rid, people["inspector"])
    proposed = propose(client, people["inspector"], people["zhang"], [rid]).json
    reopened = client.post(
        f"/api/v1/reports/{rid}/reopen",
        json={"reason": "护栏未固定"},
        headers=people["inspector"]["headers"],
    )
    assert reopened.status_code == 200, reopened.json
    granted = client.post(
        f"/api/v1/commendations/{proposed['id']}/grant", headers=people["committee"]["headers"]
    )
    assert granted.status_code == 409 and granted.json["error"]["code"] == "commendation_stale"
    assert f"#{rid}" in granted.json["error"]["message"]
    listed = client.get("/api/v1/commendations", headers=people["committee"]["headers"]).json
    assert [c["status"] for c in listed if c["id"] == proposed["id"]] == ["proposed"]
    timeline = client.get(f"/api/v1/reports/{rid}", headers=people["inspector"]["headers"]).json
    assert "commendation_granted" not in [e["action"] for e in timeline["timeline"]]


def test_a_grant_counts_the_hazard_as_it_stands_then(app, client, people):
    # The outcome (an accident prevented: +20 major, +100) recorded after the proposal.
    rid = report(client, people["zhang"])["id"]  # construction scaffold: orange, 30
    verify(app, client, rid, people["inspector"])
    proposed = propose(client, people["inspector"], people["zhang"], [rid], level="special").json
    assert proposed["points"] == 30
    client.post(
        f"/api/v1/reports/{rid}/outcome",
        headers=people["inspector"]["headers"],
        json={"hazard_confirmed": "major", "accident_prevented": True, "account": "避免坠落"},
    )
    granted = client.post(
        f"/api/v1/commendations/{proposed['id']}/grant", headers=people["committee"]["headers"]
    )
    assert granted.status_code == 200 and granted.json["points"] == 150


def test_a_hazard_earns_one_commendation_of_each_level(app, client, people):
    # A second click, or a second inspector, proposed the same praise again: two certificates.
    rid = report(client, people["zhang"])["id"]
    verify(app, client, rid, people["inspector"])
    first = propose(client, people["inspector"], people["zhang"], [rid])
    assert first.status_code == 201
    again = propose(client, people["committee"], people["zhang"], [rid])
    assert again.status_code == 409 and again.json["error"]["code"] == "already_commended"
    assert f"第 {first.json['id']} 号" in again.json["error"]["message"]
    higher = propose(client, people["committee"], people["zhang"], [rid], level="special")
    assert higher.status_code == 201


def test_the_committee_cannot_grant_a_commendation_for_its_own_hazard(app, client, people):
    member = make_user(app, "committee", name="赵委员")
    rid = report(client, member)["id"]
    verify(app, client, rid, people["inspector"])
    proposed = propose(client, people["inspector"], member, [rid]).json
    own = client.post(f"/api/v1/commendations/{proposed['id']}/grant", headers=member["headers"])
    assert own.status_code == 403 and own.json["error"]["code"] == "own_report"
    other = client.post(
        f"/api/v1/commendations/{proposed['id']}/grant", headers=people["committee"]["headers"]
    )
    assert other.status_code == 200 and other.json["status"] == "granted"


def test_a_proposal_naming_only_the_hazards_goes_to_their_credited_reporter(app, client, people):
    # The inspector's desk knows the report, not who is credited for it (a merged cluster's
    # first reporter): the proposal names the hazards and the credit names the reporter.
    li_first = report(client, people["li"])
    zhang_later = report(client, people["zhang"])
    client.post(
        f"/api/v1/reports/{li_first['id']}/merge",
        json={"into_id": zhang_later["id"]},
        headers=people["inspector"]["headers"],
    )
    verify(app, client, zhang_later["id"], people["inspector"])
    proposed = client.post(
        "/api/v1/commendations",
        headers=people["inspector"]["headers"],
        json={"report_ids": [zhang_later["id"]], "level": "priority", "reason": "首报燃气隐患"},
    )
    assert proposed.status_code == 201, proposed.json
    assert proposed.json["reporter_id"] == people["li"]["id"]
    open_one = report(client, people["wang"])  # not verified: credited to no one
    refused = client.post(
        "/api/v1/commendations",
        headers=people["inspector"]["headers"],
        json={"report_ids": [open_one["id"]], "level": "priority", "reason": "x"},
    )
    assert refused.status_code == 422 and refused.json["error"]["field"] == "report_ids"


def test_a_double_click_commends_a_hazard_once(app, live_server, people, monkeypatch):
    # Six 表彰 at once for one hazard: checked before any was stored, three were granted.
    import concurrent.futures
    import time

    import requests

    from hazard_reporter.awards import services

    checked = services._refuse_commended_twice

    def slow_after_the_check(*args, **kwargs):
        checked(*args, **kwargs)
        time.sleep(0.2)  # the others' checks come now, if nothing holds them back

    monkeypatch.setattr(services, "_refuse_commended_twice", slow_after_the_check)
    client = app.test_client()
    rid = report(client, people["zhang"])["id"]
    verify(app, client, rid, people["inspector"])

    def commend(_):
        return requests.post(
            f"{live_server}/api/v1/commendations",
            headers=people["committee"]["headers"],
            json={
                "reporter_id": people["zhang"]["id"],
                "report_ids": [rid],
                "level": "special",
                "reason": "避免了燃气爆炸",
            },
            timeout=60,
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(commend, range(6)))
    assert answers == [201, 409, 409, 409, 409, 409]


def test_a_hazard_is_commended_once_a_level_even_after_its_credit_moved(app, client, people):
    # Granted to 张; 李's earlier report of the hazard merged in afterwards moves the credit to
    # 李, who could then be granted the same level for the same hazard.
    li_first = report(client, people["li"])
    zhang_later = report(client, people["zhang"])
    verify(app, client, zhang_later["id"], people["inspector"])
    client.post(  # the same test photo twice: 张's is flagged as a copy until cleared
        f"/api/v1/reports/{zhang_later['id']}/clear-flags",
        json={"reason": "核实为本人拍摄"},
        headers=people["inspector"]["headers"],
    )
    granted = propose(client, people["committee"], people["zhang"], [zhang_later["id"]])
    assert granted.status_code == 201, granted.json
    client.post(
        f"/api/v1/reports/{li_first['id']}/merge",
        json={"into_id": zhang_later["id"]},
        headers=people["inspector"]["headers"],
    )
    again = propose(client, people["committee"], people["li"], [zhang_later["id"]])
    assert again.status_code == 409 and again.json["error"]["code"] == "already_commended"


def test_a_commendation_for_an_unknown_campaign_is_a_404_naming_it(app, client, people):
    rid = report(client, people["zhang"])["id"]
    verify(app, client, rid, people["inspector"])
    answer = client.post(
        "/api/v1/commendations",
        headers=people["committee"]["headers"],
        json={
            "reporter_id": people["zhang"]["id"],
            "report_ids": [rid],
            "level": "special",
            "reason": "x",
            "campaign_id": 999,
        },
    )
    assert answer.status_code == 404 and answer.json["error"]["field"] == "campaign_id"
