"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from hazard_reporter import create_app
from hazard_reporter.demo import load_demo_data
from hazard_reporter.extensions import db

POSTGRES_URL = os.environ.get(
    "HAZARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def migrate_and_compare(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = create_app({"TESTING": True, "DATABASE_URL": url, "STORAGE": "memory"})
    with app.app_context():
        try:
            upgrade()
            with db.engine.connect() as connection:
                diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert diff == []
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert load_demo_data(db.session) == (11, 6)  # the seed runs on the migrated schema
        finally:
            # Even on failure: a pooled psycopg connection left to the garbage collector warns
            # (an error under filterwarnings) in whichever later test happens to collect it.
            db.session.remove()
            db.engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path):
    migrate_and_compare(f"sqlite:///{tmp_path / 'migrated.db'}")


def test_on_a_migrated_database_the_duplicate_look_up_reads_by_sha256(tmp_path):
    # SQLite plans without statistics here; on the migrated schema it once answered intake's
    # exact-duplicate look-up through ix_photos_kind_created_at, i.e. by reading every report
    # photo whenever nothing matched (the usual case), a look-up that grew with the table.
    from sqlalchemy import event

    from hazard_reporter.reports.services import _photos_on_file

    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "STORAGE": "memory"}
    )
    with app.app_context():
        upgrade()
        seen = []

        def record(_conn, _cursor, statement, parameters, *_):
            seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        for reporter in (None, 7):
            _photos_on_file(db.session, sha256s=["a" * 64, "b" * 64], reporter_id=reporter)
        event.remove(db.engine, "before_cursor_execute", record)
        with db.engine.connect() as connection:
            for statement, parameters in seen:
                plan = [
                    row[-1]
                    for row in connection.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, parameters
                    )
                ]
                searches = [line for line in plan if "photos" in line]
                assert len(searches) == 2, plan
                assert all("ix_photos_sha256_kind (sha256=?" in line for line in searches), plan
        db.session.remove()
        db.engine.dispose()


def postgres_or_skip() -> str:
    """A fresh database on the PostgreSQL server, or skip with the reason."""
    admin_url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = create_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        name = f"hz_test_{uuid.uuid4().hex[:10]}"
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server on this machine
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    return engine, name


def test_postgresql_migrations_match_the_models():
    engine, name = postgres_or_skip()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        migrate_and_compare(f"{base}/{name}")
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def test_photos_claimed_from_uploads_before_0014_keep_their_claim(tmp_path):
    # Before 0014 a claimed upload was its photo's original: the key the claim is now looked up
    # by is filled from it, so the upload cannot be claimed by a second report after upgrading.
    from hazard_reporter.photos.services import ensure_unclaimed

    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "STORAGE": "memory"}
    )
    uploaded = "uploads/2026/12/01/" + "a" * 32
    with app.app_context():
        upgrade(revision="0013_delivery_retry_from")
        with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as connection, connection:
            connection.execute(
                "INSERT INTO reports (id, sector, description, status, severity, "
                "location_source, submitted_at, anonymous, immediate_danger, "
                "request_fingerprint, flags) VALUES (1, 'other', 'd', 'submitted', 'blue', "
                "'region', '2026-12-01 00:00:00', 1, 0, '', '[]')"
            )
            for position, key in enumerate((uploaded, "originals/2026/12/01/b.jpg")):
                connection.execute(
                    "INSERT INTO photos (report_id, position, kind, original_key, sha256, "
                    "size_bytes, format, width, height, metadata, derivatives, "
                    "derivatives_attempts, created_at) VALUES (1, ?, 'report', ?, ?, 1, 'jpeg', "
                    "1, 1, '{}', 'pending', 0, '2026-12-01 00:00:00')",
                    (position, key, "c" * 64),
                )
        upgrade()
        with db.engine.connect() as connection:
            claims = connection.execute(text("SELECT upload_key FROM photos ORDER BY id")).all()
        assert [row[0] for row in claims] == [uploaded, None]

        class Claimed:
            stored_key, uploaded_at = uploaded, None

        with pytest.raises(Exception, match="upload") as refused:
            ensure_unclaimed(db.session, [Claimed()])
        assert refused.type.__name__ == "UploadAlreadyUsed"
        db.session.remove()
        db.engine.dispose()
