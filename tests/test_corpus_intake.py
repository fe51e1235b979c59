"""Every photo of the real-world corpus through the API, against exiftool's ground truth."""

from __future__ import annotations

import time

import pytest

from tests.corpus import CORPUS_DIR, corpus_path, entries, requires_corpus
from tests.test_hostile_files import measured_post
from tests.test_reports_api import post_report

pytestmark = requires_corpus

TOO_LARGE = "heic/samsung_s24ultra_200mp_orient6.heic"
NOT_A_PHONE_FORMAT = "real/parrot_sequoia_gps.tif"
CLIENT_ERRORS = {400, 413, 415, 422}


def usable_position(entry: dict) -> tuple[float, float] | None:
    """exiftool's position where the manifest does not say it is unusable."""
    truth = entry["ground_truth"]
    lat, lon = truth.get("gps_lat"), truth.get("gps_lon")
    if lat is None or lon is None or entry.get("ground_truth_notes") or (lat, lon) == (0, 0):
        return None
    return lat, lon


def _ids(entry):
    return entry["file"]


def send(client, entry):
    path = corpus_path(entry["file"])
    fields = {} if usable_position(entry) else {"region_code": "510703"}
    started = time.monotonic()
    response = post_report(client, photos=[(path.read_bytes(), path.name)], **fields)
    return response, time.monotonic() - started


@pytest.mark.parametrize("entry", entries("real") + entries("heic"), ids=_ids)
def test_real_phone_photo_is_accepted_and_located_as_exiftool_says(client, entry):
    response, _ = send(client, entry)
    if entry["file"] == TOO_LARGE:
        assert response.status_code == 413
        assert response.json["error"]["code"] == "image_too_large"
        assert "16320" in response.json["error"]["message"]
        return
    if entry["file"] == NOT_A_PHONE_FORMAT:
        assert response.status_code == 415
        assert "TIFF" in response.json["error"]["message"]
        return
    assert response.status_code == 201, response.json
    location = response.json["location"]
    position = usable_position(entry)
    if position:
        assert location["source"] == "exif"
        assert location["lat"] == pytest.approx(position[0], abs=1e-5)
        assert location["lon"] == pytest.approx(position[1], abs=1e-5)
    else:
        # No usable GPS (none, empty, 0,0 or the FLIR maker note): located by the region only.
        assert location["source"] == "manual" and location["lat"] is None
    [photo] = response.json["photos"]
    assert photo["status"] == "ready"


def test_every_file_of_the_hostile_folder_is_in_the_manifest():
    on_disk = {f"hostile/{path.name}" for path in (CORPUS_DIR / "hostile").iterdir()}
    assert on_disk == {entry["file"] for entry in entries("hostile")}


@pytest.mark.parametrize("entry", entries("hostile"), ids=_ids)
def test_hostile_file_gets_what_the_manifest_expects_within_time_and_memory(client, entry):
    path = corpus_path(entry["file"])
    measured = measured_post(client, path.read_bytes(), path.name)
    measured.assert_within_limits(entry["file"])  # 2 s, and the memory bounds stated there
    response = measured.response
    action = entry["expected_server_behaviour"]["action"]
    assert response.status_code < 500, response.json
    assert (response.is_json and "error" in response.json) or response.status_code == 201
    if action == "reject":
        assert response.status_code in CLIENT_ERRORS, response.json
        assert response.json["error"]["field"] == "photos"
    elif action == "reject_or_accept_decoded":
        assert response.status_code in CLIENT_ERRORS | {201}
    else:  # accept, accept_ignore_metadata, accept_ignore_gps, accept_no_gps, sniff_content
        assert response.status_code == 201, response.json
        assert response.json["location"]["lat"] is None  # none of these has a usable fix
