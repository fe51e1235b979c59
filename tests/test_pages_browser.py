"""The worker's pages in a real browser: Debian's Chromium driven by Playwright, on a phone viewport.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing
(``apt-get install -y chromium``; ``pip install playwright``; never ``playwright install``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from hazard_reporter.extensions import db
from tests.corpus import corpus_path
from tests.fixtures import make_jpeg

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install 'playwright==1.*')"
)
expect = sync_api.expect

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Nothing may leave the machine: every host fails to resolve but the loopback the live server
    # binds (the rule maps IP literals too, so 127.0.0.1 must be excluded as well as localhost).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
MIANYANG = {"latitude": 31.4675, "longitude": 104.6796, "accuracy": 15}
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized page in Mianyang with location permission; records every request made."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation=MIANYANG,
        permissions=["geolocation"],
    )
    context.set_default_timeout(WAIT_MS)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.requests = requests
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def report_count(app) -> int:
    from hazard_reporter.reports.models import Report

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Report))
        db.session.remove()
        return count


def photo_files(tmp_path) -> list[str]:
    path = tmp_path / "hazard.jpg"
    path.write_bytes(make_jpeg(1200, 900))
    files = [str(path)]
    real = corpus_path("real/apple_iphone4_gps.jpg")
    if real.exists():
        files.append(str(real))
    return files


def fill_report(page, files, *, sector: str, description: str) -> None:
    page.set_input_files("#photos", files)
    expect(page.locator("#previews li")).to_have_count(len(files))
    expect(page.locator("#location-values")).to_be_visible()  # the emulated fix arrived
    page.locator(f"label[for='sector-{sector}']").click()
    page.get_by_label("一句话描述").fill(description)


def assert_same_origin(requests: list[str], live_server: str) -> None:
    origin = urlsplit(live_server)
    assert requests, "the browser made no request at all"
    for url in requests:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue
        if parts.scheme == "blob":
            parts = urlsplit(parts.path)
        assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), url


def test_worker_reports_a_photo_and_follows_its_status(phone, app, live_server, tmp_path):
    files = photo_files(tmp_path)
    phone.goto(f"{live_server}/report")
    expect(phone.locator("#loc-lat")).to_have_text("31.467500")
    expect(phone.locator("#loc-acc")).to_contain_text("15")
    fill_report(phone, files, sector="construction", description="脚手架缺少防护栏杆")
    screenshot(phone, "report-filled")

    phone.get_by_role("button", name="发送").click()
    sent = phone.locator("#sent-list .sent-report")
    expect(sent).to_have_count(1)
    token = sent.locator(".token").inner_text()
    assert len(token) >= 20
    expect(phone.locator("#waiting-count")).to_be_hidden()
    screenshot(phone, "report-sent")
    assert report_count(app) == 1

    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.lat == pytest.approx(31.4675)
        assert report.lon == pytest.approx(104.6796)
        assert len(report.photos) == len(files)
        db.session.remove()

    sent.get_by_role("link", name="查看进度").click()
    expect(phone).to_have_url(f"{live_server}/status#id={report.id}&token={token}")
    expect(phone.locator("#r-status")).to_have_text("已提交")
    expect(phone.locator("#timeline li")).to_have_count(1)
    expect(phone.locator("#timeline li").first).to_contain_text("已提交")
    screenshot(phone, "status")

    phone.get_by_role("button", name="English").click()
    expect(phone.locator("#r-status")).to_have_text("Submitted")
    expect(phone.get_by_label("Follow-up token")).to_have_value(token)
    assert_same_origin(phone.requests, live_server)


def option_texts(select) -> list[str]:
    return select.locator("option").all_inner_texts()


def test_the_region_is_chosen_a_level_at_a_time(phone, app, live_server, tmp_path):
    # A province's thousands of regions: the first list holds the provinces only, and each choice
    # opens the next level, which starts with "all of" the region above it.
    from hazard_reporter.regions.services import import_regions_csv
    from tests.test_regions import HIERARCHY

    with app.app_context():
        import_regions_csv(db.session, HIERARCHY)
        db.session.remove()
    phone.goto(f"{live_server}/report")
    level0 = phone.locator("#region-level-0")
    expect(level0.locator("option")).to_have_count(3)
    assert option_texts(level0) == ["（不选择）", "重庆市", "四川省"]
    assert phone.locator("#region-levels select").count() == 1

    level0.select_option(label="四川省")
    level1 = phone.locator("#region-level-1")
    assert option_texts(level1) == ["（整个四川省）", "绵阳市", "广元市"]
    level1.select_option(label="广元市")
    phone.locator("#region-level-2").select_option(label="利州区")
    level3 = phone.locator("#region-level-3")
    assert option_texts(level3) == ["（整个利州区）", "利州经济开发区"]
    expect(phone.locator("#region")).to_have_value("510802")
    expect(level3).to_have_accessible_name("利州区下的地区")

    phone.locator("#lang-toggle").click()
    expect(level3.locator("option").first).to_have_text("(all of Lizhou District)")
    phone.locator("#lang-toggle").click()

    level0.select_option(label="（不选择）")
    expect(phone.locator("#region-levels select")).to_have_count(1)
    expect(phone.locator("#region")).to_have_value("")
    level0.select_option(label="四川省")
    phone.locator("#region-level-1").select_option(label="广元市")
    phone.locator("#region-level-2").select_option(label="利州区")
    expect(phone.locator("#region")).to_have_value("510802")

    fill_report(
        phone, photo_files(tmp_path), sector="construction", description="脚手架缺少防护栏杆"
    )
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    from hazard_reporter.reports.models import Report

    with app.app_context():
        assert db.session.scalars(select(Report.region_code)).one() == "510802"
        db.session.remove()


def test_an_edited_report_drops_a_region_the_list_no_longer_holds(
    phone, app, live_server, tmp_path
):
    # The region chosen is removed before the report is sent: the server refuses it by name, and
    # once the page has the new list, editing the report shows no region chosen and sends none.
    from sqlalchemy import delete

    from hazard_reporter.regions.models import Region
    from hazard_reporter.regions.services import import_regions_csv
    from hazard_reporter.reports.models import Report
    from tests.test_regions import HIERARCHY

    with app.app_context():
        import_regions_csv(db.session, HIERARCHY)
        db.session.remove()
    phone.goto(f"{live_server}/report")
    phone.locator("#region-level-0").select_option(label="四川省")
    phone.locator("#region-level-1").select_option(label="广元市")
    phone.locator("#region-level-2").select_option(label="利州区")
    expect(phone.locator("#region")).to_have_value("510802")
    with app.app_context():
        db.session.execute(delete(Region).where(Region.code == "510802001"))  # its child first
        db.session.execute(delete(Region).where(Region.code == "510802"))
        db.session.commit()
        db.session.remove()
    fill_report(phone, photo_files(tmp_path), sector="construction", description="围挡倒塌")
    phone.get_by_role("button", name="发送").click()
    card = phone.locator("#pending-list .pending-report.is-error")
    expect(card).to_have_count(1)
    expect(card.locator(".form-error")).to_contain_text("510802")

    # The worker has since gone elsewhere: the edited report keeps the place it was made for.
    phone.context.set_geolocation({"latitude": 39.9042, "longitude": 116.4074, "accuracy": 20})
    phone.reload()  # the list now comes without 利州区, and the phone's fix is in Beijing
    expect(phone.locator("#region-level-0 option")).to_have_count(3)
    expect(phone.locator("#loc-lat")).to_have_text("39.904200")
    card.get_by_role("button", name="修改").click()
    expect(phone.get_by_label("一句话描述")).to_have_value("围挡倒塌")
    expect(phone.locator("#region")).to_have_value("")
    expect(phone.locator("#region-level-0")).to_have_value("")
    expect(phone.locator("#loc-lat")).to_have_text("31.467500")
    expect(phone.locator("#location-status")).to_contain_text("原来的位置")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        # no code sent, and the demo regions have no boundaries to place the phone's fix in
        assert report.region_code is None
        assert (round(report.lat, 4), round(report.lon, 4)) == (31.4675, 104.6796)
        assert report.location_source == "device" and report.accuracy_m == 15
        db.session.remove()


def test_status_page_takes_a_typed_id_and_token_and_refuses_a_wrong_one(
    phone, app, live_server, tmp_path
):
    phone.goto(f"{live_server}/report")
    fill_report(phone, photo_files(tmp_path)[:1], sector="transport", description="货车超载")
    phone.get_by_role("button", name="发送").click()
    token = phone.locator("#sent-list .token").inner_text()
    report_id = phone.locator("#sent-list .sent-report").get_attribute("data-report-id")

    phone.goto(f"{live_server}/status")
    phone.get_by_label("上报编号").fill(report_id)
    phone.get_by_label("跟进码").fill("wrong-token")
    phone.get_by_role("button", name="查询").click()
    expect(phone.locator("#lookup-error")).to_have_text("找不到这条上报，或跟进码不正确。")
    phone.get_by_label("跟进码").fill(token)
    phone.get_by_role("button", name="查询").click()
    expect(phone.locator("#r-status")).to_have_text("已提交")
    assert_same_origin(phone.requests, live_server)


def test_red_report_shows_evacuation_advice_first(phone, app, live_server, tmp_path):
    phone.goto(f"{live_server}/report")
    fill_report(
        phone, photo_files(tmp_path)[:1], sector="gas_network", description="地下室燃气泄漏"
    )
    phone.get_by_role("button", name="发送").click()

    advice = phone.locator("#advice")
    expect(advice).to_be_visible()
    expect(advice.locator("#advice-title")).to_contain_text("紧急避险")
    for number in ("119", "110", "120"):
        expect(advice.locator(f"a[href='tel:{number}']")).to_be_visible()
    # Before anything else: the first thing in the page's main content, at the top of the screen.
    assert phone.evaluate("document.querySelector('main').firstElementChild.id") == "advice"
    box = advice.bounding_box()
    assert box is not None and box["y"] < PHONE["height"] / 2
    sent = phone.locator("#sent-list .sent-report")
    expect(sent.locator(".badge")).to_have_text("红色 · 重大风险")
    assert box["y"] < sent.bounding_box()["y"]
    screenshot(phone, "report-red-advice")
    assert_same_origin(phone.requests, live_server)


def test_offline_report_waits_then_is_sent_once_when_back_online(phone, app, live_server, tmp_path):
    phone.goto(f"{live_server}/report")
    fill_report(
        phone, photo_files(tmp_path)[:1], sector="crowded_venue", description="安全出口被堵"
    )

    phone.context.set_offline(True)
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#waiting-count")).to_contain_text("等待发送 1 条")
    expect(phone.locator("#pending-list .pending-report")).to_have_count(1)
    screenshot(phone, "report-offline-waiting")
    assert report_count(app) == 0
    # The report is in IndexedDB with its key and its photo before anything was sent.
    stored = phone.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("hazard_reporter");
            open.onsuccess = () => {
                const get = open.result.transaction("reports").objectStore("reports").getAll();
                get.onsuccess = () => resolve(get.result.map(
                    (r) => ({key: r.key, state: r.state, photos: r.photos.length,
                             size: r.photos.length ? r.photos[0].blob.size : 0})));
            };
        })"""
    )
    assert len(stored) == 1
    assert stored[0]["state"] == "queued" and stored[0]["photos"] == 1 and stored[0]["size"] > 0

    phone.context.set_offline(False)
    sent = phone.locator("#sent-list .sent-report")
    expect(sent).to_have_count(1)
    expect(phone.locator("#waiting-count")).to_be_hidden()
    screenshot(phone, "report-back-online")
    assert report_count(app) == 1

    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.idempotency_key == stored[0]["key"]
        db.session.remove()

    # A reload re-reads the queue from IndexedDB: nothing is sent again.
    phone.reload()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    assert report_count(app) == 1
    assert_same_origin(phone.requests, live_server)


