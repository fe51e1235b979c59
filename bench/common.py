"""What the benchmark scripts share: multipart bodies built once, free ports, waiting for a server,
the environment of the project run as at scale and its database made ready."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def multipart(fields: dict[str, str], photos: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of text ``fields`` and JPEG ``photos`` (file name, bytes) under
    the name ``photos``, and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for filename, data in photos:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; '
            f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:``port`` (and ``process`` has not exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


@contextlib.contextmanager
def scratch_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server of ``server_url`` (dropped afterwards); yields
    its URL."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def queued_app_env(
    work: Path, *, database_url: str, redis_url: str, queue: str, **settings: str
) -> dict[str, str]:
    """The environment of the project as run at scale, its files under ``work``: renditions sent
    to the Celery ``queue`` on ``redis_url``, no in-process loop, no rate limits; ``settings``
    adds or overrides variables."""
    return {
        **os.environ,
        "HAZARD_ENV": "development",
        "HAZARD_DATABASE_URL": database_url,
        "HAZARD_UPLOAD_DIR": str(work / "uploads"),
        "HAZARD_RATELIMIT_ENABLED": "false",
        "HAZARD_BACKGROUND_SECONDS": "0",
        "HAZARD_TASK_RUNNER": "celery",
        "HAZARD_CELERY_BROKER_URL": redis_url,
        "HAZARD_CELERY_QUEUE": queue,
        "PYTHONPATH": str(ROOT),
        **settings,
    }


def prepare_database(env: dict[str, str]) -> None:
    """Create the tables and the demo data (regions, sectors, units) as a new deployment does."""
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run([*flask, *command], cwd=ROOT, env=env, check=True, capture_output=True)
