"""The inspector's desk offers the moves the API had only for curl: sending a fix back (reopen),
changing the colour with a reason, forwarding to a unit of the inspector's choice, merging into
another report after confirming, and taking a rejected or merged report up again. Each is shown
only where the status allows it, and the API's refusal is shown when the server says no.

Debian's Chromium driven by Playwright, as in test_pages_desk.py (skipped without either).
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from hazard_reporter.extensions import db
from tests import test_pages_desk as desk_pages
from tests.conftest import make_user
from tests.fixtures import make_jpeg
from tests.test_pages_browser import screenshot
from tests.test_pages_desk import DESK, end_sign_ins, sign_in, unit_token

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect

browser = desk_pages.browser  # the fixtures, shared with the desk's other browser tests
open_page = desk_pages.open_page

MOVE_BOXES = (
    "act-triage",
    "act-verify",
    "reject-box",
    "outcome-form",
    "forward-box",
    "merge-form",
    "reopen-box",
    "retriage-box",
    "severity-box",
)


# --- reports in the state a test needs, made through the API --------------------------------


def new_report(client, **fields) -> int:
    """A located report in Mianyang (gas network unless told), as submitted."""
    from tests.test_reports_api import post_report

    created = post_report(client, region_code="510703", photos=[make_jpeg()], **fields)
    assert created.status_code == 201, created.json
    return created.json["id"]


def move(client, report_id: int, action: str, headers: dict, **body) -> dict:
    answer = client.post(f"/api/v1/reports/{report_id}/{action}", json=body, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def rectified_report(app, client, headers: dict) -> int:
    """A report triaged, forwarded, acknowledged and reported fixed by its unit (its link)."""
    rid = new_report(client)
    move(client, rid, "triage", headers)
    move(client, rid, "forward", headers)
    link = f"/api/v1/unit/{unit_token(app, rid)}"
    assert client.post(f"{link}/acknowledge", json={}).status_code == 200
    fixed = client.post(
        f"{link}/rectification",
        data={"note": "已更换燃气表箱门", "photos": [(io.BytesIO(make_jpeg(800, 600)), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert fixed.status_code == 200 and fixed.json["status"] == "rectified", fixed.json
    return rid


def stored(app, report_id: int) -> dict:
    """What the database holds of a report, its events' actions and data in order."""
    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.get(Report, report_id)
        facts = {
            "status": report.status,
            "severity": report.severity,
            "computed_severity": report.computed_severity,
            "override_reason": report.severity_override_reason,
            "unit_id": report.unit_id,
            "duplicate_of_id": report.duplicate_of_id,
            "independent_reports": report.independent_reports,
            "rectify_due_at": report.rectify_due_at,
            "events": [(e.action, dict(e.data or {})) for e in report.events],
        }
        db.session.remove()
    return facts


def unit_id_of(app, slug: str) -> int:
    from hazard_reporter.units.models import Unit

    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.slug == slug))
        db.session.remove()
    return unit_id


# --- the desk ----------------------------------------------------------------------------------


@pytest.fixture
def inspector(app):
    return make_user(app, "inspector", regions=["510000"], name="李检查员")


@pytest.fixture
def desk(live_server, open_page, inspector):
    """The inspector's desk, signed in, its queue answered."""
    page = open_page(DESK, mobile=False)
    page.goto(f"{live_server}/inspect")
    with page.expect_response(lambda response: "/api/v1/inspect/queue" in response.url):
        sign_in(page, inspector)
    return page


def open_report(desk, report_id: int) -> None:
    """Open a report by its number, and wait for its possible duplicates (the panel's last ask)."""
    desk.get_by_label("按编号打开").fill(str(report_id))
    with desk.expect_response(lambda response: response.url.endswith("/duplicates")):
        desk.get_by_role("button", name="打开", exact=True).click()
    expect(desk.locator("#p-id")).to_have_text(f"#{report_id}")


def shown_boxes(desk) -> set[str]:
    return {box for box in MOVE_BOXES if desk.locator(f"#{box}").is_visible()}


# --- the tests ---------------------------------------------------------------------------------