def test_large_photo_is_reduced_on_the_phone_and_small_one_sent_whole(
    phone, app, live_server, tmp_path
):
    import os

    from PIL import Image

    from hazard_reporter.photos.models import Photo

    # Noise does not compress: a 3000×2000 photo of several megabytes, like a phone's.
    large = tmp_path / "large.jpg"
    Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3)).save(large, quality=95)
    small = tmp_path / "small.jpg"
    small.write_bytes(make_jpeg(800, 600))
    assert large.stat().st_size > 2_000_000

    phone.goto(f"{live_server}/report")
    fill_report(phone, [str(large), str(small)], sector="other", description="配电箱门损坏")
    expect(phone.locator("#previews li").first).to_contain_text("已压缩")
    expect(phone.locator("#previews li").nth(1)).to_contain_text("原图")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)

    with app.app_context():
        photos = {p.width: p for p in db.session.scalars(select(Photo))}
        db.session.remove()
    assert set(photos) == {1600, 800}  # the long edge reduced to 1600 px; the small one whole
    assert photos[1600].size_bytes < large.stat().st_size / 2
    assert photos[800].size_bytes == small.stat().st_size
    assert_same_origin(phone.requests, live_server)


def test_refused_report_is_shown_as_an_error_to_fix_or_delete(phone, app, live_server, tmp_path):
    from PIL import Image

    gif = tmp_path / "anim.gif"
    Image.new("RGB", (64, 48), (200, 60, 40)).save(gif)  # GIF is not an accepted format: 415
    phone.goto(f"{live_server}/report")
    fill_report(phone, [str(gif)], sector="other", description="测试错误")
    phone.get_by_role("button", name="发送").click()

    card = phone.locator("#pending-list .pending-report.is-error")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("发送失败，需要修改")
    expect(card.locator(".form-error")).not_to_be_empty()
    expect(phone.locator("#waiting-count")).to_be_hidden()  # not retried: the worker must act
    # announced: the status region (read out by screen readers) says so, not only the card
    expect(phone.get_by_role("status")).to_contain_text("报告未被接受，需要修改或删除")
    screenshot(phone, "report-refused")

    card.get_by_role("button", name="修改").click()  # back into the form, photo and text
    expect(phone.locator("#previews li")).to_have_count(1)
    expect(phone.get_by_label("一句话描述")).to_have_value("测试错误")
    # The stored copy stays until the edited report is stored in its place: the tab closed (or
    # the phone asleep) while the worker fixes it loses nothing.
    phone.reload()
    expect(card).to_have_count(1)
    card.get_by_role("button", name="修改").click()
    expect(phone.locator("#previews li")).to_have_count(1)

    phone.get_by_role("button", name="发送").click()
    expect(card).to_have_count(1)  # the copy replaced by the edited report, refused again
    phone.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="删除").click()
    expect(phone.locator("#pending-list .pending-report")).to_have_count(0)
    assert report_count(app) == 0
    assert_same_origin(phone.requests, live_server)


