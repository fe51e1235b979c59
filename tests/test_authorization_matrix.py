"""The authorisation matrix: every role (and no token, and a token from another scope) against
every endpoint, each expectation written out. Ids guessed across scopes answer 404, and that 404
is the very answer a nonexistent id gets, so a guess learns nothing.

The tables below are written from the access rules of the product ("Privacy and trust" in
DESIGN.md and the issue asking for this matrix), not read off the code.

The cast (built once per module by ``world``; the ``claim`` test builds its own, as it changes B):

    report A  510703 涪城区, gas_network, filed by signed-in worker W, photo EXIF HUAWEI/Mate60-UNIQUE;
              in the DB: unit U1 (the demo gas company), status "verified"
    report B  510781 江油市, construction, filed anonymously (its follow-up token is kept);
              in the DB: unit U2 (the housing and construction bureau), status "submitted"

    anonymous        no Authorization header at all
    forged           "Authorization: Bearer abc"
    followup_B       no bearer, X-Followup-Token of B;  followup_wrong: a made-up follow-up token
    W, W2            worker who filed A; a different worker
    I1, I2           inspector of 510703; inspector of 510781
    I3               inspector of 510700 (all of 绵阳市) limited to sector construction
    I_prov           inspector of 510000 (四川省): sees both
    S1, S2           unit staff of U1; unit staff of U2
    C, admin         award committee; administrator
    "X+Y"            the headers of X and of Y together
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hazard_reporter.accounts.credentials import AccessTokens
from hazard_reporter.accounts.models import User
from hazard_reporter.extensions import db
from hazard_reporter.reports.models import Report, Status
from hazard_reporter.units.models import Unit
from tests.conftest import (
    PASSWORD,
    STORAGE_KIND,
    build_app,
    close_app,
    make_user,
    s3_settings,
)
from tests.fixtures import make_jpeg
from tests.test_reports_api import MIANYANG, post_report

MISSING_REPORT = 999_999
MISSING_PHOTO = 999_999
W_NAME = "Wang-Whistleblower-7731"
CAMERA_MAKE, CAMERA_MODEL = "HUAWEI", "Mate60-UNIQUE"
JIANGYOU = (31.7780, 104.7450)


# --- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    app: object
    client: object
    users: dict[str, dict] = field(default_factory=dict)  # name -> make_user(...) + role
    ids: dict[str, object] = field(default_factory=dict)  # placeholders of the tables
    originals: dict[int, bytes] = field(default_factory=dict)  # photo id -> uploaded bytes
    signed_urls: dict[str, dict[str, str]] = field(default_factory=dict)  # A|B -> rendition -> url
    callers: dict[str, dict] = field(default_factory=dict)  # caller name -> headers

    def headers(self, caller: str) -> dict:
        merged: dict = {}
        for part in caller.split("+"):
            merged.update(self.callers[part])
        return merged

    def path(self, template: str, **extra) -> str:
        return template.format(**self.ids, **extra)

    def missing_path(self, template: str, **extra) -> str:
        """The same request with every report and photo id replaced by one that does not exist."""
        gone = {"A": MISSING_REPORT, "B": MISSING_REPORT, "pA": MISSING_PHOTO, "pB": MISSING_PHOTO}
        return template.format(**{**self.ids, **gone}, **extra)

    def request(self, method: str, path: str, caller: str, **kwargs):
        return self.client.open(path, method=method, headers=self.headers(caller), **kwargs)

    def user_id(self, name: str) -> int:
        return self.users[name]["id"]


def build_world(app) -> World:
    world = World(app=app, client=app.test_client(use_cookies=False))
    with app.app_context():
        u1 = db.session.scalar(select(Unit.id).where(Unit.slug == "my-gas-demo"))
        u2 = db.session.scalar(select(Unit.id).where(Unit.slug == "my-zjj"))
    cast = {
        "W": dict(role="worker", name=W_NAME),
        "W2": dict(role="worker"),
        "I1": dict(role="inspector", regions=["510703"]),
        "I2": dict(role="inspector", regions=["510781"]),
        "I3": dict(role="inspector", regions=["510700"], sectors=["construction"]),
        "I_prov": dict(role="inspector", regions=["510000"]),
        "S1": dict(role="unit_staff", unit_id=u1),
        "S2": dict(role="unit_staff", unit_id=u2),
        "C": dict(role="committee"),
        "admin": dict(role="admin"),
        "T": dict(role="worker"),  # the account the users table PATCHes
    }
    for name, spec in cast.items():
        world.users[name] = {**make_user(app, **spec), "role": spec["role"]}
        world.callers[name] = world.users[name]["headers"]

    photo_a = make_jpeg(gps=MIANYANG, make=CAMERA_MAKE, model=CAMERA_MODEL)
    photo_b = make_jpeg(gps=JIANGYOU, color=(40, 90, 200))
    a = post_report(
        world.client,
        photos=[photo_a],
        headers=world.callers["W"],
        sector="gas_network",
        region_code="510703",
    )
    b = post_report(world.client, photos=[photo_b], sector="construction", region_code="510781")
    assert a.status_code == 201 and b.status_code == 201, (a.json, b.json)
    a, b = a.json, b.json
    assert a["region"]["code"] == "510703" and b["region"]["code"] == "510781"
    assert b["followup_token"], "an anonymous report gets a follow-up token"

    with app.app_context():  # forwarding does not exist yet: units and status set directly
        report_a, report_b = db.session.get(Report, a["id"]), db.session.get(Report, b["id"])
        assert report_a.reporter_id == world.user_id("W") and report_b.reporter_id is None
        report_a.unit_id, report_a.status = u1, Status.VERIFIED.value
        report_b.unit_id = u2
        db.session.commit()

    [pa], [pb] = a["photos"], b["photos"]
    world.originals = {pa["id"]: photo_a, pb["id"]: photo_b}
    world.signed_urls = {
        "A": {"display": pa["url"], "thumbnail": pa["thumbnail_url"]},
        "B": {"display": pb["url"], "thumbnail": pb["thumbnail_url"]},
    }
    world.ids = {
        "A": a["id"],
        "B": b["id"],
        "missing": MISSING_REPORT,
        "pA": pa["id"],
        "pB": pb["id"],
        "missing_photo": MISSING_PHOTO,
        "T": world.user_id("T"),
    }
    world.callers.update(
        {
            "anonymous": {},
            "forged": {"Authorization": "Bearer abc"},
            "followup_B": {"X-Followup-Token": b["followup_token"]},
            "followup_wrong": {"X-Followup-Token": "not-the-token-" + "x" * 32},
        }
    )
    return world


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    overrides = {}
    if STORAGE_KIND == "s3":
        overrides = s3_settings(request.getfixturevalue("s3_endpoint"))
    app = build_app(tmp_path_factory.mktemp("authz"), **overrides)
    yield build_world(app)
    close_app(app)


@pytest.fixture
def fresh_world(app):
    """A world of its own, for tests that change who may read what."""
    return build_world(app)


# --- checking one row ---------------------------------------------------------------------------


def observed_status(response, path: str) -> int:
    """The status; with S3 storage a rendition is served by a redirect to the bucket, which
    counts as served (200)."""
    rendition = "/display" in path or "/thumbnail" in path
    if STORAGE_KIND == "s3" and rendition and response.status_code == 302:
        return 200
    return response.status_code


def describe(response) -> str:
    if response.is_json:
        return json.dumps(response.json, ensure_ascii=False)[:300]
    return f"<{response.mimetype}, {len(response.data)} bytes>"


def check_row(world: World, method: str, template: str, caller: str, expected: int, **kwargs):
    """Send the row's request and check its status, and for refusals their error code; a 404 must
    be the same answer as the one for a nonexistent id. Returns the response."""
    extra = kwargs.pop("fmt", {})
    path = world.path(template, **extra)
    response = world.request(method, path, caller, **kwargs)
    status = observed_status(response, path)
    assert status == expected, (
        f"{method} {path} as {caller}: expected {expected}, got {status} {describe(response)}"
    )
    body = response.json if response.is_json else None
    error = body.get("error", {}) if isinstance(body, dict) else {}
    where = f"{method} {path} as {caller}: {describe(response)}"
    if expected == 401:
        wanted = "token_invalid" if "forged" in caller else "auth_required"
        assert error.get("code") == wanted, where
    elif expected == 403:
        assert error.get("code") == "forbidden", where
    elif expected == 404:
        assert error.get("code") == "not_found", where
        missing = world.missing_path(template, **extra)
        if missing != path:
            baseline = world.request(method, missing, caller, **kwargs)
            assert (baseline.status_code, baseline.json) == (404, response.json), (
                f"{method} {path} as {caller}: the 404 differs from a nonexistent id's "
                f"({describe(baseline)}), so ids can be probed"
            )
    return response


def row_id(row) -> str:
    return " | ".join(str(part) for part in row)


# --- GET /api/v1/reports/<id> -------------------------------------------------------------------

REPORT_READS = [
    # endpoint                      caller                       expected
    ("/api/v1/reports/{A}",        "anonymous",                 401),
    ("/api/v1/reports/{B}",        "anonymous",                 401),
    ("/api/v1/reports/{missing}",  "anonymous",                 401),
    ("/api/v1/reports/{A}",        "forged",                    401),
    ("/api/v1/reports/{B}",        "forged",                    401),
    ("/api/v1/reports/{B}",        "forged+followup_B",         401),
    ("/api/v1/reports/{B}",        "followup_B",                200),
    ("/api/v1/reports/{A}",        "followup_B",                404),
    ("/api/v1/reports/{missing}",  "followup_B",                404),
    ("/api/v1/reports/{A}",        "followup_wrong",            404),
    ("/api/v1/reports/{B}",        "followup_wrong",            404),
    ("/api/v1/reports/{A}",        "W",                         200),
    ("/api/v1/reports/{B}",        "W",                         404),
    ("/api/v1/reports/{missing}",  "W",                         404),
    ("/api/v1/reports/{A}",        "W2",                        404),
    ("/api/v1/reports/{B}",        "W2",                        404),
    ("/api/v1/reports/{missing}",  "W2",                        404),
    ("/api/v1/reports/{A}",        "I1",                        200),
    ("/api/v1/reports/{B}",        "I1",                        404),
    ("/api/v1/reports/{missing}",  "I1",                        404),
    ("/api/v1/reports/{A}",        "I2",                        404),
    ("/api/v1/reports/{B}",        "I2",                        200),
    ("/api/v1/reports/{missing}",  "I2",                        404),
    ("/api/v1/reports/{A}",        "I3",                        404),  # gas, not construction
    ("/api/v1/reports/{B}",        "I3",                        200),
    ("/api/v1/reports/{missing}",  "I3",                        404),
    ("/api/v1/reports/{A}",        "I_prov",                    200),
    ("/api/v1/reports/{B}",        "I_prov",                    200),
    ("/api/v1/reports/{missing}",  "I_prov",                    404),
    ("/api/v1/reports/{A}",        "S1",                        200),
    ("/api/v1/reports/{B}",        "S1",                        404),
    ("/api/v1/reports/{missing}",  "S1",                        404),
    ("/api/v1/reports/{A}",        "S2",                        404),
    ("/api/v1/reports/{B}",        "S2",                        200),
    ("/api/v1/reports/{missing}",  "S2",                        404),
    ("/api/v1/reports/{A}",        "C",                         200),  # verified
    ("/api/v1/reports/{B}",        "C",                         404),  # submitted
    ("/api/v1/reports/{missing}",  "C",                         404),
    ("/api/v1/reports/{A}",        "admin",                     200),
    ("/api/v1/reports/{B}",        "admin",                     200),
    ("/api/v1/reports/{missing}",  "admin",                     404),
]  # fmt: skip


@pytest.mark.parametrize("row", REPORT_READS, ids=row_id)
def test_reading_one_report_follows_the_scope_rules(world, row):
    endpoint, caller, expected = row
    response = check_row(world, "GET", endpoint, caller, expected)
    if expected == 200:
        assert response.json["id"] == int(world.path(endpoint).rsplit("/", 1)[1])


# --- GET /api/v1/reports ------------------------------------------------------------------------

REPORT_LISTS = [
    # endpoint          caller          expected  ids listed
    ("/api/v1/reports", "anonymous",    401,      None),
    ("/api/v1/reports", "forged",       401,      None),
    ("/api/v1/reports", "followup_B",   401,      None),
    ("/api/v1/reports", "W",            200,      {"A"}),
    ("/api/v1/reports", "W2",           200,      set()),
    ("/api/v1/reports", "I1",           200,      {"A"}),
    ("/api/v1/reports", "I2",           200,      {"B"}),
    ("/api/v1/reports", "I3",           200,      {"B"}),
    ("/api/v1/reports", "I_prov",       200,      {"A", "B"}),
    ("/api/v1/reports", "S1",           200,      {"A"}),
    ("/api/v1/reports", "S2",           200,      {"B"}),
    ("/api/v1/reports", "C",            200,      {"A"}),
    ("/api/v1/reports", "admin",        200,      {"A", "B"}),
]  # fmt: skip


@pytest.mark.parametrize("row", REPORT_LISTS, ids=row_id)
def test_listing_shows_exactly_the_reports_in_scope(world, row):
    endpoint, caller, expected, listed = row
    response = check_row(world, "GET", endpoint, caller, expected)
    if expected == 200:
        assert response.json["next_cursor"] is None
        assert {item["id"] for item in response.json["items"]} == {world.ids[n] for n in listed}


# --- GET /api/v1/reports/<id>/reporter ----------------------------------------------------------

REPORTER_READS = [
    # endpoint                               caller          expected
    ("/api/v1/reports/{A}/reporter",        "anonymous",     401),
    ("/api/v1/reports/{B}/reporter",        "anonymous",     401),
    ("/api/v1/reports/{missing}/reporter",  "anonymous",     401),
    ("/api/v1/reports/{B}/reporter",        "followup_B",    401),
    ("/api/v1/reports/{A}/reporter",        "forged",        401),
    ("/api/v1/reports/{B}/reporter",        "forged",        401),
    ("/api/v1/reports/{A}/reporter",        "W",             403),  # even their own report
    ("/api/v1/reports/{B}/reporter",        "W",             403),
    ("/api/v1/reports/{missing}/reporter",  "W",             403),
    ("/api/v1/reports/{A}/reporter",        "W2",            403),
    ("/api/v1/reports/{B}/reporter",        "W2",            403),
    ("/api/v1/reports/{A}/reporter",        "S1",            403),  # its own unit's report
    ("/api/v1/reports/{B}/reporter",        "S1",            403),
    ("/api/v1/reports/{A}/reporter",        "S2",            403),
    ("/api/v1/reports/{B}/reporter",        "S2",            403),
    ("/api/v1/reports/{A}/reporter",        "C",             403),  # a report it may read
    ("/api/v1/reports/{B}/reporter",        "C",             403),
    ("/api/v1/reports/{A}/reporter",        "I1",            200),
    ("/api/v1/reports/{B}/reporter",        "I1",            404),
    ("/api/v1/reports/{missing}/reporter",  "I1",            404),
    ("/api/v1/reports/{A}/reporter",        "I2",            404),
    ("/api/v1/reports/{B}/reporter",        "I2",            200),
    ("/api/v1/reports/{A}/reporter",        "I3",            404),
    ("/api/v1/reports/{B}/reporter",        "I3",            200),
    ("/api/v1/reports/{A}/reporter",        "I_prov",        200),
    ("/api/v1/reports/{B}/reporter",        "I_prov",        200),
    ("/api/v1/reports/{missing}/reporter",  "I_prov",        404),
    ("/api/v1/reports/{A}/reporter",        "admin",         200),
    ("/api/v1/reports/{B}/reporter",        "admin",         200),
    ("/api/v1/reports/{missing}/reporter",  "admin",         404),
]  # fmt: skip


@pytest.mark.parametrize("row", REPORTER_READS, ids=row_id)
def test_reporter_identity_is_for_inspectors_and_admins_in_scope(world, row):
    endpoint, caller, expected = row
    response = check_row(world, "GET", endpoint, caller, expected)
    if expected == 200 and endpoint == "/api/v1/reports/{A}/reporter":
        assert response.json["user"]["phone"] == world.users["W"]["phone"]
        assert response.json["user"]["id"] == world.user_id("W")
        assert response.json["user"]["name"] == W_NAME
    if expected == 200 and endpoint == "/api/v1/reports/{B}/reporter":
        assert response.json["user"] is None


# --- GET /api/v1/photos/<id>/original -----------------------------------------------------------

ORIGINAL_READS = [
    # endpoint                                        caller          expected
    ("/api/v1/photos/{pA}/original",                 "anonymous",     401),
    ("/api/v1/photos/{pB}/original",                 "anonymous",     401),
    ("/api/v1/photos/{missing_photo}/original",      "anonymous",     401),
    ("/api/v1/photos/{pB}/original",                 "followup_B",    401),
    ("/api/v1/photos/{pA}/original",                 "forged",        401),
    ("/api/v1/photos/{pB}/original",                 "forged",        401),
    ("/api/v1/photos/{pA}/original",                 "W",             403),  # even their own photo
    ("/api/v1/photos/{pB}/original",                 "W",             403),
    ("/api/v1/photos/{missing_photo}/original",      "W",             403),
    ("/api/v1/photos/{pA}/original",                 "W2",            403),
    ("/api/v1/photos/{pB}/original",                 "W2",            403),
    ("/api/v1/photos/{pA}/original",                 "S1",            403),
    ("/api/v1/photos/{pB}/original",                 "S1",            403),
    ("/api/v1/photos/{pA}/original",                 "S2",            403),
    ("/api/v1/photos/{pB}/original",                 "S2",            403),
    ("/api/v1/photos/{pA}/original",                 "C",             403),
    ("/api/v1/photos/{pB}/original",                 "C",             403),
    ("/api/v1/photos/{pA}/original",                 "I1",            200),
    ("/api/v1/photos/{pB}/original",                 "I1",            404),
    ("/api/v1/photos/{missing_photo}/original",      "I1",            404),
    ("/api/v1/photos/{pA}/original",                 "I2",            404),
    ("/api/v1/photos/{pB}/original",                 "I2",            200),
    ("/api/v1/photos/{pA}/original",                 "I3",            404),
    ("/api/v1/photos/{pB}/original",                 "I3",            200),
    ("/api/v1/photos/{pA}/original",                 "I_prov",        200),
    ("/api/v1/photos/{pB}/original",                 "I_prov",        200),
    ("/api/v1/photos/{pA}/original",                 "admin",         200),
    ("/api/v1/photos/{pB}/original",                 "admin",         200),
    ("/api/v1/photos/{missing_photo}/original",      "admin",         404),
]  # fmt: skip


@pytest.mark.parametrize("row", ORIGINAL_READS, ids=row_id)
def test_original_photos_are_for_inspectors_and_admins_in_scope(world, row):
    endpoint, caller, expected = row
    response = check_row(world, "GET", endpoint, caller, expected)
    if expected == 200:
        photo_id = int(world.path(endpoint).split("/")[-2])
        assert response.data == world.originals[photo_id], "the original, unaltered"


# --- GET /api/v1/photos/<id>/display and /thumbnail ---------------------------------------------

RENDITION_READS = [
    # endpoint ({rendition}: display | thumbnail)      caller          expected
    # the signed url of an API answer opens the rendition for anyone
    ("{A_signed_url}",                                 "anonymous",     200),
    ("{A_signed_url}",                                 "forged",        401),
    ("{A_signed_url}",                                 "W",             200),
    ("{A_signed_url}",                                 "W2",            200),
    ("{A_signed_url}",                                 "I1",            200),
    ("{A_signed_url}",                                 "I2",            200),
    ("{A_signed_url}",                                 "I3",            200),
    ("{A_signed_url}",                                 "I_prov",        200),
    ("{A_signed_url}",                                 "S1",            200),
    ("{A_signed_url}",                                 "S2",            200),
    ("{A_signed_url}",                                 "C",             200),
    ("{A_signed_url}",                                 "admin",         200),
    ("{B_signed_url}",                                 "anonymous",     200),
    ("{B_signed_url}",                                 "forged",        401),
    ("{B_signed_url}",                                 "W",             200),
    ("{B_signed_url}",                                 "W2",            200),
    ("{B_signed_url}",                                 "I1",            200),
    ("{B_signed_url}",                                 "I2",            200),
    ("{B_signed_url}",                                 "I3",            200),
    ("{B_signed_url}",                                 "I_prov",        200),
    ("{B_signed_url}",                                 "S1",            200),
    ("{B_signed_url}",                                 "S2",            200),
    ("{B_signed_url}",                                 "C",             200),
    ("{B_signed_url}",                                 "admin",         200),
    # without t: only callers who may read the report
    ("/api/v1/photos/{pA}/{rendition}",                "anonymous",     404),
    ("/api/v1/photos/{pA}/{rendition}",                "forged",        401),
    ("/api/v1/photos/{pA}/{rendition}",                "W",             200),
    ("/api/v1/photos/{pA}/{rendition}",                "W2",            404),
    ("/api/v1/photos/{pA}/{rendition}",                "I1",            200),
    ("/api/v1/photos/{pA}/{rendition}",                "I2",            404),
    ("/api/v1/photos/{pA}/{rendition}",                "I3",            404),
    ("/api/v1/photos/{pA}/{rendition}",                "I_prov",        200),
    ("/api/v1/photos/{pA}/{rendition}",                "S1",            200),
    ("/api/v1/photos/{pA}/{rendition}",                "S2",            404),
    ("/api/v1/photos/{pA}/{rendition}",                "C",             200),
    ("/api/v1/photos/{pA}/{rendition}",                "admin",         200),
    ("/api/v1/photos/{pB}/{rendition}",                "anonymous",     404),
    ("/api/v1/photos/{pB}/{rendition}",                "forged",        401),
    ("/api/v1/photos/{pB}/{rendition}",                "W",             404),
    ("/api/v1/photos/{pB}/{rendition}",                "W2",            404),
    ("/api/v1/photos/{pB}/{rendition}",                "I1",            404),
    ("/api/v1/photos/{pB}/{rendition}",                "I2",            200),
    ("/api/v1/photos/{pB}/{rendition}",                "I3",            200),
    ("/api/v1/photos/{pB}/{rendition}",                "I_prov",        200),
    ("/api/v1/photos/{pB}/{rendition}",                "S1",            404),
    ("/api/v1/photos/{pB}/{rendition}",                "S2",            200),
    ("/api/v1/photos/{pB}/{rendition}",                "C",             404),
    ("/api/v1/photos/{pB}/{rendition}",                "admin",         200),
    ("/api/v1/photos/{missing_photo}/{rendition}",     "anonymous",     404),
    ("/api/v1/photos/{missing_photo}/{rendition}",     "admin",         404),
    # a t signed for another photo (or no signature at all) opens nothing
    ("/api/v1/photos/{pA}/{rendition}?t={tB}",         "anonymous",     404),
    ("/api/v1/photos/{pA}/{rendition}?t={tB}",         "W2",            404),
    ("/api/v1/photos/{pA}/{rendition}?t={tB}",         "I2",            404),
    ("/api/v1/photos/{pA}/{rendition}?t={tB}",         "S2",            404),
    ("/api/v1/photos/{pB}/{rendition}?t={tA}",         "anonymous",     404),
    ("/api/v1/photos/{pB}/{rendition}?t={tA}",         "W",             404),
    ("/api/v1/photos/{pB}/{rendition}?t={tA}",         "I1",            404),
    ("/api/v1/photos/{pB}/{rendition}?t={tA}",         "S1",            404),
    ("/api/v1/photos/{pB}/{rendition}?t={tA}",         "C",             404),
    ("/api/v1/photos/{pB}/{rendition}?t=not-a-signature", "anonymous",  404),
]  # fmt: skip


@pytest.mark.parametrize("rendition", ["display", "thumbnail"])
@pytest.mark.parametrize("row", RENDITION_READS, ids=row_id)
def test_renditions_open_with_a_signed_link_or_the_right_to_read(world, row, rendition):
    endpoint, caller, expected = row
    signed = {k: v[rendition] for k, v in world.signed_urls.items()}
    fmt = {
        "rendition": rendition,
        "A_signed_url": signed["A"],
        "B_signed_url": signed["B"],
        "tA": parse_qs(urlsplit(signed["A"]).query)["t"][0],
        "tB": parse_qs(urlsplit(signed["B"]).query)["t"][0],
    }
    assert "?t=" in signed["A"] and f"/{rendition}" in signed["A"]
    response = check_row(world, "GET", endpoint, caller, expected, fmt=fmt)
    if expected == 200 and STORAGE_KIND != "s3":
        assert response.mimetype == "image/jpeg"


# --- POST /api/v1/reports/<id>/claim (a world of its own: claiming changes B) -------------------

CLAIM_STEPS = [
    # method  endpoint                      caller                   expected
    ("POST",  "/api/v1/reports/{B}/claim",  "anonymous",             401),
    ("POST",  "/api/v1/reports/{B}/claim",  "followup_B",            401),  # the token is no sign-in
    ("POST",  "/api/v1/reports/{B}/claim",  "forged+followup_B",     401),
    ("POST",  "/api/v1/reports/{B}/claim",  "W2+followup_wrong",     404),
    ("POST",  "/api/v1/reports/{B}/claim",  "W2",                    404),  # no token at all
    ("POST",  "/api/v1/reports/{A}/claim",  "W2+followup_B",         404),  # B's token, A's id
    ("POST",  "/api/v1/reports/{missing}/claim", "W2+followup_B",    404),
    ("GET",   "/api/v1/reports/{B}",        "W2",                    404),  # not yet theirs
    ("POST",  "/api/v1/reports/{B}/claim",  "W2+followup_B",         200),
    ("GET",   "/api/v1/reports/{B}",        "W2",                    200),  # now theirs
]  # fmt: skip


def test_claiming_an_anonymous_report_needs_a_sign_in_and_its_token(fresh_world):
    failures = []
    for step in CLAIM_STEPS:
        method, endpoint, caller, expected = step
        try:
            check_row(fresh_world, method, endpoint, caller, expected)
        except AssertionError as failure:
            failures.append(f"{row_id(step)}: {failure}")
    listed = fresh_world.request("GET", "/api/v1/reports", "W2").json["items"]
    if [item["id"] for item in listed] != [fresh_world.ids["B"]]:
        failures.append(f"W2's list after the claim: {[item['id'] for item in listed]}")
    assert not failures, "\n".join(failures)


# --- GET /api/v1/auth/me ------------------------------------------------------------------------

ME = [
    # endpoint           caller          expected
    ("/api/v1/auth/me",  "anonymous",    401),
    ("/api/v1/auth/me",  "followup_B",   401),
    ("/api/v1/auth/me",  "forged",       401),
    ("/api/v1/auth/me",  "W",            200),
    ("/api/v1/auth/me",  "W2",           200),
    ("/api/v1/auth/me",  "I1",           200),
    ("/api/v1/auth/me",  "I2",           200),
    ("/api/v1/auth/me",  "I3",           200),
    ("/api/v1/auth/me",  "I_prov",       200),
    ("/api/v1/auth/me",  "S1",           200),
    ("/api/v1/auth/me",  "S2",           200),
    ("/api/v1/auth/me",  "C",            200),
    ("/api/v1/auth/me",  "admin",        200),
]  # fmt: skip


@pytest.mark.parametrize("row", ME, ids=row_id)
def test_me_answers_each_signed_in_caller_with_its_own_role(world, row):
    endpoint, caller, expected = row
    response = check_row(world, "GET", endpoint, caller, expected)
    if expected == 200:
        assert response.json["id"] == world.user_id(caller)
        assert response.json["role"] == world.users[caller]["role"]


# --- /api/v1/users (administration) -------------------------------------------------------------

USER_ADMIN = [
    # method   endpoint               caller         expected
    ("GET",    "/api/v1/users",       "anonymous",   401),
    ("GET",    "/api/v1/users",       "forged",      401),
    ("GET",    "/api/v1/users",       "W",           403),
    ("GET",    "/api/v1/users",       "W2",          403),
    ("GET",    "/api/v1/users",       "I1",          403),
    ("GET",    "/api/v1/users",       "I2",          403),
    ("GET",    "/api/v1/users",       "I3",          403),
    ("GET",    "/api/v1/users",       "I_prov",      403),
    ("GET",    "/api/v1/users",       "S1",          403),
    ("GET",    "/api/v1/users",       "S2",          403),
    ("GET",    "/api/v1/users",       "C",           403),
    ("GET",    "/api/v1/users",       "admin",       200),
    ("POST",   "/api/v1/users",       "anonymous",   401),
    ("POST",   "/api/v1/users",       "forged",      401),
    ("POST",   "/api/v1/users",       "W",           403),
    ("POST",   "/api/v1/users",       "W2",          403),
    ("POST",   "/api/v1/users",       "I1",          403),
    ("POST",   "/api/v1/users",       "I2",          403),
    ("POST",   "/api/v1/users",       "I3",          403),
    ("POST",   "/api/v1/users",       "I_prov",      403),
    ("POST",   "/api/v1/users",       "S1",          403),
    ("POST",   "/api/v1/users",       "S2",          403),
    ("POST",   "/api/v1/users",       "C",           403),
    ("POST",   "/api/v1/users",       "admin",       201),
    ("PATCH",  "/api/v1/users/{T}",   "anonymous",   401),
    ("PATCH",  "/api/v1/users/{T}",   "forged",      401),
    ("PATCH",  "/api/v1/users/{T}",   "W",           403),
    ("PATCH",  "/api/v1/users/{T}",   "W2",          403),
    ("PATCH",  "/api/v1/users/{T}",   "I1",          403),
    ("PATCH",  "/api/v1/users/{T}",   "I2",          403),
    ("PATCH",  "/api/v1/users/{T}",   "I3",          403),
    ("PATCH",  "/api/v1/users/{T}",   "I_prov",      403),
    ("PATCH",  "/api/v1/users/{T}",   "S1",          403),
    ("PATCH",  "/api/v1/users/{T}",   "S2",          403),
    ("PATCH",  "/api/v1/users/{T}",   "C",           403),
    ("PATCH",  "/api/v1/users/{T}",   "admin",       200),
]  # fmt: skip


@pytest.mark.parametrize("row", USER_ADMIN, ids=row_id)
def test_user_administration_is_for_admins_only(world, row):
    method, endpoint, caller, expected = row
    body = None
    if method == "POST":
        n = USER_ADMIN.index(row)
        body = {"phone": f"1370000{n:04d}", "password": PASSWORD, "role": "worker"}
    elif method == "PATCH":
        body = {"name": f"renamed by {caller}"}
    check_row(world, method, endpoint, caller, expected, json=body)
    with world.app.app_context():
        target = db.session.get(User, world.ids["T"])
        if method == "PATCH" and expected != 200:
            assert target.name != f"renamed by {caller}", "a refused PATCH changed nothing"
        if method == "POST" and expected != 201:
            taken = db.session.scalar(select(User).where(User.phone == body["phone"]))
            assert taken is None, "a refused POST created nobody"


# --- POST /api/v1/reports (a fresh app: new reports would change the lists above) ---------------

REPORT_SUBMISSIONS = [
    # endpoint           caller            expected
    ("/api/v1/reports",  "anonymous",      201),
    ("/api/v1/reports",  "worker",         201),
    ("/api/v1/reports",  "forged",         401),  # "Bearer abc"
    ("/api/v1/reports",  "forged_tampered", 401),  # the worker's token, one character changed
    ("/api/v1/reports",  "forged_other_key", 401),  # well formed, signed with another key
    ("/api/v1/reports",  "forged_no_session", 401),  # our key, but no such sign-in session
]  # fmt: skip


def invalid_bearers(app, user: dict) -> dict[str, dict]:
    """Bearer tokens that must each be refused with token_invalid, even where anonymous is fine."""
    token = user["headers"]["Authorization"].split(" ", 1)[1]
    # The signature's first character: its every bit counts (a last base64 character's need not).
    payload, signature = token.rsplit(".", 1)
    tampered = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    other_key = AccessTokens("another-secret-key", 900).issue("any-session", user["id"])
    no_session = app.extensions["hazard_access_tokens"].issue("no-such-session", user["id"])
    return {
        "forged": {"Authorization": "Bearer abc"},
        "forged_tampered": {"Authorization": f"Bearer {tampered}"},
        "forged_other_key": {"Authorization": f"Bearer {other_key}"},
        "forged_no_session": {"Authorization": f"Bearer {no_session}"},
    }


@pytest.mark.parametrize("row", REPORT_SUBMISSIONS, ids=row_id)
def test_anyone_may_report_but_a_bad_token_is_refused(app, client, row):
    _endpoint, caller, expected = row  # post_report always POSTs to /api/v1/reports
    worker = make_user(app, "worker")
    headers = {"anonymous": {}, "worker": worker["headers"], **invalid_bearers(app, worker)}
    response = post_report(client, headers=headers[caller], region_code="510703")
    assert response.status_code == expected, describe(response)
    if expected == 401:
        assert response.json["error"]["code"] == "token_invalid"


# --- an invalid bearer is refused even where no sign-in is needed -------------------------------

INVALID_BEARER_READS = [
    # endpoint                   also sent                 (every invalid bearer expects 401)
    ("/api/v1/reports/{B}",      "followup_B"),
    ("{B_signed_url}",           "anonymous"),
    ("/api/v1/auth/me",          "anonymous"),
    ("/api/v1/reports",          "anonymous"),
]  # fmt: skip


@pytest.mark.parametrize(
    "kind", ["forged", "forged_tampered", "forged_other_key", "forged_no_session"]
)
@pytest.mark.parametrize("row", INVALID_BEARER_READS, ids=row_id)
def test_an_invalid_bearer_token_is_refused_everywhere(world, row, kind):
    endpoint, also = row
    headers = {**world.headers(also), **invalid_bearers(world.app, world.users["admin"])[kind]}
    path = world.path(endpoint, B_signed_url=world.signed_urls["B"]["display"])
    response = world.client.get(path, headers=headers)
    assert response.status_code == 401, f"{path} with {kind}: {describe(response)}"
    assert response.json["error"]["code"] == "token_invalid"


# --- what a unit and the committee never see ----------------------------------------------------


def unit_must_not_see(world: World) -> list[str]:
    w = world.users["W"]
    return [
        w["phone"],
        W_NAME,
        f'"reporter_id": {w["id"]}',
        f"user:{w['id']}",  # W's id as a timeline actor is the same leak
        "original",
        CAMERA_MAKE,
        CAMERA_MODEL,
        '"reporter"',
        '"anonymous"',
        "identity",
    ]


def committee_must_not_see(world: World) -> list[str]:
    w = world.users["W"]
    return [w["phone"], W_NAME, "original"]


CONFIDENTIALITY = [
    # endpoint                caller  must not contain
    ("/api/v1/reports/{A}",  "S1",    unit_must_not_see),
    ("/api/v1/reports",      "S1",    unit_must_not_see),
    ("/api/v1/reports/{A}",  "C",     committee_must_not_see),
    ("/api/v1/reports",      "C",     committee_must_not_see),
]  # fmt: skip


@pytest.mark.parametrize("row", CONFIDENTIALITY, ids=lambda row: f"{row[0]} | {row[1]}")
def test_units_and_the_committee_never_learn_who_reported(world, row):
    endpoint, caller, forbidden = row
    # Reads by an inspector first, so that the timeline holds identity reads to leak.
    world.request("GET", world.path("/api/v1/reports/{A}/reporter"), "I1")
    world.request("GET", world.path("/api/v1/photos/{pA}/original"), "I1")
    response = check_row(world, "GET", endpoint, caller, 200)
    if endpoint == "/api/v1/reports":
        assert world.ids["A"] in {item["id"] for item in response.json["items"]}
    raw = response.get_data(as_text=True)
    normalised = json.dumps(response.json, ensure_ascii=False, separators=(", ", ": "))
    compact = json.dumps(response.json, ensure_ascii=False, separators=(",", ":"))
    leaks = [
        s
        for s in forbidden(world)
        if any(s in text or s.replace(": ", ":") in text for text in (raw, normalised, compact))
    ]
    assert not leaks, f"{caller}'s answer to {endpoint} contains {leaks}: {normalised[:600]}"


# --- reads of identity and originals are written to the timeline --------------------------------

AUDITED_READS = [
    # endpoint                          reader     report  action
    ("/api/v1/reports/{A}/reporter",   "I1",      "A",    "reporter_identity_read"),
    ("/api/v1/photos/{pA}/original",   "I1",      "A",    "original_photo_read"),
    ("/api/v1/reports/{B}/reporter",   "I2",      "B",    "reporter_identity_read"),
    ("/api/v1/photos/{pB}/original",   "I3",      "B",    "original_photo_read"),
    ("/api/v1/reports/{A}/reporter",   "I_prov",  "A",    "reporter_identity_read"),
    ("/api/v1/photos/{pB}/original",   "I_prov",  "B",    "original_photo_read"),
    ("/api/v1/reports/{B}/reporter",   "admin",   "B",    "reporter_identity_read"),
    ("/api/v1/photos/{pA}/original",   "admin",   "A",    "original_photo_read"),
]  # fmt: skip


def read_events(world: World, report: str, viewer: str, action: str, actor: str) -> int:
    response = world.request("GET", world.path(f"/api/v1/reports/{{{report}}}"), viewer)
    assert response.status_code == 200, describe(response)
    timeline = response.json["timeline"]
    return sum(1 for e in timeline if e["action"] == action and e.get("actor") == actor)


@pytest.mark.parametrize("row", AUDITED_READS, ids=row_id)
def test_each_identity_or_original_read_is_an_event_for_inspectors(world, row):
    endpoint, reader, report, action = row
    actor = f"user:{world.user_id(reader)}"
    before = {v: read_events(world, report, v, action, actor) for v in (reader, "admin")}
    check_row(world, "GET", endpoint, reader, 200)
    after = {v: read_events(world, report, v, action, actor) for v in (reader, "admin")}
    assert after == {v: n + 1 for v, n in before.items()}, f"{action} by {actor}: {before}->{after}"


REPORTER_OWN_VIEWS = [
    # endpoint                caller
    ("/api/v1/reports/{A}",  "W"),           # the signed-in reporter
    ("/api/v1/reports/{B}",  "followup_B"),  # the anonymous reporter
]  # fmt: skip


@pytest.mark.parametrize("row", REPORTER_OWN_VIEWS, ids=row_id)
def test_the_reporter_does_not_see_who_read_their_identity(world, row):
    endpoint, caller = row
    for read in ("/api/v1/reports/{A}/reporter", "/api/v1/photos/{pA}/original"):
        check_row(world, "GET", read, "I_prov", 200)
    for read in ("/api/v1/reports/{B}/reporter", "/api/v1/photos/{pB}/original"):
        check_row(world, "GET", read, "I_prov", 200)
    response = check_row(world, "GET", endpoint, caller, 200)
    actions = [e["action"] for e in response.json["timeline"]]
    assert "submitted" in actions
    assert not {"reporter_identity_read", "original_photo_read"} & set(actions), actions
