"""The desk pages in a real browser: a worker reports on /report, an inspector works it on
/inspect (queue, SVG map, panel), the unit fixes it through its link on /unit, the inspector
verifies it, and the committee finds the reporter on /committee and downloads the XLSX.

Debian's Chromium driven by Playwright, as in test_pages_browser.py (skipped without either).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hazard_reporter.extensions import db
from tests.conftest import PASSWORD, make_user
from tests.fixtures import make_jpeg
from tests.test_pages_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MIANYANG,
    PHONE,
    WAIT_MS,
    assert_same_origin,
    fill_report,
    screenshot,
)

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
openpyxl = pytest.importorskip("openpyxl")
expect = sync_api.expect
DESK = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """Pages in their own contexts (their own cookies), all recording into one request list."""
    contexts = []
    requests: list[str] = []

    def open_page(viewport=PHONE, *, mobile=True, **options):
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=2 if mobile else 1,
            is_mobile=mobile,
            has_touch=mobile,
            locale="zh-CN",
            **{"timezone_id": "Asia/Shanghai", **options},
        )
        context.set_default_timeout(WAIT_MS)
        context.on("request", lambda request: requests.append(request.url))
        contexts.append(context)
        return context.new_page()

    open_page.requests = requests
    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, person) -> None:
    page.get_by_label("手机号").fill(person["phone"])
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator("#signin-form")).to_be_hidden()


def unit_token(app, report_id: int) -> str:
    from hazard_reporter.deliveries.models import Delivery

    with app.app_context():
        delivery = db.session.scalar(
            select(Delivery).where(
                Delivery.report_id == report_id, Delivery.kind == "report.forwarded"
            )
        )
        link = delivery.payload["unit_link"]
        db.session.remove()
    parts = urlsplit(link)
    assert parts.path == "/unit" and parts.fragment  # the page, the token out of the server's logs
    return parts.fragment


# What triage makes of a located report, by the colour it gives it.
COLOURED = {"red": ("gas_network", "燃气泄漏"), "blue": ("other", "路面有小坑")}


def post_coloured(client, colour: str, count: int) -> None:
    """Post ``count`` located reports that triage makes ``colour``."""
    from tests.test_reports_api import MIANYANG, post_report

    sector, description = COLOURED[colour]
    photo = make_jpeg(320, 240, gps=MIANYANG)
    for _ in range(count):
        created = post_report(
            client, region_code="510703", photos=[photo], sector=sector, description=description
        )
        assert created.status_code == 201 and created.json["severity"] == colour, created.json


def test_report_to_award_through_the_desk_pages(app, live_server, open_page, tmp_path):
    client = app.test_client()
    inspector = make_user(app, "inspector", regions=["510000"])
    committee = make_user(app, "committee")
    worker_phone = "13800138000"
    signup = client.post(
        "/api/v1/auth/signup",
        json={"phone": worker_phone, "password": PASSWORD, "name": "王师傅"},
    )
    assert signup.status_code in (200, 201), signup.json
    worker_headers = {"Authorization": f"Bearer {signup.json['access_token']}"}
    me = client.patch("/api/v1/auth/me", json={"consent_named": True}, headers=worker_headers)
    assert me.status_code == 200, me.json

    # 1. The worker reports a photo from the phone page (anonymously), then claims it.
    photo = tmp_path / "guardrail.jpg"
    photo.write_bytes(
        make_jpeg(
            1200, 900, gps=(MIANYANG["latitude"], MIANYANG["longitude"]), make="HUAWEI", model="P60"
        )
    )
    worker = open_page(geolocation=MIANYANG, permissions=["geolocation"])
    worker.goto(f"{live_server}/report")
    expect(worker.locator("#loc-lat")).to_have_text("31.467500")
    fill_report(worker, [str(photo)], sector="construction", description="脚手架缺少防护栏杆")
    worker.get_by_role("button", name="发送").click()
    sent = worker.locator("#sent-list .sent-report")
    expect(sent).to_have_count(1)
    report_id = int(sent.get_attribute("data-report-id"))
    token = sent.locator(".token").inner_text()
    screenshot(worker, "desk-1-worker-sent")
    claimed = client.post(
        f"/api/v1/reports/{report_id}/claim",
        headers={**worker_headers, "X-Followup-Token": token},
    )
    assert claimed.status_code == 200, claimed.json

    # 2. The inspector signs in, finds it in the queue and on the map, triages and forwards it.
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    sign_in(desk, inspector)
    item = desk.locator(f"#queue .queue-item[data-report-id='{report_id}']")
    expect(item).to_have_count(1)
    dot = desk.locator(f"#map svg circle.map-dot[data-report-id='{report_id}']")
    expect(dot).to_have_count(1)
    severity = dot.get_attribute("data-severity")
    assert severity in {"red", "orange", "yellow", "blue"}
    expect(desk.locator(f"#counts .count[data-colour='{severity}']")).to_have_text("1")
    dot.click()  # the map opens the report's panel
    expect(desk.locator("#p-id")).to_have_text(f"#{report_id}")
    expect(desk.locator("#p-photos img").first).to_be_visible()
    expect(desk.locator("#p-location")).to_contain_text("31.467500, 104.679600")
    expect(desk.locator("#p-reasons li").first).not_to_be_empty()
    expect(desk.locator("#p-timeline li")).to_have_count(2)  # submitted, claimed
    expect(desk.locator("#p-timeline")).to_contain_text("已认领到账号")
    expect(desk.locator("#p-duplicates-none")).to_be_visible()
    screenshot(desk, "desk-2-inspector-panel")
    desk.get_by_role("button", name="确认研判").click()
    expect(desk.locator("#p-status")).to_have_text("已研判")
    desk.get_by_role("button", name="转交责任单位").click()
    expect(desk.locator("#p-status")).to_have_text("已转交责任单位")
    # Verifying waits for the unit's fix: not offered yet.
    expect(desk.get_by_role("button", name="验收通过")).to_be_hidden()
    # The unit has no channel: the inspector gets its link to pass on by phone.
    desk.get_by_role("button", name="获取单位链接").click()
    expect(desk.locator("#unit-link-hint")).to_contain_text("天内有效")
    token = urlsplit(desk.locator("#unit-link").input_value()).fragment  # the unit's page opens
    screenshot(desk, "desk-3-inspector-forwarded")

    # 3. The unit opens the link it was given, acknowledges, and reports the rectification.
    unit = open_page()
    unit.goto(f"{live_server}/unit#{token}")
    expect(unit.locator("#u-status")).to_have_text("已转交责任单位")
    expect(unit.locator("#u-photos img").first).to_be_visible()
    unit.get_by_role("button", name="签收").click()
    expect(unit.locator("#u-status")).to_have_text("责任单位已签收")
    after = tmp_path / "after.jpg"
    after.write_bytes(make_jpeg(800, 600, color=(40, 160, 60)))
    unit.get_by_label("整改说明").fill("已加装防护栏杆")
    unit.set_input_files("#rectify-photos", [str(after)])
    unit.get_by_role("button", name="提交整改").click()
    expect(unit.locator("#u-status")).to_have_text("已整改")
    expect(unit.locator("#u-after-photos img")).to_have_count(1)
    screenshot(unit, "desk-4-unit-rectified")

    # 4. The inspector verifies it and records a prevented accident.
    desk.reload()  # the sign-in survives in this tab
    item = desk.locator(f"#queue .queue-item[data-report-id='{report_id}']")
    expect(item).to_contain_text("已整改")
    item.locator("button").click()
    expect(desk.locator("#p-after-photos img")).to_have_count(1)
    desk.get_by_role("button", name="验收通过").click()
    expect(desk.locator("#p-status")).to_have_text("已验证")
    desk.get_by_label("隐患认定").select_option("major")
    desk.get_by_label("避免了事故").check()
    desk.get_by_label("经过说明").fill("避免了高处坠落")
    desk.get_by_role("button", name="保存结果").click()
    expect(desk.locator("#p-outcome")).to_contain_text("避免了事故")
    desk.get_by_label("表彰级别").select_option("special")
    desk.get_by_label("推荐理由").fill("及时发现脚手架隐患，避免了高处坠落")
    desk.get_by_role("button", name="提交推荐").click()
    expect(desk.locator("#propose-msg")).to_contain_text("已提交推荐")  # beside its button
    screenshot(desk, "desk-5-inspector-verified")

    # 5. The committee finds the reporter in the year's list and downloads the XLSX.
    board = open_page(DESK, mobile=False, accept_downloads=True)
    board.goto(f"{live_server}/committee")
    sign_in(board, committee)
    row = board.locator("#awards-body tr", has_text="王师傅")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"#{report_id}")
    expect(board.locator("#export-xlsx")).to_have_attribute(
        "href", "/api/v1/awards/export.xlsx?period=year"
    )
    screenshot(board, "desk-6-committee")
    # the inspector's proposal, granted
    expect(board.locator("#proposals li")).to_contain_text(f"#{report_id}")
    board.locator("#proposals li button").click()
    expect(board.locator("#proposals-empty")).to_be_visible()
    expect(row.locator("td").nth(6)).to_have_text("特别贡献")
    with board.expect_download() as info:
        board.get_by_role("link", name="导出 Excel").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    values = [
        [cell for cell in line if cell is not None]
        for sheet in book.worksheets
        for line in sheet.iter_rows(values_only=True)
    ]
    book.close()
    mine = [line for line in values if "王师傅" in line]
    assert len(mine) == 1, values
    assert any(str(report_id) in str(cell) for cell in mine[0])

    # English on request, and nothing left the app's origin.
    board.get_by_role("button", name="English").click()
    expect(board.get_by_role("link", name="Export Excel")).to_be_visible()
    assert_same_origin(open_page.requests, live_server)


def test_the_committee_pages_through_a_long_list(app, live_server, open_page):
    # 130 reporters with a verified hazard each: more than one page (100) of the list.
    from hazard_reporter.accounts.models import User
    from hazard_reporter.core.db import utcnow
    from hazard_reporter.reports.models import Report

    committee = make_user(app, "committee")
    with app.app_context():
        people = [
            User(phone=f"1372468{i:04d}", password_hash="-", name=f"职工{i}", consent_named=True)
            for i in range(130)
        ]
        db.session.add_all(people)
        db.session.flush()
        db.session.add_all(
            Report(
                sector="construction",
                description="脚手架缺少护栏",
                status="verified",
                severity="red" if i < 5 else "blue",
                location_source="device",
                region_code="510703",
                submitted_at=utcnow(),
                anonymous=False,
                reporter_id=person.id,
                request_fingerprint="x",
            )
            for i, person in enumerate(people)
        )
        db.session.commit()
        db.session.remove()

    board = open_page(DESK, mobile=False)
    board.goto(f"{live_server}/committee")
    sign_in(board, committee)
    rows = board.locator("#awards-body tr")
    expect(rows).to_have_count(100)
    expect(board.locator("#awards-shown")).to_have_text("共 130 名上报人，已显示 100 名")

    board.get_by_role("button", name="加载更多").click()

    expect(rows).to_have_count(130)
    expect(board.locator("#awards-shown")).to_have_text("共 130 名上报人，已显示 130 名")
    expect(board.get_by_role("button", name="加载更多")).to_be_hidden()
    ranks = [
        int(text) for text in board.locator("#awards-body tr td:first-child").all_text_contents()
    ]
    assert ranks == sorted(ranks) and ranks[0] == 1 and ranks[-1] == 6  # 5 reds, then 125 tied


def test_a_second_tab_takes_up_the_sign_in_and_can_sign_in_again(app, live_server, open_page):
    # The sign-in cookie lasts hours across tabs; the CSRF token was kept per tab. A new tab
    # showed the sign-in form, and signing in there failed the CSRF check, again and again.
    inspector = make_user(app, "inspector", regions=["510000"])
    first = open_page()
    first.goto(f"{live_server}/inspect")
    sign_in(first, inspector)
    second = first.context.new_page()  # the same browser: the same cookie, a new tab
    second.goto(f"{live_server}/inspect")
    expect(second.locator("#workspace")).to_be_visible()
    expect(second.locator("#signin-form")).to_be_hidden()
    second.get_by_role("button", name="退出").click()  # signed out in that tab…
    expect(second.locator("#signin-form")).to_be_visible()
    first.reload()  # …and so everywhere
    expect(first.locator("#signin-form")).to_be_visible()
    sign_in(first, inspector)
    expect(first.locator("#workspace")).to_be_visible()


def test_the_queue_pages_past_its_first_hundred(app, live_server, open_page):
    # A province's queue holds hundreds: the desk showed the first 100 of them and no more.
    from tests.test_reports_api import MIANYANG, post_report

    client = app.test_client()
    photo = make_jpeg(320, 240, gps=MIANYANG)
    for _ in range(130):
        assert post_report(client, region_code="510703", photos=[photo]).status_code == 201
    inspector = make_user(app, "inspector", regions=["510000"])
    page = open_page()
    page.goto(f"{live_server}/inspect")
    sign_in(page, inspector)
    items = page.locator("#queue .queue-item")
    expect(items).to_have_count(100)
    expect(page.locator("#queue-shown")).to_have_text("已显示 100 条，共 130 条")
    dots = page.locator("#map svg circle.map-dot")
    expect(dots).to_have_count(100)  # the map shows what the queue lists
    page.get_by_role("button", name="加载更多").click()
    expect(items).to_have_count(130)
    expect(dots).to_have_count(130)
    expect(page.locator("#queue-more")).to_be_hidden()
    ids = items.evaluate_all("els => els.map(e => e.dataset.reportId)")
    assert len(set(ids)) == 130  # nothing shown twice


def test_the_queue_under_a_colour_filter_totals_that_colour(app, live_server, open_page):
    # The counts are per colour whatever the colour filter, and the line under the queue added
    # them all up: 2 red reports of 5 read "2 shown of 5" under the red filter.
    client = app.test_client()
    post_coloured(client, "red", 2)
    post_coloured(client, "blue", 3)
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    sign_in(desk, inspector)
    expect(desk.locator("#queue-shown")).to_have_text("已显示 5 条，共 5 条")
    desk.get_by_label("风险等级").select_option("red")
    expect(desk.locator("#queue .queue-item")).to_have_count(2)
    expect(desk.locator("#queue-shown")).to_have_text("已显示 2 条，共 2 条")


def test_load_more_asks_with_the_filters_of_the_page_shown(app, live_server, open_page):
    # "Load more" asked with the filters last chosen, not those of the page on screen: when the
    # queue could not be asked again after a filter change (the network gone for a moment), the
    # red page kept showing and "load more" appended the next page of all colours to it.
    client = app.test_client()
    post_coloured(client, "red", 101)
    post_coloured(client, "blue", 3)
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    sign_in(desk, inspector)
    desk.get_by_label("风险等级").select_option("red")
    expect(desk.locator("#queue-shown")).to_have_text("已显示 100 条，共 101 条")
    desk.route("**/api/v1/inspect/queue?limit=100", lambda route: route.abort())
    desk.get_by_label("风险等级").select_option("")  # all colours: that question fails
    expect(desk.locator("#queue-error")).to_be_visible()
    desk.unroute("**/api/v1/inspect/queue?limit=100")
    desk.get_by_role("button", name="加载更多").click()
    expect(desk.locator("#queue-more")).to_be_hidden()
    colours = desk.locator("#queue .queue-item").evaluate_all(
        "items => items.map(item => item.querySelector('.badge').classList[1])"
    )
    assert colours == ["sev-red"] * 101


def unit_page_of_a_forwarded_report(app, live_server, open_page):
    """A report triaged and forwarded, and its unit's page opened through the unit's link."""
    from tests.test_reports_api import post_report

    client = app.test_client()
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    rid = post_report(client, region_code="510703", photos=[make_jpeg()]).json["id"]
    for action in ("triage", "forward"):
        answer = client.post(f"/api/v1/reports/{rid}/{action}", json={}, headers=inspector)
        assert answer.status_code == 200, answer.json
    unit = open_page()
    unit.goto(f"{live_server}/unit#{unit_token(app, rid)}")
    expect(unit.locator("#u-status")).to_have_text("已转交责任单位")
    return unit


def test_a_unit_reports_its_fix_without_signing_for_it_first(app, live_server, open_page, tmp_path):
    # The rectification form shows as soon as the report is the unit's; sent before 签收 it was
    # refused (409), after the photos had gone up. The page now signs for the report first.
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    after = tmp_path / "after.jpg"
    after.write_bytes(make_jpeg(800, 600, color=(40, 160, 60)))
    unit.get_by_label("整改说明").fill("已清理堵塞的安全出口")
    unit.set_input_files("#rectify-photos", [str(after)])
    unit.get_by_role("button", name="提交整改").click()
    expect(unit.locator("#u-status")).to_have_text("已整改")
    expect(unit.locator("#action-error")).to_be_hidden()


def test_a_fix_refused_after_signing_for_the_report_is_sent_again_without_signing(
    app, live_server, open_page, tmp_path
):
    # Sending the fix signs for the report first; the page did not draw that, so when the fix
    # itself was refused (a GIF photo: 415) it still showed the report unsigned, and sending the
    # fix again signed again, which the server refuses (409): the fix could not be sent at all.
    from PIL import Image

    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    gif = tmp_path / "after.gif"
    Image.new("RGB", (64, 48), (40, 160, 60)).save(gif)  # not an accepted format
    unit.get_by_label("整改说明").fill("已清理堵塞的安全出口")
    unit.set_input_files("#rectify-photos", [str(gif)])
    unit.get_by_role("button", name="提交整改").click()
    expect(unit.locator("#action-error")).to_be_visible()
    expect(unit.locator("#u-status")).to_have_text("责任单位已签收")
    expect(unit.get_by_role("button", name="签收")).to_be_hidden()

    after = tmp_path / "after.jpg"
    after.write_bytes(make_jpeg(800, 600, color=(40, 160, 60)))
    unit.set_input_files("#rectify-photos", [str(after)])
    unit.get_by_role("button", name="提交整改").click()
    expect(unit.locator("#u-status")).to_have_text("已整改")
    expect(unit.locator("#action-error")).to_be_hidden()


def test_deadlines_read_in_beijing_time_wherever_the_browser_is(app, live_server, open_page):
    # A unit's deadline showed in the browser's own zone, with nothing to say which.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.test_reports_api import post_report

    client = app.test_client()
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    rid = post_report(client, region_code="510703", photos=[make_jpeg()]).json["id"]
    for action in ("triage", "forward"):
        client.post(f"/api/v1/reports/{rid}/{action}", json={}, headers=inspector)
    due = client.get(f"/api/v1/reports/{rid}", headers=inspector).json["deadlines"]
    beijing = datetime.fromisoformat(due["acknowledge_due_at"]).astimezone(
        ZoneInfo("Asia/Shanghai")
    )
    shown = []
    for zone in ("Asia/Shanghai", "Europe/London"):
        unit = open_page(timezone_id=zone)
        unit.goto(f"{live_server}/unit#{unit_token(app, rid)}")
        expect(unit.locator("#u-status")).to_have_text("已转交责任单位")
        shown.append(unit.locator("#u-ack-due").inner_text())
    assert shown[0] == shown[1]
    assert f"{beijing.hour:02d}:{beijing.minute:02d}" in shown[0]


def verified_report(reporter_id: int, submitted_at, description: str = "地下室食堂有燃气味"):
    """A verified red hazard of ``reporter_id``, as a row (the caller adds it)."""
    from hazard_reporter.reports.models import Report

    return Report(
        sector="gas_network",
        description=description,
        status="verified",
        severity="red",
        location_source="device",
        region_code="510703",
        submitted_at=submitted_at,
        anonymous=False,
        reporter_id=reporter_id,
        request_fingerprint="x",
    )


def verified_hazards(app, people: dict[str, str], submitted_at=None) -> dict[str, int]:
    """A verified hazard (red) for each named reporter, who agreed to be named: its report id."""
    from hazard_reporter.accounts.models import User
    from hazard_reporter.core.db import utcnow

    ids = {}
    with app.app_context():
        for name, phone in people.items():
            user = User(phone=phone, password_hash="-", name=name, consent_named=True)
            db.session.add(user)
            db.session.flush()
            report = verified_report(user.id, submitted_at or utcnow())
            db.session.add(report)
            db.session.flush()
            ids[name] = report.id
        db.session.commit()
        db.session.remove()
    return ids


def test_the_committee_grants_commendations_from_its_page(app, live_server, open_page):
    # Commendations could only be granted through the API: the page listed the ranked reporters
    # with nothing to commend them with, and the inspectors' proposals were nowhere to be seen.
    from hazard_reporter.reports.models import Report

    inspector = make_user(app, "inspector", regions=["510000"])
    committee = make_user(app, "committee")
    hazards = verified_hazards(
        app, {"王师傅": "13724680001", "李师傅": "13724680002", "赵师傅": "13724680003"}
    )
    client = app.test_client()
    proposals = {}
    for name in ("李师傅", "赵师傅"):
        with app.app_context():
            reporter_id = db.session.get(Report, hazards[name]).reporter_id
        proposed = client.post(
            "/api/v1/commendations",
            headers=inspector["headers"],
            json={
                "reporter_id": reporter_id,
                "report_ids": [hazards[name]],
                "level": "timely_praise",
                "reason": "及时发现燃气泄漏",
            },
        )
        assert proposed.status_code == 201, proposed.json
        proposals[name] = proposed.json["id"]
    with app.app_context():  # 赵's hazard is found not fixed after the proposal
        db.session.get(Report, hazards["赵师傅"]).status = "rectifying"
        db.session.commit()
        db.session.remove()

    board = open_page(DESK, mobile=False)
    board.goto(f"{live_server}/committee")
    sign_in(board, committee)
    expect(board.locator("#proposals li")).to_have_count(2)
    expect(board.locator("#export-certificates")).to_have_attribute(
        "href", "/api/v1/awards/certificates.pdf?period=year"
    )

    wang = board.locator("#awards-body tr", has_text="王师傅")
    board.get_by_role("button", name="表彰 王师傅").click()
    expect(board.locator("#commend-who")).to_have_text(f"王师傅：依据报告 #{hazards['王师傅']}")
    board.get_by_label("表彰级别").select_option("special")
    board.get_by_role("button", name="确认授予").click()
    expect(board.locator("#commend-error")).to_have_text("请填写理由。")
    board.get_by_label("表彰理由").fill("发现地下室燃气泄漏，避免了爆炸")
    board.get_by_role("button", name="确认授予").click()
    expect(board.locator("#commend-done")).to_have_text("已授予王师傅“特别贡献”。")
    expect(board.locator("#commend-form")).to_be_hidden()
    expect(wang.locator("td").nth(6)).to_have_text("特别贡献")

    board.get_by_role("button", name=f"授予第 {proposals['李师傅']} 号表彰").click()
    expect(board.locator("#commend-done")).to_have_text(f"已授予第 {proposals['李师傅']} 号表彰。")
    expect(board.locator("#proposals li")).to_have_count(1)
    li_row = board.locator("#awards-body tr", has_text="李师傅")
    expect(li_row.locator("td").nth(6)).to_have_text("及时表扬")

    # 赵's proposal no longer stands: refused with the reason, and still waiting
    board.get_by_role("button", name=f"授予第 {proposals['赵师傅']} 号表彰").click()
    expect(board.locator("#proposals-error")).to_contain_text("已不再记在该职工名下")
    expect(board.locator("#proposals li")).to_have_count(1)

    board.get_by_role("button", name="English").click()
    expect(wang.locator("td").nth(6)).to_have_text("Special contribution")
    expect(board.locator("#proposals li")).to_contain_text("Timely praise")
    expect(board.locator("#commend-done")).to_have_text(
        f"Commendation no. {proposals['李师傅']} granted."
    )
    screenshot(board, "desk-7-commendations")


def test_a_past_campaign_lists_its_own_reporters_and_a_report_opens_by_its_number(
    app, live_server, open_page
):
    # The page sent the period with the campaign, so a campaign of another year was clipped to
    # this one: nothing listed, its range backwards (2026-01-01 至 2025-06-30).
    from datetime import UTC, date, datetime

    from hazard_reporter.awards.models import Campaign

    hazards = verified_hazards(
        app, {"孙师傅": "13724680011"}, submitted_at=datetime(2025, 6, 10, 2, 0, tzinfo=UTC)
    )
    with app.app_context():
        db.session.add(
            Campaign(name="2025安全生产月", starts_on=date(2025, 6, 1), ends_on=date(2025, 6, 30))
        )
        db.session.commit()
        db.session.remove()
    committee = make_user(app, "committee")
    board = open_page(DESK, mobile=False)
    board.goto(f"{live_server}/committee")
    sign_in(board, committee)
    board.get_by_label("活动").select_option(label="2025安全生产月（2025-06-01 – 2025-06-30）")
    expect(board.locator("#a-range")).to_have_text("2025-06-01 至 2025-06-30")
    expect(board.locator("#awards-body tr", has_text="孙师傅")).to_have_count(1)
    expect(board.locator("#a-period")).to_be_disabled()
    expect(board.locator("#export-certificates")).to_have_attribute(
        "href", "/api/v1/awards/certificates.pdf?campaign=1"
    )

    # 推荐表彰 needs the verified report open; the queue lists open reports only.
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    sign_in(desk, inspector)
    desk.get_by_label("按编号打开").fill(str(hazards["孙师傅"]))
    desk.get_by_role("button", name="打开", exact=True).click()
    expect(desk.locator("#p-id")).to_have_text(f"#{hazards['孙师傅']}")
    expect(desk.locator("#propose-form")).to_be_visible()


def test_more_than_six_after_photos_are_refused_with_a_word_not_cut(
    app, live_server, open_page, tmp_path
):
    # The seventh photo on was dropped without a word: the fix went in with six.
    unit = unit_page_of_a_forwarded_report(app, live_server, open_page)
    photos = []
    for n in range(7):
        path = tmp_path / f"after-{n}.jpg"
        path.write_bytes(make_jpeg(320, 240, color=(40, 20 * n, 60)))
        photos.append(str(path))
    unit.get_by_label("整改说明").fill("已清理堵塞的安全出口")
    unit.set_input_files("#rectify-photos", photos)
    unit.get_by_role("button", name="提交整改").click()
    expect(unit.locator("#action-error")).to_have_text(
        "最多 6 张整改后照片，已选 7 张：请重新选择。"
    )
    expect(unit.locator("#u-status")).to_have_text("已转交责任单位")  # nothing was sent


def test_a_row_commends_the_hazards_ticked(app, live_server, open_page):
    # A row commended all its hazards at once: one of them already praised at that level
    # refused the whole row, and a reporter's new hazard could not be praised again.
    from hazard_reporter.reports.models import Report

    first = verified_hazards(app, {"周师傅": "13724680021"})["周师傅"]
    with app.app_context():
        old = db.session.get(Report, first)
        second = verified_report(old.reporter_id, old.submitted_at, "食堂燃气软管老化")
        db.session.add(second)
        db.session.commit()
        second_id, reporter_id = second.id, old.reporter_id
        db.session.remove()
    committee = make_user(app, "committee")
    praised = app.test_client().post(
        "/api/v1/commendations",
        headers=committee["headers"],
        json={
            "reporter_id": reporter_id,
            "report_ids": [first],
            "level": "timely_praise",
            "reason": "r",
        },
    )
    assert praised.status_code == 201, praised.json

    board = open_page(DESK, mobile=False)
    board.goto(f"{live_server}/committee")
    sign_in(board, committee)
    board.get_by_role("button", name="表彰 周师傅").click()
    expect(board.locator("#commend-reports input")).to_have_count(2)
    board.get_by_label(f"#{first}").uncheck()
    board.get_by_label("表彰理由").fill("又发现燃气软管老化")
    board.get_by_role("button", name="确认授予").click()
    expect(board.locator("#commend-done")).to_have_text("已授予周师傅“及时表扬”。")
    with app.app_context():
        from hazard_reporter.awards.models import Commendation

        granted = [c.report_ids for c in db.session.query(Commendation).order_by(Commendation.id)]
        db.session.remove()
    assert granted == [[first], [second_id]]


def end_sign_ins(app, person) -> None:
    """End every sign-in of ``person`` on the server (clearing the browser's cookie would race
    the answers still coming, each of which sets the session's cookie again)."""
    from hazard_reporter.accounts.models import AuthSession
    from hazard_reporter.core.db import utcnow

    with app.app_context():
        for auth in db.session.query(AuthSession).filter_by(user_id=person["id"]):
            auth.revoked_at = utcnow()
        db.session.commit()
        db.session.remove()


def test_a_sign_in_that_ended_brings_the_form_back(app, live_server, open_page):
    # An expired sign-in left the desk on screen, each action answering 请先登录, and no form.
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    desk.goto(f"{live_server}/inspect")
    # The queue the sign-in asks for is answered first: a 401 to it would bring the form back
    # before the click below could be made.
    with desk.expect_response(lambda response: "/api/v1/inspect/queue" in response.url):
        sign_in(desk, inspector)
    end_sign_ins(app, inspector)  # it expired, or another tab signed out
    desk.get_by_role("button", name="刷新").click()
    expect(desk.locator("#signin-form")).to_be_visible()
    expect(desk.locator("#signin-error")).to_have_text("登录已过期，请重新登录。")
    expect(desk.locator("#workspace")).to_be_hidden()
    sign_in(desk, inspector)
    expect(desk.locator("#workspace")).to_be_visible()


def test_a_late_refusal_of_a_request_sent_before_the_sign_in_keeps_the_desk(
    app, live_server, open_page
):
    # The page asks at load whether a session is live. Answered 401 after the worker had signed
    # in (a slow network), that answer took the new sign-in for ended and brought the form back.
    inspector = make_user(app, "inspector", regions=["510000"])
    desk = open_page(DESK, mobile=False)
    held = []

    def hold_the_first_look(route):
        if route.request.method == "GET" and not held:
            held.append(route)
        else:
            route.continue_()

    desk.route("**/api/v1/auth/session", hold_the_first_look)
    desk.goto(f"{live_server}/inspect")
    expect(desk.locator("#signin-form")).to_be_visible()
    with desk.expect_response(lambda response: "/api/v1/inspect/queue" in response.url):
        sign_in(desk, inspector)
    assert len(held) == 1
    held[0].fulfill(
        status=401,
        json={"error": {"code": "unauthenticated", "message": "请先登录"}},
    )
    desk.get_by_role("button", name="刷新").click()
    expect(desk.locator("#queue-error")).to_be_hidden()
    expect(desk.locator("#workspace")).to_be_visible()
    expect(desk.locator("#signin-form")).to_be_hidden()