def test_every_request_stays_on_the_app_origin(phone, app, live_server, tmp_path):
    phone.goto(f"{live_server}/report")
    fill_report(phone, photo_files(tmp_path), sector="mining", description="巷道支护松动")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    expect(phone.get_by_role("status")).to_have_text("报告已发送。")
    phone.locator("#sent-list .status-link").click()
    expect(phone.locator("#timeline li")).to_have_count(1)
    expect(phone.locator("#r-photos img").first).to_be_visible()
    paths = {urlsplit(url).path for url in phone.requests}
    assert {"/report", "/status", "/api/v1/sectors", "/api/v1/reports"} <= paths
    assert any(path.startswith("/pages-static/") for path in paths)
    assert_same_origin(phone.requests, live_server)


def test_pages_send_a_strict_content_security_policy(client, app):
    for path in ("/report", "/status"):
        response = client.get(path)
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert b"<script>" not in response.data  # no inline script
    with client.get("/pages-static/pages/report.js") as script:  # closes the served file
        assert script.status_code == 200


def test_pin_map_corrects_the_location_without_leaving_the_origin(
    phone, app, live_server, tmp_path
):
    metres_per_degree = 111195
    phone.goto(f"{live_server}/report")
    pin_map = phone.get_by_role("application", name="地图：拖动图钉修正位置")
    expect(pin_map).to_be_visible()
    expect(pin_map.locator(".leaflet-marker-icon")).to_be_visible()
    expect(pin_map.locator(".leaflet-control-scale-line")).to_be_visible()
    assert pin_map.locator(".leaflet-tile").count() == 0  # no tile server configured
    assert 200 <= pin_map.bounding_box()["height"] <= 240

    # "Locate again" drops a correction: back to the phone's fix.
    phone.get_by_role("button", name="图钉向东移 10 米").click()
    expect(phone.locator("#pin-offset")).to_have_text("已将位置向东 10 米调整")
    phone.get_by_role("button", name="重新定位").click()
    expect(phone.locator("#pin-offset")).to_be_hidden()
    expect(phone.locator("#loc-lat")).to_have_text("31.467500")
    expect(phone.locator("#loc-lon")).to_have_text("104.679600")

    north = phone.get_by_role("button", name="图钉向北移 10 米")
    for _ in range(3):
        north.click()
    expect(phone.locator("#pin-offset")).to_have_text("已将位置向北 30 米调整")
    expect(phone.locator("#location-status")).to_contain_text("已在地图上修正位置")
    fill_report(phone, photo_files(tmp_path)[:1], sector="construction", description="基坑边缺护栏")
    screenshot(phone, "report-pin-moved")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)

    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.location_source == "manual"
        assert report.lat == pytest.approx(
            31.4675 + 30 / metres_per_degree, abs=1 / metres_per_degree
        )
        assert report.lon == pytest.approx(104.6796, abs=1 / metres_per_degree)
        db.session.remove()
    paths = {urlsplit(url).path for url in phone.requests}
    assert "/static/vendor/leaflet/leaflet.js" in paths
    assert_same_origin(phone.requests, live_server)


