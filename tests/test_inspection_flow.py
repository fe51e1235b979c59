"""The inspector's and the unit's work through the API, deadlines and escalation."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hazard_reporter.core.db import utcnow
from hazard_reporter.deliveries.models import Delivery
from hazard_reporter.extensions import db
from hazard_reporter.inspection.services import escalate_overdue
from hazard_reporter.reports.deadlines import DeadlinePolicy
from hazard_reporter.reports.models import Escalation, Report
from hazard_reporter.units.models import Unit
from tests.conftest import make_user, unit_api_path
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

GAS_LEAK = "地下室食堂燃气泄漏，闻到很浓的燃气味"


@pytest.fixture
def inspector(app):
    return make_user(app, "inspector", regions=["510700"], name="李检查员")


def act(client, report_id, action, headers, **body):
    return client.post(f"/api/v1/reports/{report_id}/{action}", json=body, headers=headers)


def unit_link_of(app, report_id) -> str:
    """The signed link the forwarding put in the unit's outbox message."""
    with app.app_context():
        delivery = db.session.scalar(
            select(Delivery)
            .where(Delivery.report_id == report_id, Delivery.kind == "report.forwarded")
            .order_by(Delivery.id.desc())
        )
        return delivery.payload["unit_link"]


def give_channels(app, slug: str, channels: list[dict]) -> int:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.slug == slug))
        unit.channels = channels
        db.session.commit()
        return unit.id


def path_of(link: str) -> str:
    """The API path of a unit's link (the page ``/unit#<token>`` calls it)."""
    return unit_api_path(link)