def test_the_moves_offered_follow_what_the_status_allows(app, client, desk, inspector):
    headers = inspector["headers"]
    submitted = new_report(client)
    forwarded = new_report(client)
    move(client, forwarded, "triage", headers)
    move(client, forwarded, "forward", headers)
    rectified = rectified_report(app, client, headers)
    verified = rectified_report(app, client, headers)
    move(client, verified, "verify", headers)
    rejected = new_report(client)
    move(client, rejected, "reject", headers, reason="不是安全隐患")

    expected = {
        submitted: {"act-triage", "reject-box", "merge-form", "severity-box"},
        forwarded: {"reject-box", "forward-box", "merge-form", "severity-box"},
        rectified: {"act-verify", "reopen-box", "severity-box"},
        verified: {"outcome-form", "reopen-box", "severity-box"},
        rejected: {"retriage-box", "severity-box"},
    }
    for report_id, boxes in expected.items():
        open_report(desk, report_id)
        expect(desk.locator(f"#{sorted(boxes)[0]}")).to_be_visible()
        assert shown_boxes(desk) == boxes, report_id

    # Every new word reads in English too.
    desk.get_by_role("button", name="English").click()
    expect(desk.get_by_role("button", name="Triage again")).to_be_visible()
    expect(desk.get_by_label("Why it is taken up again")).to_be_visible()
    expect(desk.get_by_label("Change the risk level to")).to_be_visible()
    expect(desk.get_by_role("button", name="Change the level")).to_be_visible()


def test_an_inspector_sends_a_fix_that_is_not_good_enough_back(
    app, client, desk, inspector, live_server, open_page
):
    rid = rectified_report(app, client, inspector["headers"])
    open_report(desk, rid)
    expect(desk.locator("#p-status")).to_have_text("已整改")

    send_back = desk.get_by_role("button", name="退回整改")
    send_back.click()  # no reason yet: said beside the actions, nothing sent
    expect(desk.locator("#action-error")).to_have_text("请填写理由。")
    assert stored(app, rid)["status"] == "rectified"

    desk.get_by_label("退回整改的理由").fill("防护门仍然无法关闭")
    send_back.click()
    expect(desk.locator("#p-status")).to_have_text("整改中")
    expect(desk.locator("#action-done")).to_have_text("已保存。")
    desk.locator("#p-timeline").scroll_into_view_if_needed()  # the panel scrolls on its own
    screenshot(desk, "desk-moves-3-sent-back")
    expect(desk.locator("#p-timeline li").last).to_contain_text("整改中")
    expect(desk.locator("#p-timeline li").last).to_contain_text("理由：防护门仍然无法关闭")
    expect(send_back).to_be_hidden()  # rectifying: nothing to send back now
    expect(desk.get_by_label("退回整改的理由")).to_have_value("")
    item = desk.locator(f"#queue .queue-item[data-report-id='{rid}']")
    expect(item).to_contain_text("整改中")  # the queue asked again

    facts = stored(app, rid)
    assert facts["status"] == "rectifying"
    action, data = facts["events"][-1]
    assert action == "status:rectifying" and data["reason"] == "防护门仍然无法关闭"
    assert facts["rectify_due_at"] is not None

    # The unit reads why its fix came back (it had seen only 整改中 again).
    unit = open_page()
    unit.goto(f"{live_server}/unit#{unit_token(app, rid)}")
    expect(unit.locator("#u-status")).to_have_text("整改中")
    expect(unit.locator("#u-timeline li").last).to_contain_text("理由：防护门仍然无法关闭")


