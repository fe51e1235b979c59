"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
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