def test_whole_path_from_submission_to_verified_with_every_step_in_the_timeline(
    app, client, inspector
):
    give_channels(
        app,
        "my-gas-demo",
        [{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3cret"}],
    )
    created = post_report(
        client, photos=[make_jpeg(gps=MIANYANG)], description=GAS_LEAK, region_code="510703"
    )
    assert created.status_code == 201, created.json
    report = created.json
    assert report["severity"] == "red"
    assert next(iter(report)) == "advice" and "119" in report["advice"]["text"]
    assert report["triage"]["reasons"][0]["code"].startswith("indicator:gas_network")
    rid, headers = report["id"], inspector["headers"]

    assert act(client, rid, "triage", headers).json["status"] == "triaged"
    forwarded = act(client, rid, "forward", headers).json
    assert forwarded["status"] == "forwarded" and forwarded["deadlines"]["acknowledge_due_at"]

    link = path_of(unit_link_of(app, rid))
    unit_view = client.get(link)
    assert unit_view.status_code == 200
    text = json.dumps(unit_view.json, ensure_ascii=False)
    assert "reporter" not in text and "anonymous" not in text and "original" not in text
    assert (
        client.post(f"{link}/acknowledge", json={"note": "已收到"}).json["status"] == "acknowledged"
    )
    after = make_jpeg(800, 600)
    fixed = client.post(
        f"{link}/rectification",
        data={"note": "已关闭阀门并更换软管", "photos": [(io.BytesIO(after), "after.jpg")]},
        content_type="multipart/form-data",
    )
    assert fixed.status_code == 200, fixed.json
    assert fixed.json["status"] == "rectified" and len(fixed.json["rectification_photos"]) == 1

    assert act(client, rid, "verify", headers, note="现场复核合格").json["status"] == "verified"
    outcome = act(
        client,
        rid,
        "outcome",
        headers,
        hazard_confirmed="major",
        accident_prevented=True,
        account="避免了一次燃气爆炸",
    )
    assert outcome.json["outcome"]["accident_prevented"] is True

    timeline = client.get(f"/api/v1/reports/{rid}", headers=headers).json["timeline"]
    steps = [e["to_status"] for e in timeline if e["to_status"]]
    assert steps == [
        "submitted",
        "triaged",
        "forwarded",
        "acknowledged",
        "rectifying",
        "rectified",
        "verified",
    ]
    assert {e["actor"] for e in timeline} >= {"reporter", f"user:{inspector['id']}"}
    assert any(e["actor"].startswith("unit:") for e in timeline)
    # The anonymous reporter follows the same progress with the follow-up token.
    mine = client.get(
        f"/api/v1/reports/{rid}", headers={"X-Followup-Token": report["followup_token"]}
    )
    assert [e["to_status"] for e in mine.json["timeline"]] == steps


def test_illegal_moves_answer_409_naming_what_is_allowed(client, inspector):
    rid = post_report(client, region_code="510703", photos=[make_jpeg()]).json["id"]
    response = act(client, rid, "verify", inspector["headers"])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "illegal_transition"
    # named as the pages name the statuses, not by their codes
    zh = act(client, rid, "verify", {**inspector["headers"], "Accept-Language": "zh"})
    assert zh.json["error"]["message"] == (
        "报告当前状态为“已提交”，不能变为“已验证”。允许的下一步：已研判、未受理、重复上报（已合并）。"
    )
    en = act(client, rid, "verify", {**inspector["headers"], "Accept-Language": "en"})
    assert "'submitted' and cannot become 'verified'" in en.json["error"]["message"]
    assert "assessed" in en.json["error"]["message"]


def test_override_keeps_the_computed_colour_and_needs_a_reason(client, inspector):
    rid = post_report(
        client, region_code="510703", photos=[make_jpeg()], description="仓库门口有些杂物"
    ).json["id"]
    missing = act(client, rid, "severity", inspector["headers"], severity="red")
    assert missing.status_code == 422 and missing.json["error"]["field"] == "reason"
    done = act(
        client,
        rid,
        "severity",
        inspector["headers"],
        severity="red",
        reason="现场核实为安全出口被锁闭",
    ).json
    assert done["severity"] == "red" and done["triage"]["computed_severity"] != "red"
    assert done["triage"]["override_reason"] == "现场核实为安全出口被锁闭"


def test_unit_declines_and_the_report_returns_to_triage_and_its_link_dies(app, client, inspector):
    rid = post_report(
        client,
        region_code="510703",
        photos=[make_jpeg()],
        sector="construction",
        description="脚手架缺少防护栏",
    ).json["id"]
    act(client, rid, "triage", inspector["headers"])
    act(client, rid, "forward", inspector["headers"])
    link = path_of(unit_link_of(app, rid))
    declined = client.post(f"{link}/decline", json={"reason": "该工地属于省属项目，不归我局"})
    assert declined.status_code == 200 and declined.json["status"] == "triaged"
    assert client.get(link).status_code == 404
    rerouted = act(client, rid, "forward", inspector["headers"], unit_id=6)
    assert rerouted.json["status"] == "forwarded" and rerouted.json["unit_id"] == 6


def test_a_unit_that_has_started_the_work_is_told_to_call_the_inspector_to_decline(
    app, client, inspector
):
    # The workflow's refusal ("cannot become 已研判; allowed next: 已整改、已转交责任单位") means
    # nothing to a unit's clerk.
    rid = post_report(
        client, region_code="510703", photos=[make_jpeg()], sector="construction", description="d"
    ).json["id"]
    act(client, rid, "triage", inspector["headers"])
    act(client, rid, "forward", inspector["headers"])
    link = path_of(unit_link_of(app, rid))
    assert client.post(f"{link}/acknowledge", json={}).status_code == 200
    assert client.post(f"{link}/rectifying", json={}).status_code == 200
    for language, said in (
        ("zh", "报告当前状态为“整改中”，不能再退回。如确非本单位负责，请联系工会检查员。"),
        (
            "en",
            "The report is 'being fixed' and can no longer be declined. If it is not yours, "
            "call the union inspector.",
        ),
    ):
        refused = client.post(
            f"{link}/decline", json={"reason": "x"}, headers={"Accept-Language": language}
        )
        assert refused.status_code == 409
        error = refused.json["error"]
        assert error["code"] == "illegal_transition" and error["message"] == said
    assert client.get(link).json["status"] == "rectifying"


def test_an_inspector_sees_where_automatic_forwarding_would_send_a_report(app, client, inspector):
    # The desk offered "automatic" without saying which unit that meant.
    gas = post_report(
        client, region_code="510703", photos=[make_jpeg()], sector="gas_network", description="d"
    ).json["id"]
    route = client.get(f"/api/v1/reports/{gas}/route", headers=inspector["headers"])
    assert route.status_code == 200, route.json
    with app.app_context():
        gas_unit = db.session.scalar(select(Unit).where(Unit.slug == "my-gas-demo"))
        expected = {"unit_id": gas_unit.id, "unit_name": gas_unit.name_zh}
    assert {k: route.json[k] for k in expected} == expected
    assert route.json["routed_by"] in {"rule", "sector_unit"}
    act(client, gas, "triage", inspector["headers"])
    forwarded = act(client, gas, "forward", inspector["headers"])
    assert forwarded.json["unit_id"] == gas_unit.id  # what it said is what forwarding did

    outside = make_user(app, "inspector", regions=["510704"])  # another district's inspector
    hidden = client.get(f"/api/v1/reports/{gas}/route", headers=outside["headers"])
    assert hidden.status_code == 404  # as every report outside an inspector's scope
    worker = make_user(app, "worker")
    assert client.get(f"/api/v1/reports/{gas}/route", headers=worker["headers"]).status_code == 403


def test_a_fix_sent_back_tells_the_unit_why_and_not_the_reporter(app, client, inspector):
    # The unit saw its report back at 整改中 with no word of what was wrong with its fix.
    created = post_report(
        client, region_code="510703", photos=[make_jpeg()], sector="construction", description="d"
    ).json
    rid, headers = created["id"], inspector["headers"]
    act(client, rid, "triage", headers)
    act(client, rid, "forward", headers)
    link = path_of(unit_link_of(app, rid))
    client.post(f"{link}/acknowledge", json={})
    fixed = client.post(
        f"{link}/rectification",
        data={"note": "已加装护栏", "photos": [(io.BytesIO(make_jpeg(800, 600)), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert fixed.status_code == 200
    reopened = act(client, rid, "reopen", headers, reason="护栏高度不足 1.2 米")
    assert reopened.json["status"] == "rectifying"

    def said(timeline):  # the move back from rectified
        return [e.get("reason") for e in timeline if e["from_status"] == "rectified"]

    assert said(client.get(link).json["timeline"]) == ["护栏高度不足 1.2 米"]
    inspector_view = client.get(f"/api/v1/reports/{rid}", headers=headers).json["timeline"]
    assert said(inspector_view) == ["护栏高度不足 1.2 米"]
    reporter_view = client.get(
        f"/api/v1/reports/{rid}", headers={"X-Followup-Token": created["followup_token"]}
    ).json
    assert "护栏高度" not in json.dumps(reporter_view, ensure_ascii=False)


def test_forged_unit_link_is_404(client):
    assert client.get("/api/v1/unit/not-a-real-token").status_code == 404


def test_merge_adds_a_voice_and_raises_the_colour(client, inspector):
    ids = [
        post_report(
            client,
            region_code="510703",
            photos=[make_jpeg()],
            sector="construction",
            description="仓库门口有些杂物",
        ).json["id"]
        for _ in range(4)
    ]
    first = client.get(f"/api/v1/reports/{ids[0]}", headers=inspector["headers"]).json
    for other in ids[1:]:
        merged = act(client, other, "merge", inspector["headers"], into_id=ids[0])
        assert merged.json["status"] == "duplicate"
    target = client.get(f"/api/v1/reports/{ids[0]}", headers=inspector["headers"]).json
    assert target["independent_reports"] == 4
    ranks = ["blue", "yellow", "orange", "red"]
    assert ranks.index(target["severity"]) > ranks.index(first["severity"])
    back = act(client, ids[1], "retriage", inspector["headers"], reason="不是同一处")
    assert back.json["status"] == "triaged"
    again = client.get(f"/api/v1/reports/{ids[0]}", headers=inspector["headers"]).json
    assert again["independent_reports"] == 3


def test_queue_is_sorted_by_colour_then_deadline_with_counts(client, inspector):
    descriptions = ["燃气泄漏", "仓库有杂物", "消防通道被堵塞", "路面有小坑"]
    for text in descriptions:
        post_report(
            client,
            region_code="510703",
            photos=[make_jpeg()],
            description=text,
            sector="other" if "坑" in text else "gas_network",
        )
    page = client.get("/api/v1/inspect/queue?limit=2", headers=inspector["headers"]).json
    order = ["red", "orange", "yellow", "blue"]
    colours = [r["severity"] for r in page["items"]]
    assert colours == sorted(colours, key=order.index)
    assert sum(page["counts"].values()) == 4
    rest = client.get(
        f"/api/v1/inspect/queue?limit=2&cursor={page['next_cursor']}", headers=inspector["headers"]
    ).json
    all_colours = colours + [r["severity"] for r in rest["items"]]
    assert all_colours == sorted(all_colours, key=order.index) and len(all_colours) == 4
    only_red = client.get("/api/v1/inspect/queue?severity=red", headers=inspector["headers"]).json
    assert all(r["severity"] == "red" for r in only_red["items"])
    assert only_red["counts"] == page["counts"]


def test_escalation_happens_once_per_missed_deadline_however_often_it_runs(app, client, inspector):
    give_channels(app, "sc-zgh-lbb", [{"type": "webhook", "url": "http://127.0.0.1:9/union"}])
    rid = post_report(
        client, region_code="510703", photos=[make_jpeg()], description=GAS_LEAK
    ).json["id"]
    act(client, rid, "triage", inspector["headers"])
    act(client, rid, "forward", inspector["headers"])
    policy = DeadlinePolicy()
    with app.app_context():
        forwarded_at = db.session.get(Report, rid).forwarded_at
        assert (
            escalate_overdue(db.session, now=forwarded_at + timedelta(minutes=30), policy=policy)
            == 0
        )
        late = forwarded_at + timedelta(hours=2)
        assert [escalate_overdue(db.session, now=late, policy=policy) for _ in range(3)] == [
            1,
            0,
            0,
        ]
        much_later = forwarded_at + timedelta(hours=30)
        assert escalate_overdue(db.session, now=much_later, policy=policy) == 1
        assert escalate_overdue(db.session, now=much_later + timedelta(hours=1), policy=policy) == 0
        deadlines = db.session.scalars(select(Escalation.deadline).order_by(Escalation.id)).all()
        assert deadlines == ["acknowledge", "rectify"]
        alerts = db.session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.kind == "report.escalated")
        )
        assert alerts == 2
    report = client.get(f"/api/v1/reports/{rid}", headers=inspector["headers"]).json
    assert report["deadlines"]["overdue"] is True
    assert [e["action"] for e in report["timeline"]].count("escalated") == 2
    overdue = client.get("/api/v1/inspect/queue?overdue=true", headers=inspector["headers"]).json
    assert [r["id"] for r in overdue["items"]] == [rid]


def test_escalate_command_runs_the_job(app):
    result = app.test_cli_runner().invoke(args=["escalate"])
    assert result.exit_code == 0 and "escalated 0 report(s)" in result.output


def test_red_report_alerts_the_inspectors_office_at_once(app, client):
    give_channels(app, "sc-zgh-lbb", [{"type": "wecom", "url": "http://127.0.0.1:9/wecom"}])
    rid = post_report(
        client, region_code="510703", photos=[make_jpeg()], description=GAS_LEAK
    ).json["id"]
    with app.app_context():
        alert = db.session.scalar(select(Delivery).where(Delivery.kind == "alert.red"))
        assert alert is not None and alert.report_id == rid
        assert "phone" not in json.dumps(alert.payload)


def test_of_two_union_offices_in_a_region_the_red_alert_goes_to_the_first_made(app, client):
    # Not to whichever PostgreSQL reads first (an updated row moves to the end of its table).
    with app.app_context():
        second = Unit(
            slug="sc-zgh-second",
            name_zh="四川省总工会（第二办公室）",
            region_code="510000",
            sectors=[],
            is_union_department=True,
            channels=[{"type": "wecom", "url": "http://127.0.0.1:9/second"}],
        )
        db.session.add(second)
        db.session.commit()
    first = give_channels(app, "sc-zgh-lbb", [{"type": "wecom", "url": "http://127.0.0.1:9/first"}])
    post_report(client, region_code="510703", photos=[make_jpeg()], description=GAS_LEAK)
    with app.app_context():
        alert = db.session.scalar(select(Delivery).where(Delivery.kind == "alert.red"))
        assert alert.unit_id == first


def test_units_and_routing_rules_by_csv(client, admin):
    units_csv = (
        "slug,name_zh,name_en,region_code,sectors,channels\n"
        'fc-zjj,涪城区住建局,Fucheng Housing Bureau,510703,construction,"[{""type"": ""email"", ""to"": [""zjj@example.org""]}]"\n'
    )
    response = client.post(
        "/api/v1/units/import", data=units_csv.encode(), headers=admin, content_type="text/csv"
    )
    assert response.status_code == 200 and response.json == {"imported": 1}
    rules_csv = "region_code,sector,unit_slug\n510703,construction,fc-zjj\n"
    assert client.post(
        "/api/v1/routing-rules/import",
        data=rules_csv.encode(),
        headers=admin,
        content_type="text/csv",
    ).json == {"imported": 1}
    bad = client.post(
        "/api/v1/units/import",
        data=b"slug,name_zh,region_code\nx,y,999999\n",
        headers=admin,
        content_type="text/csv",
    )
    assert bad.status_code == 422 and "第 2 行：slug 须为" in bad.json["error"]["message"]
    nul = client.post(  # Python's csv reads U+0000, PostgreSQL cannot store it
        "/api/v1/units/import",
        data="slug,name_zh,region_code\nx,y,510703\nz,燃\x00气,510703\n".encode(),
        headers=admin,
        content_type="text/csv",
    )
    assert nul.status_code == 422 and "第 3 行：含 NUL 字符" in nul.json["error"]["message"]
    rid = post_report(
        client,
        region_code="510703",
        photos=[make_jpeg()],
        sector="construction",
        description="塔吊倾斜",
    ).json["id"]
    act(client, rid, "triage", admin)
    forwarded = act(client, rid, "forward", admin).json
    units = {u["slug"]: u["id"] for u in client.get("/api/v1/units", headers=admin).json}
    assert forwarded["unit_id"] == units["fc-zjj"]


def test_a_units_file_without_a_column_leaves_that_field_as_it_was(client, admin):
    # A file of names only, say, must not wipe every unit's channels (and so its deliveries).
    full = (
        "slug,name_zh,name_en,region_code,sectors,channels,is_union_department\n"
        'fc-zjj,涪城区住建局,Fucheng Housing Bureau,510703,construction,"[{""type"": ""link""}]",yes\n'
    )
    renamed = "slug,name_zh,region_code\nfc-zjj,涪城区住房和城乡建设局,510703\n"
    for body in (full, renamed):
        answer = client.post(
            "/api/v1/units/import", data=body.encode(), headers=admin, content_type="text/csv"
        )
        assert answer.status_code == 200, answer.json
    unit = next(u for u in client.get("/api/v1/units", headers=admin).json if u["slug"] == "fc-zjj")
    assert unit["name_zh"] == "涪城区住房和城乡建设局"
    assert unit["name_en"] == "Fucheng Housing Bureau"
    assert unit["sectors"] == ["construction"] and unit["channels"] == [{"type": "link"}]
    assert unit["is_union_department"] is True
    cleared = "slug,name_zh,name_en,region_code\nfc-zjj,涪城区住建局,,510703\n"  # an empty cell
    client.post(
        "/api/v1/units/import", data=cleared.encode(), headers=admin, content_type="text/csv"
    )
    unit = next(u for u in client.get("/api/v1/units", headers=admin).json if u["slug"] == "fc-zjj")
    assert unit["name_en"] is None and unit["channels"] == [{"type": "link"}]


def test_deadline_columns_are_utc_aware(app, client, inspector):
    rid = post_report(client, region_code="510703", photos=[make_jpeg()]).json["id"]
    act(client, rid, "triage", inspector["headers"])
    act(client, rid, "forward", inspector["headers"])
    with app.app_context():
        report = db.session.get(Report, rid)
        assert report.acknowledge_due_at > utcnow() - timedelta(minutes=1)


def test_an_admins_rules_file_is_what_intake_uses(tmp_path):
    from pathlib import Path

    import hazard_reporter.triage as triage_package
    from tests.conftest import build_app

    shipped = Path(triage_package.__file__).parent / "rules.toml"
    # Every "other" report starts red under this admin's rules.
    text = shipped.read_text(encoding="utf-8")
    custom = tmp_path / "rules.toml"
    custom.write_text(text.replace('base = "blue"', 'base = "red"', 1), encoding="utf-8")
    assert custom.read_text(encoding="utf-8") != text, "the base level line was not found"
    app = build_app(tmp_path, TRIAGE_RULES_FILE=str(custom))
    body = post_report(
        app.test_client(),
        region_code="510703",
        photos=[make_jpeg()],
        sector="other",
        description="门口有些杂物",
    ).json
    assert body["severity"] == "red"