def test_an_inspector_changes_the_colour_with_a_reason(app, client, desk):
    rid = new_report(client, sector="other", description="路面有小坑")
    assert stored(app, rid)["severity"] == "blue"
    open_report(desk, rid)
    expect(desk.get_by_label("调整为")).to_have_value("blue")  # the colour it has

    desk.get_by_label("调整为").select_option("red")
    desk.get_by_role("button", name="调整等级").click()
    expect(desk.locator("#action-error")).to_have_text("请填写理由。")

    desk.get_by_label("调整理由").fill("坑边是燃气管道，已经外露")
    desk.get_by_role("button", name="调整等级").click()
    expect(desk.locator("#p-severity")).to_have_text("红色 · 重大风险")
    expect(desk.locator("#p-severity")).to_have_class("badge sev-red")
    expect(desk.locator("#p-reasons")).to_contain_text("坑边是燃气管道，已经外露")
    expect(desk.locator("#p-timeline li").last).to_contain_text("调整了风险等级")
    expect(desk.locator("#counts .count[data-colour='red']")).to_have_text("1")
    expect(desk.locator("#counts .count[data-colour='blue']")).to_have_text("0")

    facts = stored(app, rid)
    assert facts["severity"] == "red" and facts["computed_severity"] == "blue"
    assert facts["override_reason"] == "坑边是燃气管道，已经外露"
    assert facts["events"][-1][0] == "severity_overridden"


def test_an_inspector_forwards_to_the_unit_they_choose_and_re_routes(app, client, desk, inspector):
    rid = new_report(client)
    move(client, rid, "triage", inspector["headers"])
    fire, emergency = unit_id_of(app, "my-xfzd"), unit_id_of(app, "my-yjj")
    open_report(desk, rid)
    choice = desk.get_by_label("转交至")
    expect(choice).to_have_value("")  # automatic routing unless a unit is chosen
    # "Automatic" names the unit routing picks for this gas report.
    expect(choice.locator("option").first).to_have_text("自动分派：示例燃气有限公司（演示）")
    expect(choice.locator("option")).to_have_count(7)  # automatic and the six demo units
    expect(desk.locator("#p-unit")).to_have_text("—")

    desk.get_by_label("查找单位").fill("消防")  # typing narrows the list and picks the match
    expect(choice.locator("option")).to_have_count(2)
    expect(choice).to_have_value(str(fire))
    desk.locator("#forward-box").scroll_into_view_if_needed()  # the panel scrolls on its own
    screenshot(desk, "desk-moves-1-forward-to-a-chosen-unit")
    desk.get_by_role("button", name="转交责任单位", exact=True).click()
    expect(desk.locator("#p-status")).to_have_text("已转交责任单位")
    expect(desk.locator("#p-unit")).to_have_text("绵阳市消防救援支队")
    expect(choice).to_have_value("")  # back to automatic for the next move
    expect(desk.get_by_label("查找单位")).to_have_value("")
    facts = stored(app, rid)
    assert facts["unit_id"] == fire
    assert facts["events"][-1][1]["routed_by"] == "chosen"

    # The unit that holds it cannot be chosen again (the API would refuse it); another can.
    expect(choice.locator("option", has_text="（当前）")).to_have_text("绵阳市消防救援支队（当前）")
    expect(choice.locator("option", has_text="（当前）")).to_be_disabled()
    choice.select_option(label="绵阳市应急管理局")
    desk.get_by_role("button", name="转交责任单位", exact=True).click()
    expect(desk.locator("#p-unit")).to_have_text("绵阳市应急管理局")
    expect(desk.locator("#action-error")).to_be_hidden()
    expect(desk.locator("#p-timeline li").last).to_contain_text("已改派责任单位")
    facts = stored(app, rid)
    assert facts["unit_id"] == emergency
    assert facts["events"][-1][1]["rerouted_from"] == fire


def test_merging_into_a_report_that_does_not_exist_shows_the_apis_word(app, client, desk):
    rid = new_report(client)
    open_report(desk, rid)
    desk.get_by_label("并入的报告编号").fill("999999")
    desk.get_by_role("button", name="合并为重复").click()
    expect(desk.locator("#merge-question")).to_have_text(f"将 #{rid} 作为重复上报并入 #999999？")
    desk.get_by_role("button", name="确认合并").click()
    expect(desk.locator("#action-error")).to_have_text("找不到该报告。")
    expect(desk.locator("#p-status")).to_have_text("已提交")
    expect(desk.get_by_label("并入的报告编号")).to_have_value("999999")  # to correct it
    assert stored(app, rid)["status"] == "submitted"


