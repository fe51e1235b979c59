"""One hazard with ten voices: duplicate suggestions on intake, "me too", and the nearby look-up."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw

from hazard_reporter.duplicates.grid import cell_of, cells_near, photo_similarity
from hazard_reporter.geo.coords import distance_m
from tests.conftest import make_user
from tests.fixtures import exif_bytes
from tests.test_reports_api import post_report

EXIT = (31.46750, 104.67960)  # a blocked exit in 涪城区


def scene(seed: int, size=(1200, 900)) -> Image.Image:
    """A picture with its own layout of shapes: the same seed is the same scene."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(80, 500), rng.randrange(80, 400)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def jpeg(image: Image.Image, *, quality=90, gps=None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif_bytes(gps=gps, make="Phone", model="X"))
    return out.getvalue()


def variant(index: int, gps) -> bytes:
    """The same scene as another phone would take it: re-encoded, cropped a little, resized."""
    image = scene(7)
    w, h = image.size
    crop = index * 6  # up to ~5 %
    image = image.crop((crop, crop, w - crop, h - crop))
    if index % 3 == 1:
        image = image.resize((w // 2, h // 2))
    elif index % 3 == 2:
        image = image.resize((int(w * 0.8), int(h * 0.8)))
    return jpeg(image, quality=95 - index * 4, gps=gps)


def nearby(metres_north: float, metres_east: float = 0.0):
    return (EXIT[0] + metres_north / 111_195, EXIT[1] + metres_east / 94_800)


def test_ten_phones_one_hazard_one_report_with_ten_reporters(client, app):
    first = post_report(
        client,
        photos=[variant(0, nearby(0))],
        sector="crowded_venue",
        description="安全出口被杂物堵塞",
    ).json
    assert first["duplicate_candidates"] == []
    for index in range(1, 10):
        where = nearby((index * 9) % 80, (index * 7) % 60)
        assert distance_m(*where, *EXIT) < 100
        created = post_report(
            client, photos=[variant(index, where)], sector="crowded_venue", description="出口堵了"
        ).json
        suggested = [c["id"] for c in created["duplicate_candidates"]]
        assert suggested[:1] == [first["id"]], created["duplicate_candidates"]
        joined = client.post(
            f"/api/v1/reports/{created['id']}/me-too",
            json={"into_id": first["id"]},
            headers={"X-Followup-Token": created["followup_token"]},
        )
        assert joined.status_code == 200 and joined.json["status"] == "duplicate"
    admin = make_user(app, "admin")["headers"]
    hazard = client.get(f"/api/v1/reports/{first['id']}", headers=admin).json
    assert hazard["independent_reports"] == 10
    assert (
        "cluster" in [r["code"] for r in hazard["triage"]["reasons"]] or hazard["severity"] == "red"
    )


def test_an_unrelated_photo_50_m_away_is_not_suggested(client):
    post_report(
        client,
        photos=[jpeg(scene(7), gps=nearby(0))],
        sector="crowded_venue",
        description="安全出口被堵",
    )
    other = post_report(
        client,
        photos=[jpeg(scene(99), gps=nearby(50))],
        sector="crowded_venue",
        description="楼梯间堆放纸箱",
    ).json
    assert other["duplicate_candidates"] == []


def test_exact_reupload_is_recognised(client):
    photo = jpeg(scene(3), gps=nearby(0))
    first = post_report(
        client, photos=[photo], sector="construction", description="基坑无护栏"
    ).json
    again = post_report(client, photos=[photo], sector="construction", description="基坑").json
    assert again["duplicate_candidates"][0]["id"] == first["id"]
    assert again["duplicate_candidates"][0]["similarity"] == 1.0


def test_inspector_sees_candidates_within_1000_m_ranked(client, app):
    inspector = make_user(app, "inspector", regions=["510000"])["headers"]
    base = post_report(
        client, photos=[jpeg(scene(5), gps=nearby(0))], sector="construction", description="塔吊"
    ).json
    near = post_report(
        client,
        photos=[jpeg(scene(6), gps=nearby(300))],
        sector="construction",
        description="另一处",
    ).json
    post_report(
        client, photos=[jpeg(scene(6), gps=nearby(1500))], sector="construction", description="太远"
    )
    post_report(
        client, photos=[jpeg(scene(6), gps=nearby(100))], sector="transport", description="别的行业"
    )
    found = client.get(f"/api/v1/reports/{base['id']}/duplicates", headers=inspector).json
    assert [c["id"] for c in found] == [near["id"]]
    assert 290 < found[0]["distance_m"] < 310
    assert "reporter" not in str(found)


def test_an_inspector_sees_no_candidate_outside_their_scope(client, app):
    # Two districts meet here: the report next door is another district's, and its inspector's.
    mine = post_report(
        client, photos=[jpeg(scene(7), gps=nearby(0))], region_code="510703", description="塔吊"
    ).json
    theirs = post_report(
        client, photos=[jpeg(scene(7), gps=nearby(200))], region_code="510704", description="塔吊"
    ).json
    district = make_user(app, "inspector", regions=["510703"])["headers"]
    city = make_user(app, "inspector", regions=["510700"])["headers"]
    path = f"/api/v1/reports/{mine['id']}/duplicates?radius_m=5000"
    assert client.get(f"/api/v1/reports/{theirs['id']}", headers=district).status_code == 404
    assert client.get(path, headers=district).json == []
    assert [c["id"] for c in client.get(path, headers=city).json] == [theirs["id"]]


def test_me_too_needs_the_reporters_proof_and_a_nearby_open_report(client):
    a = post_report(
        client, photos=[jpeg(scene(8), gps=nearby(0))], sector="construction", description="脚手架"
    ).json
    far = post_report(
        client,
        photos=[jpeg(scene(8), gps=nearby(5000))],
        sector="construction",
        description="脚手架",
    ).json
    assert (
        client.post(f"/api/v1/reports/{far['id']}/me-too", json={"into_id": a["id"]}).status_code
        == 401
    )
    refused = client.post(
        f"/api/v1/reports/{far['id']}/me-too",
        json={"into_id": a["id"]},
        headers={"X-Followup-Token": far["followup_token"]},
    )
    assert refused.status_code == 422 and refused.json["error"]["field"] == "into_id"
    wrong = client.post(
        f"/api/v1/reports/{far['id']}/me-too",
        json={"into_id": a["id"]},
        headers={"X-Followup-Token": a["followup_token"]},
    )
    assert wrong.status_code == 404


@pytest.mark.parametrize("lat", [-60.0, 0.0, 31.4675, 55.0])
def test_the_grid_search_covers_the_radius(lat):
    rng = random.Random(lat)
    for _ in range(200):
        lon = rng.uniform(-179, 179)
        dlat, dlon = rng.uniform(-0.009, 0.009), rng.uniform(-0.009, 0.009)
        other = (lat + dlat, lon + dlon)
        if distance_m(lat, lon, *other) <= 1000:
            assert cell_of(*other) in cells_near(lat, lon, 1000)


def test_photo_similarity_of_hashes():
    assert photo_similarity("ffffffffffffffff", "ffffffffffffffff") == 1.0
    assert photo_similarity("0000000000000000", "ffffffffffffffff") == 0.0
    assert photo_similarity(None, "ff") is None


def test_me_too_joins_only_an_earlier_report_still_open(client, app):
    # A me-too must not move a settled hazard's credit: not into a verified report (its colour
    # and credit are settled), and not from an older report (which would become the first).
    from hazard_reporter.extensions import db
    from hazard_reporter.reports.models import Report

    def report(seed: int, north: float) -> dict:
        photo = jpeg(scene(seed), gps=nearby(north))
        return post_report(client, photos=[photo], sector="construction", description="脚手架").json

    older, verified, newer = report(11, 0), report(12, 10), report(13, 20)
    with app.app_context():
        db.session.get(Report, verified["id"]).status = "verified"
        db.session.commit()

    def me_too(mine: dict, into: dict) -> int:
        return client.post(
            f"/api/v1/reports/{mine['id']}/me-too",
            json={"into_id": into["id"]},
            headers={"X-Followup-Token": mine["followup_token"]},
        ).status_code

    assert me_too(newer, verified) == 422
    assert me_too(older, newer) == 422  # older's reporter would take newer's place as first
    assert me_too(newer, older) == 200
