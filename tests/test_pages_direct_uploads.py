"""The report page where photos are kept in a bucket (S3 storage, moto's server on loopback): each
photo goes straight to the bucket with a presigned POST and the report carries only its key;
whatever goes wrong on that path, the photo is sent inline with the report instead.

In a real browser (Debian's Chromium driven by Playwright), skipped with the reason where either
is missing, as ``tests/test_pages_browser.py``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from hazard_reporter.extensions import db
from tests import test_pages_browser as pages
from tests.conftest import build_app, close_app, s3_settings
from tests.fixtures import make_jpeg
from tests.test_pages_browser import expect, fill_report, photo_files, report_count

browser = pages.browser  # the fixtures, shared with the pages' other browser tests
phone = pages.phone

REPORTS = "/api/v1/reports"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bucket_reachable() -> bool:
    """Whether the phone can reach the bucket (a test overrides this to say no)."""
    return True


@pytest.fixture
def app(tmp_path, s3_endpoint, bucket_reachable):
    """The app over a bucket; the page's presigned forms point at a port nothing listens on
    when the phone cannot reach the bucket (the app itself still can)."""
    settings = s3_settings(s3_endpoint)
    if not bucket_reachable:
        settings["S3_PUBLIC_ENDPOINT_URL"] = f"http://127.0.0.1:{closed_port()}"
    app = build_app(tmp_path, **settings)
    yield app
    close_app(app)


@pytest.fixture
def report_bodies(app) -> list[int]:
    """The size in bytes of every report body the app receives, in order."""
    from flask import request

    sizes: list[int] = []

    @app.before_request
    def record():
        if request.method == "POST" and request.path == REPORTS:
            sizes.append(request.content_length)

    return sizes


def bucket_posts(phone, endpoint: str) -> list[str]:
    return [url for url in phone.requests if url.startswith(endpoint)]


def original_keys(app) -> list[str]:
    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        keys = [photo.original_key for photo in report.photos]
        db.session.remove()
        return keys


def from_the_bucket(app) -> list[bool]:
    """For each photo of the report, whether it was claimed from a phone's upload (its checked
    bytes are kept under a key of its own either way)."""
    from hazard_reporter.reports.models import Report

    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        claimed = [photo.upload_key is not None for photo in report.photos]
        db.session.remove()
        return claimed


def stored_bytes(app, keys: list[str]) -> list[bytes]:
    storage = app.extensions["hazard_storage"]
    return [storage.read(key) for key in keys]


def two_photos(tmp_path) -> list[str]:
    """Two photos of the suite's own, whatever the corpus holds."""
    paths = []
    for name, size in (("first.jpg", (1200, 900)), ("second.jpg", (900, 1200))):
        path = tmp_path / name
        path.write_bytes(make_jpeg(*size))
        paths.append(str(path))
    return paths


def send_report(phone, live_server, files) -> None:
    phone.goto(f"{live_server}/report")
    fill_report(phone, files, sector="construction", description="脚手架缺少防护栏杆")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)
    expect(phone.locator("#waiting-count")).to_be_hidden()


def fails_once():
    """A route handler that cuts the first request off, as a network drop would, and lets the
    rest through."""
    failures = iter([True])
    return lambda route: route.abort() if next(failures, False) else route.continue_()


def send_report_after_a_failed_attempt(phone, live_server, files) -> None:
    """Send a report whose first attempt fails, then retry it from its card until it is sent."""
    phone.goto(f"{live_server}/report")
    fill_report(phone, files, sector="construction", description="脚手架缺少防护栏杆")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#pending-list .pending-report")).to_contain_text("第 1 次尝试失败")
    phone.locator("#pending-list").get_by_role("button", name="立即重试").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)


def test_photos_go_straight_to_the_bucket_and_the_report_names_them(
    phone, app, live_server, tmp_path, s3_endpoint, report_bodies
):
    files = photo_files(tmp_path)
    send_report(phone, live_server, files)

    assert report_count(app) == 1
    keys = original_keys(app)
    assert from_the_bucket(app) == [True] * len(files)
    assert stored_bytes(app, keys) == [Path(f).read_bytes() for f in files]  # in their order
    assert len(bucket_posts(phone, s3_endpoint)) == len(files)
    assert len(report_bodies) == 1 and report_bodies[0] < 4096  # fields and keys, no photo


def test_a_retry_after_the_photos_reached_the_bucket_sends_only_the_report(
    phone, app, live_server, tmp_path, s3_endpoint, report_bodies
):
    # The network dies after the uploads, before the report gets through: the retry carries
    # the keys already kept and uploads nothing again.
    files = photo_files(tmp_path)
    phone.route(f"{live_server}{REPORTS}", fails_once())
    send_report_after_a_failed_attempt(phone, live_server, files)

    assert report_count(app) == 1
    assert from_the_bucket(app) == [True] * len(files)
    assert len(bucket_posts(phone, s3_endpoint)) == len(files)
    assert len(report_bodies) == 1 and report_bodies[0] < 4096  # the lost one never arrived


