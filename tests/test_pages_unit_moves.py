"""The unit's page beyond 签收 and 提交整改, in a real browser: 开始整改 once the report is signed
for, and "not ours" (不归本单位，退回), which takes a reason and a second tap and sends the report
back to the inspector's queue.

Debian's Chromium driven by Playwright, with the fixtures of test_pages_desk.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from hazard_reporter.extensions import db
from tests import test_pages_desk as desk_pages
from tests.conftest import make_user
from tests.test_pages_desk import DESK, sign_in, unit_page_of_a_forwarded_report

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect
# The browser and its pages, as test_pages_desk.py opens them.
browser = desk_pages.browser
open_page = desk_pages.open_page

NOT_OURS = "不归本单位，退回"
CONFIRM = "确认退回"
REASON = "应由燃气公司负责，不归住建局"


def report_row(app, report_id: int) -> dict:
    """The report's status, unit and its status events, as the database holds them."""
    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.get(Report, report_id)
        row = {
            "status": report.status,
            "unit_id": report.unit_id,
            "moves": [
                (e.actor, e.from_status, e.to_status, dict(e.data or {}))
                for e in report.events
                if e.to_status is not None
            ],
        }
        db.session.remove()
    return row


def report_id_of(unit) -> int:
    return int(unit.locator("#u-id").inner_text())


def decline_requests(pages) -> list[str]:
    """The "not ours" calls the pages made."""
    return [url for url in pages.requests if urlsplit(url).path.endswith("/decline")]


def test_a_unit_starts_the_work_once_it_has_signed_for_the_report(app, live_server, open_page):
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(unit)
    start = unit.get_by_role("button", name="开始整改", exact=True)
    expect(start).to_be_hidden()  # forwarded → rectifying is not a move: sign for it first
    unit.get_by_role("button", name="签收", exact=True).click()
    expect(unit.locator("#u-status")).to_have_text("责任单位已签收")

    start.click()
    expect(unit.locator("#u-status")).to_have_text("整改中")
    expect(unit.locator("#action-error")).to_be_hidden()
    expect(start).to_be_hidden()  # done once
    expect(unit.locator("#u-timeline")).to_contain_text("整改中")
    # The fix can still be reported; a unit at work can no longer say "not ours".
    expect(unit.get_by_role("button", name="提交整改")).to_be_visible()
    expect(unit.get_by_role("button", name=NOT_OURS)).to_be_hidden()

    row = report_row(app, rid)
    assert row["status"] == "rectifying"
    actor, before, after, _ = row["moves"][-1]
    assert (before, after) == ("acknowledged", "rectifying")
    assert actor == f"unit:{row['unit_id']}"

    unit.reload()  # the status is the server's, not only the page's
    expect(unit.locator("#u-status")).to_have_text("整改中")
    expect(start).to_be_hidden()


def test_a_unit_sends_a_report_not_its_own_back_to_the_inspector(app, live_server, open_page):
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(unit)
    unit_id = report_row(app, rid)["unit_id"]

    # The first tap only opens the form, which says what follows.
    unit.get_by_role("button", name=NOT_OURS).click()
    reason = unit.get_by_label("退回理由")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    expect(unit.locator("#decline-warning")).to_contain_text("退回工会检查员")
    # A reason is required, and nothing is sent without one.
    unit.get_by_role("button", name=CONFIRM).click()
    expect(unit.locator("#decline-error")).to_have_text("请填写理由。")
    assert decline_requests(open_page) == []
    assert report_row(app, rid)["status"] == "forwarded"

    reason.fill(REASON)
    unit.get_by_role("button", name=CONFIRM).click()
    expect(unit.locator("#u-status")).to_have_text("已退回工会检查员")
    expect(unit.locator("#unit-declined")).to_contain_text("已退回工会检查员")
    expect(unit.locator("#u-timeline")).to_contain_text("责任单位退回（不归其负责）")
    for name in ("签收", "开始整改", "提交整改", NOT_OURS, CONFIRM):
        expect(unit.get_by_role("button", name=name, exact=True)).to_have_count(0)
    assert len(decline_requests(open_page)) == 1

    row = report_row(app, rid)
    assert row["status"] == "triaged" and row["unit_id"] is None
    actor, before, after, data = row["moves"][-1]
    assert (actor, before, after) == (f"unit:{unit_id}", "forwarded", "triaged")
    assert data == {"reason": REASON, "declined_by_unit": unit_id}

    # The link no longer works: the report is no longer the unit's.
    unit.reload()
    expect(unit.locator("#unit-error")).to_have_text("链接无效或已过期。")
    expect(unit.locator("#unit-report")).to_be_hidden()

    # The inspector finds it in the queue again, to forward it to the right unit.
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    sign_in(desk, inspector)
    desk.get_by_label("状态", exact=True).select_option("triaged")
    item = desk.locator(f"#queue .queue-item[data-report-id='{rid}']")
    expect(item).to_contain_text("已研判")