def test_an_inspector_merges_a_report_into_another_after_confirming(app, client, desk):
    first, second = new_report(client), new_report(client)
    open_report(desk, second)
    desk.get_by_label("并入的报告编号").fill(str(first))
    desk.get_by_role("button", name="合并为重复").click()
    desk.get_by_role("button", name="取消").click()  # thought better of it: nothing sent
    expect(desk.locator("#merge-confirm")).to_be_hidden()
    assert stored(app, second)["status"] == "submitted"

    desk.get_by_role("button", name="合并为重复").click()
    expect(desk.locator("#merge-question")).to_have_text(
        f"将 #{second} 作为重复上报并入 #{first}？"
    )
    desk.locator("#merge-confirm").scroll_into_view_if_needed()  # the panel scrolls on its own
    screenshot(desk, "desk-moves-2-merge-to-confirm")
    desk.get_by_role("button", name="确认合并").click()
    expect(desk.locator("#p-status")).to_have_text("重复上报（已合并）")
    expect(desk.locator("#merge-form")).to_be_hidden()
    expect(desk.locator("#retriage-box")).to_be_visible()
    expect(desk.locator(f"#queue .queue-item[data-report-id='{first}']")).to_have_count(1)
    expect(desk.locator(f"#queue .queue-item[data-report-id='{second}']")).to_have_count(0)
    facts = stored(app, second)
    assert facts["status"] == "duplicate" and facts["duplicate_of_id"] == first
    assert stored(app, first)["independent_reports"] == 2

    desk.get_by_role("button", name=f"已并入 #{first}").click()  # the report it went into
    expect(desk.locator("#p-id")).to_have_text(f"#{first}")
    expect(desk.locator("#p-timeline")).to_contain_text("有重复上报并入")


def test_an_inspector_takes_a_rejected_report_up_again(app, client, desk, inspector):
    rid = new_report(client)
    move(client, rid, "reject", inspector["headers"], reason="照片看不清")
    open_report(desk, rid)
    expect(desk.locator("#p-status")).to_have_text("未受理")
    desk.get_by_label("重新研判的理由").fill("上报人补充了清晰的照片")
    desk.get_by_role("button", name="重新研判").click()
    expect(desk.locator("#p-status")).to_have_text("已研判")
    expect(desk.locator("#retriage-box")).to_be_hidden()
    expect(desk.locator("#forward-box")).to_be_visible()  # next: forward it
    expect(desk.locator(f"#queue .queue-item[data-report-id='{rid}']")).to_contain_text("已研判")
    facts = stored(app, rid)
    assert facts["status"] == "triaged"
    assert facts["events"][-1] == ("status:triaged", {"reason": "上报人补充了清晰的照片"})


def test_a_move_answered_after_another_report_was_opened_leaves_that_one_on_screen(
    app, client, desk, inspector
):
    rid = rectified_report(app, client, inspector["headers"])
    other = new_report(client)
    open_report(desk, rid)
    held = []
    desk.route("**/reopen", lambda route: held.append(route))
    desk.get_by_label("退回整改的理由").fill("防护门仍然无法关闭")
    desk.get_by_role("button", name="退回整改").click()  # sent for this report…
    open_report(desk, other)  # …which the inspector leaves before the answer comes
    assert len(held) == 1
    held[0].continue_()
    expect(desk.locator(f"#queue .queue-item[data-report-id='{rid}']")).to_contain_text("整改中")
    expect(desk.locator("#p-id")).to_have_text(f"#{other}")
    expect(desk.locator("#p-status")).to_have_text("已提交")
    expect(desk.locator("#action-done")).to_be_hidden()
    assert stored(app, rid)["status"] == "rectifying"


def test_a_move_after_the_sign_in_ended_brings_the_form_back(app, client, desk, inspector):
    rid = new_report(client)
    move(client, rid, "reject", inspector["headers"], reason="照片看不清")
    open_report(desk, rid)
    end_sign_ins(app, inspector)  # it expired, or another tab signed out
    desk.get_by_label("重新研判的理由").fill("上报人补充了清晰的照片")
    desk.get_by_role("button", name="重新研判").click()
    expect(desk.locator("#signin-form")).to_be_visible()
    expect(desk.locator("#signin-error")).to_have_text("登录已过期，请重新登录。")
    assert stored(app, rid)["status"] == "rejected"