def test_dragging_the_pin_sends_a_manual_location(phone, app, live_server, tmp_path):
    phone.goto(f"{live_server}/report")
    marker = phone.locator("#pin-map .leaflet-marker-icon")
    expect(marker).to_be_visible()
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    phone.mouse.move(x, y)
    phone.mouse.down()
    for step in range(1, 11):
        phone.mouse.move(x + 4 * step, y - 3 * step)  # up and right: north-east
    phone.mouse.up()
    expect(phone.locator("#pin-offset")).to_contain_text("向北")
    expect(phone.locator("#pin-offset")).to_contain_text("向东")
    shown_lat = float(phone.locator("#loc-lat").inner_text())
    fill_report(phone, photo_files(tmp_path)[:1], sector="other", description="井盖缺失")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)

    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.location_source == "manual"
        assert report.lat > 31.4675 and report.lon > 104.6796
        assert report.lat == pytest.approx(shown_lat, abs=1e-6)
        assert report.accuracy_m is None
        db.session.remove()
    assert_same_origin(phone.requests, live_server)


def test_a_report_whose_answer_never_comes_is_tried_again_not_stuck(
    phone, app, live_server, tmp_path
):
    # A weak link can swallow a request without an answer or an error; the queue must not wait
    # for it forever. The page's clock is driven here, so the minute's wait takes no time.
    held = []

    def swallow_the_first(route):
        if not held:
            held.append(route)  # never answered
        else:
            route.continue_()

    phone.clock.install()
    phone.route("**/api/v1/reports", swallow_the_first)
    phone.goto(f"{live_server}/report")
    fill_report(phone, photo_files(tmp_path), sector="construction", description="临边无防护")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#pending-list .pending-report")).to_have_count(1)
    phone.wait_for_timeout(500)
    assert len(held) == 1 and report_count(app) == 0
    phone.clock.run_for(2 * 60_000)  # past the give-up time, then past the retry's back-off
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    assert report_count(app) == 1