def test_a_unit_can_say_not_ours_after_signing_for_the_report(app, live_server, open_page):
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(unit)
    unit.get_by_role("button", name="签收", exact=True).click()
    expect(unit.locator("#u-status")).to_have_text("责任单位已签收")

    unit.get_by_role("button", name=NOT_OURS).click()
    unit.get_by_label("退回理由").fill(REASON)
    unit.get_by_role("button", name=CONFIRM).click()
    expect(unit.locator("#u-status")).to_have_text("已退回工会检查员")
    expect(unit.get_by_role("button", name="开始整改", exact=True)).to_have_count(0)
    row = report_row(app, rid)
    assert row["status"] == "triaged" and row["unit_id"] is None
    assert row["moves"][-1][1:3] == ("acknowledged", "triaged")


def test_cancelling_not_ours_leaves_the_report_with_the_unit(app, live_server, open_page):
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(unit)
    before = report_row(app, rid)

    toggle = unit.get_by_role("button", name=NOT_OURS)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    unit.get_by_label("退回理由").fill(REASON)
    unit.get_by_role("button", name="取消", exact=True).click()
    expect(unit.get_by_role("button", name=CONFIRM)).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(unit.locator("#u-status")).to_have_text("已转交责任单位")
    expect(unit.get_by_role("button", name="签收", exact=True)).to_be_visible()
    assert decline_requests(open_page) == []
    assert report_row(app, rid) == before

    toggle.click()  # opened again, the form has forgotten the reason
    expect(unit.get_by_label("退回理由")).to_have_value("")


def test_not_ours_is_refused_once_another_clerk_has_started_the_work(app, live_server, open_page):
    # Two clerks of the unit have the link open. One starts the work; the other, whose page was
    # drawn before, then says "not ours": the server refuses, and the page shows why.
    first = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(first)
    first.get_by_role("button", name="签收", exact=True).click()
    expect(first.locator("#u-status")).to_have_text("责任单位已签收")
    second = open_page()
    second.goto(first.url)
    expect(second.locator("#u-status")).to_have_text("责任单位已签收")

    first.get_by_role("button", name="开始整改", exact=True).click()
    expect(first.locator("#u-status")).to_have_text("整改中")

    second.get_by_role("button", name=NOT_OURS).click()
    second.get_by_label("退回理由").fill(REASON)
    second.get_by_role("button", name=CONFIRM).click()
    refusal = second.locator("#action-error")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("整改中")  # the server's own message, naming the status
    expect(refusal).to_contain_text("请联系工会检查员")
    # The page now shows the report as it stands: being fixed, no "not ours" any more.
    expect(second.locator("#u-status")).to_have_text("整改中")
    expect(second.locator("#decline-section")).to_be_hidden()
    expect(second.locator("#unit-declined")).to_be_hidden()

    row = report_row(app, rid)
    assert row["status"] == "rectifying" and row["unit_id"] is not None
    assert row["moves"][-1][1:3] == ("acknowledged", "rectifying")  # not declined


def test_a_double_tap_signs_for_the_report_once(app, live_server, open_page):
    # The button did not wait for its answer: the second tap was refused beside the first's
    # "saved", both on screen.
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    rid = report_id_of(unit)
    sent = []
    unit.on(
        "request",
        lambda request: sent.append(request.url) if request.url.endswith("/acknowledge") else None,
    )
    unit.get_by_role("button", name="签收", exact=True).dblclick()
    expect(unit.locator("#u-status")).to_have_text("责任单位已签收")
    expect(unit.locator("#action-error")).to_be_hidden()
    assert len(sent) == 1
    moves = [m[1:3] for m in report_row(app, rid)["moves"]]
    assert moves.count(("forwarded", "acknowledged")) == 1


def test_the_new_controls_read_in_english(app, live_server, open_page):
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    unit.get_by_role("button", name="English").click()
    unit.get_by_role("button", name="Not ours: send it back").click()
    expect(unit.get_by_label("Why it is not yours")).to_be_visible()
    expect(unit.locator("#decline-warning")).to_contain_text("goes back to the union inspector")
    expect(unit.get_by_role("button", name="Confirm sending it back")).to_be_visible()
    unit.get_by_role("button", name="Cancel", exact=True).click()
    unit.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(unit.locator("#u-status")).to_have_text("Acknowledged by the unit")
    unit.get_by_role("button", name="Start the work").click()
    expect(unit.locator("#u-status")).to_have_text("Being fixed")
