"""Database plumbing shared by every domain: the engine's settings and column types."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import DateTime, event, insert, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_S = 30


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; FULL sync because a 201 promises durability.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def configure_database(app: Flask) -> None:
    """Map ``HAZARD_DATABASE_URL`` to SQLAlchemy's settings and tune SQLite."""
    url = app.config["DATABASE_URL"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_S})
    else:
        options.setdefault("pool_pre_ping", True)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        _sqlite_pragmas(dbapi_connection, record)


@functools.cache
def _insert_plan(mapper):
    """For ``insert_as_loaded``: the INSERT returning the key the database makes, that key's
    attribute, and (attribute, column, default) for every other column."""
    table = mapper.local_table
    (key_column,) = table.primary_key.columns
    columns = [
        (mapper.get_property_by_column(column).key, column.key, column.default)
        for column in table.columns
        if column is not key_column
    ]
    for column in table.columns:
        default = column.default
        if column.server_default is not None or (
            default is not None and not (default.is_scalar or default.is_callable)
        ):
            raise ValueError(f"{column}: only Python-side defaults are filled in here")
    key = mapper.get_property_by_column(key_column).key
    return insert(table).returning(key_column), key, columns


def insert_as_loaded(connection: Connection, obj) -> None:
    """INSERT a new mapped object (of a table whose one-column key the database makes) with one
    Core statement, setting its key, its columns' defaults and None where a column has none, as
    the ORM's flush would, at about half the flush's cost. The object stays transient:
    ``attach_as_loaded`` then hands it to a session."""
    statement, key, columns = _insert_plan(inspect(obj).mapper)
    state = obj.__dict__
    if key in state:
        raise ValueError(f"{obj!r} has a key already: the database makes it")
    values = {}
    for attribute, column, default in columns:
        if attribute not in state:
            if default is None:
                value = None
            elif default.is_callable:
                value = default.arg(None)
            else:
                value = default.arg
            setattr(obj, attribute, value)
        values[column] = state[attribute]
    setattr(obj, key, connection.execute(statement, values).scalar_one())


def attach_as_loaded(session, *objects) -> None:
    """Hand objects written by ``insert_as_loaded`` to ``session`` as if it had loaded them from
    the database: nothing of them is written again, and later changes are flushed as usual."""
    for obj in objects:
        make_transient_to_detached(obj)
    for obj in objects:
        session.add(obj)