def test_a_double_click_changes_the_colour_once(app, client, desk):
    # Nothing waited for the answer: two overrides, and two messages to the unit.
    rid = new_report(client, sector="other", description="路面有小坑")
    open_report(desk, rid)
    desk.get_by_label("调整为").select_option("red")
    desk.get_by_label("调整理由").fill("坑边是燃气管道")
    desk.get_by_role("button", name="调整等级").dblclick()
    expect(desk.locator("#p-severity")).to_have_text("红色 · 重大风险")
    expect(desk.locator("#action-error")).to_be_hidden()
    overrides = [a for a, _ in stored(app, rid)["events"] if a == "severity_overridden"]
    assert overrides == ["severity_overridden"]


def test_the_same_colour_is_not_sent_as_a_change(app, client, desk):
    # It would only pin the colour: later reports merged in could no longer raise it.
    rid = new_report(client, sector="other", description="路面有小坑")
    open_report(desk, rid)
    desk.get_by_label("调整理由").fill("确认为蓝色")
    desk.get_by_role("button", name="调整等级").click()
    expect(desk.locator("#action-error")).to_have_text("风险等级未改变：请选择另一个等级。")
    assert stored(app, rid)["override_reason"] is None


def test_a_search_matching_no_unit_does_not_forward_automatically(app, client, desk, inspector):
    # "找到 0 个单位", and 转交 sent the report wherever routing chose.
    rid = new_report(client)
    move(client, rid, "triage", inspector["headers"])
    open_report(desk, rid)
    expect(desk.get_by_label("转交至").locator("option")).to_have_count(7)
    desk.get_by_label("查找单位").fill("不存在的单位")
    expect(desk.locator("#forward-unit-hint")).to_have_text(
        "没有相符的单位；清空查找框即按行业和地区自动分派。"
    )
    expect(desk.get_by_role("button", name="转交责任单位", exact=True)).to_be_disabled()
    desk.get_by_label("查找单位").fill("")
    expect(desk.get_by_role("button", name="转交责任单位", exact=True)).to_be_enabled()
    assert stored(app, rid)["status"] == "triaged"


def test_what_was_typed_for_one_report_is_not_sent_for_the_next(app, client, desk):
    # The reason typed to reject one report stayed in the field when the next was opened.
    first, second = new_report(client), new_report(client)
    open_report(desk, first)
    desk.get_by_label("不予受理的理由").fill("第一份的理由")
    desk.get_by_label("并入的报告编号").fill(str(second))
    open_report(desk, second)
    expect(desk.get_by_label("不予受理的理由")).to_have_value("")
    expect(desk.get_by_label("并入的报告编号")).to_have_value("")
    # Nor can a report be merged into itself.
    desk.get_by_label("并入的报告编号").fill(str(second))
    desk.get_by_role("button", name="合并为重复").click()
    expect(desk.locator("#action-error")).to_have_text("不能并入自身，请填写另一份报告的编号。")
    expect(desk.locator("#merge-confirm")).to_be_hidden()


def test_a_move_refused_because_the_report_moved_on_shows_it_as_it_stands(
    app, client, desk, inspector
):
    # Verified meanwhile by another inspector: the refusal said 请刷新后再操作, and the panel
    # went on offering 验收通过 for a report already verified.
    rid = rectified_report(app, client, inspector["headers"])
    open_report(desk, rid)
    expect(desk.get_by_role("button", name="验收通过")).to_be_visible()
    move(client, rid, "verify", inspector["headers"])
    desk.get_by_role("button", name="验收通过").click()
    expect(desk.locator("#action-error")).to_be_visible()
    expect(desk.locator("#p-status")).to_have_text("已验证")
    expect(desk.get_by_role("button", name="验收通过")).to_be_hidden()
    expect(desk.locator("#outcome-form")).to_be_visible()
