"""The benchmark scripts still run against the current code: tiny inputs, no timing claims."""

from __future__ import annotations

import pytest

from bench import derivatives, queries, upload_rss
from tests.fixtures import make_jpeg


def test_derivatives_bench_times_both_pipelines_and_prints_a_row_per_group():
    photo = derivatives.phone_jpeg(0, width=96, height=64, icc_profile=derivatives.DISPLAY_P3_ICC)
    photos = [derivatives.Photo("tiny", "tiny.jpg", photo, 96 * 64 / 1e6)]
    pipelines = {"ours": derivatives.project_pipeline(), "bare": derivatives.bare_pipeline}
    results = derivatives.measure(photos, pipelines, rounds=2)
    assert len(results["tiny"].ms["ours"]) == len(results["tiny"].paired) == 2
    lines = derivatives.table(photos, results).splitlines()
    assert len(lines) == 3 and lines[2].startswith("| tiny | 1 |")


def test_upload_bench_request_is_one_the_api_accepts(client):
    body, content_type = upload_rss.multipart(
        upload_rss.report_fields("smoke"), make_jpeg(), "IMG_0001.jpg"
    )
    response = client.post("/api/v1/reports", data=body, content_type=content_type)
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["photos"]) == 1


@pytest.mark.parametrize("module", [derivatives, upload_rss], ids=["derivatives", "upload_rss"])
def test_bench_scripts_explain_themselves(module, capsys):
    with pytest.raises(SystemExit) as exited:
        module.parse_args(["--help"])
    assert exited.value.code == 0
    assert ".venv/bin/python bench/" in capsys.readouterr().out


def test_query_bench_loads_its_reports_into_the_current_schema(tmp_path):
    # Its rows are written column by column, past the ORM: a new NOT NULL column (migration
    # 0012's photos.derivatives_attempts) broke the benchmark and nothing else noticed.
    from sqlalchemy import func, select

    from hazard_reporter.extensions import db
    from hazard_reporter.photos.models import Photo
    from hazard_reporter.reports.models import Report

    app = queries.bench_app(f"sqlite:///{tmp_path}/bench.db")
    queries.fill(app, 40, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 40
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 40
        db.session.remove()