@pytest.mark.parametrize("storage", ["unavailable", "full"])
def test_a_report_the_phone_cannot_store_is_sent_and_the_worker_told_to_wait(
    phone, app, live_server, tmp_path, storage
):
    # Private modes without IndexedDB, or a phone whose storage is full: the report is kept in
    # the page's memory, sent all the same, and the worker is told not to close the page.
    if storage == "unavailable":
        phone.add_init_script("Object.defineProperty(window, 'indexedDB', { value: undefined });")
    else:
        cdp = phone.context.new_cdp_session(phone)
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": live_server, "quotaSize": 1000})
    held = []
    phone.route("**/api/v1/reports", lambda route: held.append(route))  # answered below
    phone.goto(f"{live_server}/report")
    fill_report(phone, photo_files(tmp_path), sector="construction", description="外架连墙件缺失")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#notice")).to_contain_text("发送完成前请不要关闭此页面")
    expect(phone.locator("#pending-list .pending-report")).to_have_count(1)
    assert phone.evaluate("() => document.getElementById('form-error').hidden")
    for _ in range(100):  # the report's request, held while the page says what it did
        if held:
            break
        phone.wait_for_timeout(100)
    held[0].continue_()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    assert report_count(app) == 1


# Every later write to IndexedDB refused as a full phone's is. (Storage.overrideQuotaForOrigin set
# once the page has stored a report does not stop its later writes, and a real fill takes GBs.)
FILL_STORAGE = """() => {
    IDBObjectStore.prototype.put = function () {
        throw new DOMException("The storage is full", "QuotaExceededError");
    };
}"""


def stored_keys(page) -> list[str]:
    """The keys of the reports in the page's IndexedDB."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const open = indexedDB.open("hazard_reporter");
            open.onsuccess = () => {
                const get = open.result.transaction("reports").objectStore("reports").getAllKeys();
                get.onsuccess = () => resolve(get.result);
            };
        })"""
    )


