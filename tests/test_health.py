"""``GET /api/v1/health`` for load balancers: 200 when the database and storage answer, 503 with
Retry-After naming what is down."""

from __future__ import annotations

from tests.conftest import build_app


def test_health_is_ok_when_database_and_storage_answer(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}


def test_health_names_an_unreachable_broker_and_asks_to_retry(tmp_path):
    app = build_app(tmp_path, TASK_RUNNER="celery", CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["checks"] == {
        "database": "ok",
        "storage": "ok",
        "broker": "unavailable",
    }


def test_health_reports_a_database_that_is_down(tmp_path):
    from hazard_reporter.extensions import db

    path = tmp_path / "health.db"
    app = build_app(tmp_path, DATABASE_URL=f"sqlite:///{path}")
    with app.app_context():
        db.engine.dispose()
    path.unlink()
    path.mkdir()  # no longer a database file: every connection fails
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unavailable"
