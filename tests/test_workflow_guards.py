"""Guards found by review: stale unit links, races, escalation backlogs, merge chains, huge ids."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from hazard_reporter.core.db import utcnow
from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.extensions import db
from hazard_reporter.inspection.services import escalate_overdue
from hazard_reporter.reports.deadlines import DeadlinePolicy
from hazard_reporter.reports.models import Report
from tests.conftest import make_user, unit_api_path
from tests.fixtures import make_jpeg
from tests.test_reports_api import post_report


@pytest.fixture
def inspector(app):
    return make_user(app, "inspector", regions=["510000"])["headers"]


def new_report(client, headers=None, description="脚手架缺少防护栏"):
    return post_report(
        client,
        headers=headers,
        region_code="510703",
        photos=[make_jpeg()],
        sector="construction",
        description=description,
    ).json


def forwarded(app, client, inspector, **kwargs) -> tuple[int, str]:
    rid = new_report(client, **kwargs)["id"]
    client.post(f"/api/v1/reports/{rid}/triage", json={}, headers=inspector)
    client.post(f"/api/v1/reports/{rid}/forward", json={}, headers=inspector)
    with app.app_context():
        delivery = db.session.scalar(
            select(Delivery).where(Delivery.report_id == rid).order_by(Delivery.id.desc())
        )
        return rid, unit_api_path(delivery.payload["unit_link"])


def test_unit_link_stops_once_the_report_is_merged_or_rejected(app, client, inspector):
    merged, merged_link = forwarded(app, client, inspector)
    head = new_report(client)["id"]
    client.post(f"/api/v1/reports/{merged}/merge", json={"into_id": head}, headers=inspector)
    assert client.get(merged_link).status_code == 404
    assert client.post(f"{merged_link}/decline", json={"reason": "x"}).status_code == 404
    rejected, rejected_link = forwarded(app, client, inspector)
    client.post(
        f"/api/v1/reports/{rejected}/reject", json={"reason": "不是隐患"}, headers=inspector
    )
    assert client.post(f"{rejected_link}/decline", json={"reason": "x"}).status_code == 404


def test_two_acknowledgements_at_once_move_the_report_once(app, client, inspector, live_server):
    rid, link = forwarded(app, client, inspector)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: requests.post(
                    f"{live_server}{link}/acknowledge", json={}, timeout=30
                ).status_code,
                range(8),
            )
        )
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}
    timeline = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["timeline"]
    assert [e["to_status"] for e in timeline].count("acknowledged") == 1


def test_escalation_is_not_starved_by_reports_escalated_before(app, client, inspector):
    ids = [forwarded(app, client, inspector)[0] for _ in range(3)]
    with app.app_context():
        late = db.session.get(Report, ids[-1]).forwarded_at + timedelta(hours=80)
        runs = [
            escalate_overdue(db.session, now=late, policy=DeadlinePolicy(), limit=2)
            for _ in range(4)
        ]
    # Orange: 4 h to acknowledge, 72 h to rectify; at 80 h three reports miss both, once each.
    assert sum(runs) == 6 and runs[-1] == 0


def test_a_chain_of_merges_keeps_one_head_and_the_first_reporters_credit(app, client, inspector):
    workers = [make_user(app, "worker") for _ in range(3)]
    a, b, c = (new_report(client, headers=w["headers"])["id"] for w in workers)
    client.post(f"/api/v1/reports/{a}/merge", json={"into_id": b}, headers=inspector)
    client.post(f"/api/v1/reports/{b}/merge", json={"into_id": c}, headers=inspector)
    with app.app_context():
        assert db.session.get(Report, a).duplicate_of_id == c
        assert db.session.get(Report, c).independent_reports == 3


def test_a_new_colour_moves_the_deadlines_of_a_forwarded_report(app, client, inspector):
    rid, _ = forwarded(app, client, inspector, description="仓库门口有些杂物")
    before = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["deadlines"]
    client.post(
        f"/api/v1/reports/{rid}/severity",
        headers=inspector,
        json={"severity": "red", "reason": "复核为重大隐患"},
    )
    after = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["deadlines"]
    assert after["acknowledge_due_at"] < before["acknowledge_due_at"]


def test_unmerging_assesses_the_cluster_again(client, inspector):
    head = new_report(client, description="仓库门口有些杂物")["id"]
    others = [new_report(client, description="仓库门口有些杂物")["id"] for _ in range(3)]
    for other in others:
        client.post(f"/api/v1/reports/{other}/merge", json={"into_id": head}, headers=inspector)
    raised = client.get(f"/api/v1/reports/{head}", headers=inspector).json["severity"]
    for other in others:
        client.post(
            f"/api/v1/reports/{other}/retriage", json={"reason": "不是同一处"}, headers=inspector
        )
    back = client.get(f"/api/v1/reports/{head}", headers=inspector).json
    assert back["independent_reports"] == 1 and back["severity"] != raised


def test_forwarding_twice_to_the_same_unit_is_refused(app, client, inspector):
    rid, _ = forwarded(app, client, inspector)
    again = client.post(f"/api/v1/reports/{rid}/forward", json={}, headers=inspector)
    assert again.status_code == 409 and again.json["error"]["code"] == "illegal_transition"
    # said in the reader's language (it had been "不能变为“forwarded to unit 3 again”")
    assert "已在该责任单位处理中" in again.json["error"]["message"]
    english = client.post(
        f"/api/v1/reports/{rid}/forward", json={}, headers={**inspector, "Accept-Language": "en"}
    )
    assert "already with this unit" in english.json["error"]["message"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/inspect/queue?unit_id=1180591620717411303424", None),
        ("get", "/api/v1/awards?campaign=1180591620717411303424", None),
        ("get", "/api/v1/users?after=1180591620717411303424", None),
        (
            "post",
            "/api/v1/routing-rules",
            {"region_code": "510703", "sector": None, "unit_id": 2**70},
        ),
        (
            "post",
            "/api/v1/commendations",
            {"reporter_id": 2**70, "report_ids": [2**70], "level": "special", "reason": "x"},
        ),
    ],
)
def test_huge_ids_are_a_4xx_not_a_500(client, admin, method, url, body):
    response = getattr(client, method)(url, json=body, headers=admin)
    assert 400 <= response.status_code < 500, response.json


def test_a_second_unit_with_the_same_slug_is_409(client, admin):
    body = {"slug": "my-zjj", "name_zh": "重复", "region_code": "510700"}
    response = client.post("/api/v1/units", json=body, headers=admin)
    assert response.status_code == 409 and response.json["error"]["field"] == "slug"


def test_an_inspector_out_of_scope_cannot_probe_reporters_through_commendations(app, client):
    worker = make_user(app, "worker")
    rid = new_report(client, headers=worker["headers"])["id"]
    elsewhere = make_user(app, "inspector", regions=["510704"])["headers"]
    attempts = [
        client.post(
            "/api/v1/commendations",
            headers=elsewhere,
            json={"reporter_id": reporter, "report_ids": [rid], "level": "special", "reason": "x"},
        )
        for reporter in (worker["id"], worker["id"] + 1)
    ]
    assert attempts[0].status_code == attempts[1].status_code == 422
    assert attempts[0].json == attempts[1].json


def escalations_at(app, when) -> int:
    with app.app_context():
        done = escalate_overdue(db.session, now=when, policy=DeadlinePolicy())
        db.session.remove()
        return done


def test_a_colour_made_worse_after_forwarding_counts_from_now_and_tells_the_unit(
    app, client, inspector
):
    # Yellow when forwarded: 24 h to acknowledge. Made red 3 h later: the red hour counts from
    # the change, not from the forwarding (which would make the unit overdue before it was told).
    from hazard_reporter.accounts.principal import ANONYMOUS
    from hazard_reporter.deliveries.models import Delivery
    from hazard_reporter.inspection import services as inspection
    from hazard_reporter.units.models import Unit

    with app.app_context():  # the inspectors' office (a union department) hears of red reports
        office = db.session.scalar(select(Unit).where(Unit.slug == "sc-zgh-lbb"))
        office.channels = [{"type": "wecom", "url": "http://127.0.0.1:9/wecom"}]
        db.session.commit()
    rid, _ = forwarded(app, client, inspector, description="仓库门口有些杂物")
    with app.app_context():
        report = db.session.get(Report, rid)
        assert report.severity == "yellow"
        changed_at = report.forwarded_at + timedelta(hours=3)
        inspection.override_severity(
            db.session,
            report,
            severity="red",
            reason="复核为重大隐患",
            actor=ANONYMOUS,  # the service's caller checked who may
            now=changed_at,
            policy=DeadlinePolicy(),
        )
        assert report.acknowledge_due_at == changed_at + timedelta(hours=1)
        assert report.rectify_due_at == changed_at + timedelta(hours=24)
        kinds = [d.kind for d in db.session.scalars(select(Delivery).order_by(Delivery.id))]
        assert "report.severity_changed" in kinds and "alert.red" in kinds
        db.session.remove()
    assert escalations_at(app, changed_at + timedelta(seconds=1)) == 0
    assert escalations_at(app, changed_at + timedelta(hours=1, seconds=1)) == 1


def test_a_reopened_rectification_gets_its_time_again_and_clears_overdue(app, client, inspector):
    from hazard_reporter.accounts.principal import ANONYMOUS
    from hazard_reporter.inspection import services as inspection

    rid, _ = forwarded(app, client, inspector)
    with app.app_context():
        report = db.session.get(Report, rid)
        start = report.forwarded_at
        unit_id = report.unit_id
        db.session.remove()
    assert escalations_at(app, start + timedelta(hours=5)) == 1  # orange: 4 h to acknowledge
    with app.app_context():
        report = db.session.get(Report, rid)
        assert report.overdue is True
        later = start + timedelta(hours=5, minutes=1)
        inspection.acknowledge(
            db.session, report, unit_id=unit_id, note_text=None, now=later, policy=DeadlinePolicy()
        )
        assert report.overdue is False  # acknowledged late; rectifying is still in time
        report.status = "rectified"
        db.session.commit()
        week = start + timedelta(days=7)
        inspection.reopen_rectification(
            db.session,
            report,
            reason="整改不到位",
            actor=ANONYMOUS,
            now=week,
            policy=DeadlinePolicy(),
        )
        assert report.rectify_due_at == week + timedelta(hours=72)
        assert report.overdue is False
        db.session.remove()
    assert escalations_at(app, week + timedelta(seconds=15)) == 0
    assert escalations_at(app, week + timedelta(hours=73)) == 1  # the new deadline, missed


def test_confirming_the_triage_of_a_forwarded_report_is_refused(app, client, inspector):
    # The desk's 确认研判 on a forwarded report answered 200 and took it back from its unit
    # (its link dead, the unit not told). Confirming a triage is for a new report.
    rid, link = forwarded(app, client, inspector)
    again = client.post(f"/api/v1/reports/{rid}/triage", json={}, headers=inspector)
    assert again.status_code == 409 and again.json["error"]["code"] == "illegal_transition"
    assert client.get(link).status_code == 200  # still the unit's
    with app.app_context():
        assert db.session.get(Report, rid).status == "forwarded"


def test_an_inspector_cannot_verify_judge_or_clear_their_own_report(app, client):
    # An inspector who reported a hazard (inspectors are workers too) could take it to verified
    # with the prevented-accident bonus and clear its flags: 135 points, self-awarded.
    me = make_user(app, "inspector", regions=["510000"])
    colleague = make_user(app, "inspector", regions=["510000"])["headers"]
    rid = new_report(client, headers=me["headers"])["id"]
    with app.app_context():
        report = db.session.get(Report, rid)
        report.status = "rectified"
        db.session.commit()
    mine = me["headers"]
    for path, body in (
        (f"/api/v1/reports/{rid}/verify", {}),
        (f"/api/v1/reports/{rid}/clear-flags", {"reason": "核查无误"}),
    ):
        refused = client.post(path, json=body, headers=mine)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "own_report", path
    assert (
        client.post(f"/api/v1/reports/{rid}/verify", json={}, headers=colleague).status_code == 200
    )
    outcome = {"hazard_confirmed": "major", "accident_prevented": True, "account": "避免坠落"}
    refused = client.post(f"/api/v1/reports/{rid}/outcome", json=outcome, headers=mine)
    assert refused.status_code == 403
    assert (
        client.post(f"/api/v1/reports/{rid}/outcome", json=outcome, headers=colleague).status_code
        == 200
    )


def test_merging_ones_own_report_into_another_does_not_get_round_the_own_report_rule(app, client):
    # The credit goes to a cluster's first report: an inspector's own earlier report merged into
    # a worker's made the inspector the one crediting themselves on verifying it.
    me = make_user(app, "inspector", regions=["510000"])
    worker = make_user(app, "worker")
    mine = new_report(client, headers=me["headers"])["id"]
    theirs = new_report(client, headers=worker["headers"])["id"]
    merged = client.post(
        f"/api/v1/reports/{mine}/merge", json={"into_id": theirs}, headers=me["headers"]
    )
    assert merged.status_code == 200, merged.json
    with app.app_context():
        db.session.get(Report, theirs).status = "rectified"
        db.session.commit()
    refused = client.post(f"/api/v1/reports/{theirs}/verify", json={}, headers=me["headers"])
    assert refused.status_code == 403 and refused.json["error"]["code"] == "own_report"


def test_a_unit_without_a_channel_waits_for_its_link_to_be_passed_on(app, client, inspector):
    # The forwarding to a unit with no channel was marked sent and the timeline said 已送达责任单位:
    # nobody had been told, and no page or API gave inspectors the link to pass on.
    from hazard_reporter.deliveries import services as deliveries
    from hazard_reporter.units.models import Unit

    rid, _ = forwarded(app, client, inspector)
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.report_id == rid))
        assert db.session.get(Unit, delivery.unit_id).channels in (None, [])
        deliveries.process_due(db.session, now=utcnow(), config=app.config)
        assert db.session.get(Delivery, delivery.id).status == "handover"
        db.session.remove()
    timeline = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["timeline"]
    actions = [e["action"] for e in timeline]
    assert "handover_needed" in actions and "delivered" not in actions

    given = client.get(f"/api/v1/reports/{rid}/unit-link", headers=inspector)
    assert given.status_code == 200, given.json
    assert given.json["valid_days"] == app.config["UNIT_LINK_DAYS"]
    assert client.get(unit_api_path(given.json["unit_link"])).json["id"] == rid  # the unit's page
    timeline = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["timeline"]
    assert "unit_link_issued" in [e["action"] for e in timeline]  # who holds the unit's link
    worker = make_user(app, "worker")["headers"]
    assert client.get(f"/api/v1/reports/{rid}/unit-link", headers=worker).status_code == 403
    fresh = new_report(client)["id"]
    none = client.get(f"/api/v1/reports/{fresh}/unit-link", headers=inspector)
    assert none.status_code == 409 and none.json["error"]["code"] == "no_unit_holds"
    assert "已提交" in none.json["error"]["message"]


def test_a_forwarding_not_yet_delivered_is_not_sent_to_a_unit_that_lost_the_report(
    app, client, inspector
):
    # Unit A's system was down at the first attempt; the report was re-routed to B. When A's
    # system came back, A still got the hazard, its deadlines and a dead link.
    from hazard_reporter.deliveries import services as deliveries
    from hazard_reporter.units.models import Unit

    rid, _ = forwarded(app, client, inspector)
    sent_to = []
    with app.app_context():
        first = db.session.scalar(select(Delivery).where(Delivery.report_id == rid))
        unit_a = first.unit_id
        other = Unit(
            slug="other-unit",
            name_zh="涪城区应急管理局",
            region_code="510703",
            sectors=["construction"],
            channels=[{"type": "webhook", "url": "http://127.0.0.1:9/hook"}],
        )
        db.session.add(other)
        db.session.commit()
        unit_b = other.id
        db.session.remove()
    rerouted = client.post(
        f"/api/v1/reports/{rid}/forward", json={"unit_id": unit_b}, headers=inspector
    )
    assert rerouted.status_code == 200, rerouted.json
    with app.app_context():
        result = deliveries.process_due(
            db.session,
            now=utcnow() + timedelta(hours=1),
            config=app.config,
            send=lambda delivery: sent_to.append(delivery.unit_id),
        )
        statuses = {
            d.unit_id: d.status
            for d in db.session.scalars(select(Delivery).where(Delivery.report_id == rid))
        }
        db.session.remove()
    assert sent_to == [unit_b]
    assert statuses == {unit_a: "skipped", unit_b: "sent"} and result.skipped == 1


def test_the_link_of_a_unit_told_through_its_channels_is_not_handed_out(app, client, inspector):
    # The link acts as the unit for 90 days: handed to any inspector, it let one sign for the
    # report, send a fix and verify it themselves. Only a unit nobody can reach needs it.
    from hazard_reporter.units.models import Unit

    rid, _ = forwarded(app, client, inspector)
    with app.app_context():
        unit = db.session.get(Unit, db.session.get(Report, rid).unit_id)
        unit.channels = [
            {"type": "webhook", "url": "https://unit.example.cn/in", "secret": "s" * 16}
        ]
        db.session.commit()
        db.session.remove()
    refused = client.get(f"/api/v1/reports/{rid}/unit-link", headers=inspector)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "unit_has_channels"