def send_as_the_storage_fills(phone, live_server, photos, fill_storage: str) -> list[str]:
    """Send one report whose request is held until it is stored on the phone, then fill the
    storage (``fill_storage``: a script run in the page) and let the request go; returns the
    URLs of every report request the page makes, the first included."""
    posts, held = [], []

    def hold_the_first(route):
        posts.append(route.request.url)
        if len(posts) == 1:
            held.append(route)  # answered once the storage is full
        else:
            route.continue_()

    phone.route("**/api/v1/reports", hold_the_first)
    phone.goto(f"{live_server}/report")
    fill_report(phone, photos, sector="other", description="配电箱门锁损坏")
    phone.get_by_role("button", name="发送").click()
    for _ in range(100):  # the report's request: it is stored by now
        if held:
            break
        phone.wait_for_timeout(100)
    assert len(stored_keys(phone)) == 1  # stored before the storage filled up
    phone.evaluate(fill_storage)
    held[0].continue_()
    return posts


def test_a_report_kept_in_memory_after_the_storage_filled_is_listed_once_and_replaced_in_both(
    phone, app, live_server, tmp_path
):
    # Stored, then the phone's storage filled up: the refused report's new state was kept in
    # memory beside its older stored copy. Both were listed, and the edited report replaced only
    # the memory's: the stored copy was left behind, listed and sent again.
    from PIL import Image

    gif = tmp_path / "anim.gif"
    Image.new("RGB", (64, 48), (200, 60, 40)).save(gif)  # GIF is not an accepted format: 415
    send_as_the_storage_fills(phone, live_server, [str(gif)], FILL_STORAGE)

    pending = phone.locator("#pending-list .pending-report")
    expect(phone.locator("#pending-list .pending-report.is-error")).to_have_count(1)
    expect(pending).to_have_count(1)
    pending.get_by_role("button", name="修改").click()
    phone.locator("#previews li button").click()  # the GIF out, a JPEG in
    phone.set_input_files("#photos", photo_files(tmp_path)[:1])
    expect(phone.locator("#previews li")).to_have_count(1)
    phone.get_by_role("button", name="发送").click()

    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    expect(pending).to_have_count(0)
    assert report_count(app) == 1
    assert stored_keys(phone) == []  # the refused copy is gone, the new one was never stored
    phone.reload()
    expect(pending).to_have_count(0)
    assert report_count(app) == 1


def test_a_report_sent_after_the_storage_filled_is_not_sent_again_at_the_next_load(
    phone, app, live_server, tmp_path
):
    # Stored, then the phone's storage filled up before the answer came: the sent state was kept
    # in memory only, and the stored copy, still "queued" with its photos, was sent again (photos
    # and all) each time the page was opened.
    posts = send_as_the_storage_fills(phone, live_server, photo_files(tmp_path)[:1], FILL_STORAGE)
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    assert report_count(app) == 1
    assert stored_keys(phone) == []  # the queued copy is gone: the sent state could not be stored

    phone.reload()
    expect(phone.locator("#pending-list .pending-report")).to_have_count(0)
    phone.wait_for_timeout(1000)  # time for a send the page would start on loading
    assert len(posts) == 1


# Full until something is deleted: as a phone whose space the report's own photos took.
FULL_UNTIL_A_DELETE = """() => {
    const put = IDBObjectStore.prototype.put;
    const remove = IDBObjectStore.prototype.delete;
    let full = true;
    IDBObjectStore.prototype.put = function (...args) {
        if (full) { throw new DOMException("The storage is full", "QuotaExceededError"); }
        return put.apply(this, args);
    };
    IDBObjectStore.prototype.delete = function (...args) {
        full = false;
        return remove.apply(this, args);
    };
}"""


def test_a_report_sent_with_the_storage_full_keeps_its_follow_up_code(
    phone, app, live_server, tmp_path
):
    # Sent while the storage was full, the anonymous report's stored copy was deleted and its
    # sent record, with the follow-up code, kept only in memory: closing the page lost the code.
    # Deleting the copy frees its photos' space, so the sent record is stored there.
    send_as_the_storage_fills(phone, live_server, photo_files(tmp_path)[:1], FULL_UNTIL_A_DELETE)
    sent = phone.locator("#sent-list .sent-report")
    expect(sent).to_have_count(1)
    assert len(stored_keys(phone)) == 1  # the sent record, in the old copy's place
    phone.reload()
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("跟进码")
    assert report_count(app) == 1