def test_a_report_whose_photos_are_not_all_in_the_bucket_sends_them_all_inline_in_order(
    phone, app, live_server, tmp_path, report_bodies
):
    # The second photo gets no upload ticket (the client's limit): the report goes with both
    # photos inline. The server keeps it, but its answer is lost; the retry uploads the second
    # photo, names both keys in the same order, and is answered with the report already made.
    files = two_photos(tmp_path)
    tickets = iter(["go", "limited"])
    phone.route(
        f"{live_server}/api/v1/uploads",
        lambda route: route.continue_()
        if next(tickets, "go") == "go"
        else route.fulfill(status=429, json={"error": {"code": "rate_limited"}}),
    )
    answers = iter(["lost"])

    def report_route(route):
        if next(answers, "delivered") == "lost":
            route.fetch()  # the server takes the report ...
            route.abort()  # ... and the phone never hears of it
        else:
            route.continue_()

    phone.route(f"{live_server}{REPORTS}", report_route)
    phone.goto(f"{live_server}/report")
    fill_report(phone, files, sector="construction", description="脚手架缺少防护栏杆")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#pending-list .pending-report")).to_contain_text("第 1 次尝试失败")
    assert report_count(app) == 1
    phone.locator("#pending-list").get_by_role("button", name="立即重试").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)

    assert report_count(app) == 1
    keys = original_keys(app)
    assert from_the_bucket(app) == [False] * len(files)  # stored from the first try
    assert stored_bytes(app, keys) == [Path(f).read_bytes() for f in files]
    assert report_bodies[0] > sum(len(Path(f).read_bytes()) for f in files)  # both inline
    assert len(report_bodies) == 2 and report_bodies[1] < 4096  # then the keys only


def test_a_refused_report_edited_and_sent_again_does_not_upload_its_photos_again(
    phone, app, live_server, tmp_path, s3_endpoint, report_bodies
):
    files = two_photos(tmp_path)
    answers = iter(["refused"])
    phone.route(
        f"{live_server}{REPORTS}",
        lambda route: route.fulfill(
            status=422,
            json={"error": {"code": "description_invalid", "message": "描述太短", "field": "d"}},
        )
        if next(answers, "taken") == "refused"
        else route.continue_(),
    )
    phone.goto(f"{live_server}/report")
    fill_report(phone, files, sector="construction", description="脚手架缺少防护栏杆")
    phone.get_by_role("button", name="发送").click()
    refused = phone.locator("#pending-list .pending-report")
    expect(refused).to_contain_text("描述太短")
    refused.get_by_role("button", name="修改").click()
    expect(phone.locator("#previews li")).to_have_count(len(files))
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(1)

    keys = original_keys(app)
    assert from_the_bucket(app) == [True] * len(files)
    assert stored_bytes(app, keys) == [Path(f).read_bytes() for f in files]
    assert len(bucket_posts(phone, s3_endpoint)) == len(files)  # each photo uploaded once
    assert len(report_bodies) == 1 and report_bodies[0] < 4096


@pytest.mark.parametrize("bucket_reachable", [False])
def test_a_bucket_the_phone_cannot_reach_leaves_the_photos_inline(
    phone, app, live_server, tmp_path, bucket_reachable
):
    files = photo_files(tmp_path)
    send_report(phone, live_server, files)

    keys = original_keys(app)
    assert len(keys) == len(files)
    assert from_the_bucket(app) == [False] * len(files)  # the app stored them itself
    tickets = [url for url in phone.requests if urlsplit(url).path == "/api/v1/uploads"]
    assert len(tickets) == 1  # one failed upload ends the attempt's uploads

    # The app answered where the bucket did not: the page stops trying the bucket.
    fill_report(phone, files, sector="construction", description="基坑边缘没有护栏")
    phone.get_by_role("button", name="发送").click()
    expect(phone.locator("#sent-list .sent-report")).to_have_count(2)
    tickets = [url for url in phone.requests if urlsplit(url).path == "/api/v1/uploads"]
    assert len(tickets) == 1


def test_a_phone_that_lost_its_network_during_an_upload_tries_the_bucket_again(
    phone, app, live_server, tmp_path, s3_endpoint, report_bodies
):
    # The first attempt's upload and its report both fail to reach anything: the page cannot tell
    # the bucket from the network, so the retry tries the bucket again, and the photos go there.
    files = photo_files(tmp_path)
    phone.route(f"{s3_endpoint}/**", fails_once())
    phone.route(f"{live_server}{REPORTS}", fails_once())
    send_report_after_a_failed_attempt(phone, live_server, files)

    keys = original_keys(app)
    assert from_the_bucket(app) == [True] * len(files)
    assert stored_bytes(app, keys) == [Path(f).read_bytes() for f in files]
    assert len(report_bodies) == 1 and report_bodies[0] < 4096  # the keys only


def test_keys_the_server_refuses_are_replaced_by_the_photos_themselves(
    phone, app, live_server, tmp_path, s3_endpoint
):
    # A bucket (or a proxy before it) that says yes and keeps nothing: the report names keys the
    # server cannot find, and the page sends the photos inline at once.
    phone.route(
        f"{s3_endpoint}/**",
        lambda route: route.fulfill(status=204, headers={"Access-Control-Allow-Origin": "*"}),
    )
    files = photo_files(tmp_path)
    send_report(phone, live_server, files)

    assert report_count(app) == 1
    keys = original_keys(app)
    assert len(keys) == len(files)
    assert from_the_bucket(app) == [False] * len(files)
    assert len([url for url in phone.requests if urlsplit(url).path == REPORTS]) == 2
