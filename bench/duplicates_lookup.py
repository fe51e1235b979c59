"""Benchmark: the duplicate look-up with a million synthetic reports, on SQLite and PostgreSQL.

    .venv/bin/python bench/duplicates_lookup.py [--reports 1000000] [--lookups 300]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Prints a markdown table (median and p95 per database). Reports are spread over Sichuan with a
denser core around Mianyang, nine sectors, the last 60 days; each look-up is the worker's
suggestion query (same sector, 250 m, 30 days) at a random place in the dense core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HAZARD_ENV", "testing")

from sqlalchemy import insert, text

from bench.common import scratch_postgres
from hazard_reporter import create_app
from hazard_reporter.duplicates.grid import cell_of
from hazard_reporter.duplicates.services import candidates
from hazard_reporter.extensions import db
from hazard_reporter.reports.models import Report
from hazard_reporter.sectors.models import Sector

SECTORS = [s.value for s in Sector]
NOW = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)


def rows(count: int, rng: random.Random):
    for _ in range(count):
        if rng.random() < 0.5:  # the city: 0.3° × 0.3°
            lat, lon = 31.35 + rng.random() * 0.3, 104.55 + rng.random() * 0.3
        else:  # the rest of the province
            lat, lon = 26.0 + rng.random() * 8.0, 98.0 + rng.random() * 10.0
        yield {
            "sector": rng.choice(SECTORS),
            "description": "synthetic",
            "status": "submitted",
            "severity": "yellow",
            "lat": lat,
            "lon": lon,
            "location_source": "device",
            "grid_cell": cell_of(lat, lon),
            "submitted_at": NOW - timedelta(seconds=rng.randrange(60 * 86400)),
            "anonymous": True,
            "immediate_danger": False,
            "request_fingerprint": "x",
            "flags": [],
            "triage_reasons": [],
            "severity_rank": 2,
            "independent_reports": 1,
            "overdue": False,
            "accident_prevented": False,
        }


def fill(app, count: int) -> float:
    rng = random.Random(2026)
    started = time.perf_counter()
    with app.app_context():
        db.create_all()
        batch = []
        for row in rows(count, rng):
            batch.append(row)
            if len(batch) == 20_000:
                db.session.execute(insert(Report), batch)
                db.session.commit()
                batch.clear()
        if batch:
            db.session.execute(insert(Report), batch)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE reports"))
        else:
            db.session.execute(text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def measure(app, lookups: int) -> list[float]:
    rng = random.Random(7)
    timings = []
    with app.app_context():
        for _ in range(lookups):
            lat, lon = 31.35 + rng.random() * 0.3, 104.55 + rng.random() * 0.3
            started = time.perf_counter()
            candidates(
                db.session,
                sector=rng.choice(SECTORS),
                lat=lat,
                lon=lon,
                radius_m=250,
                since=NOW - timedelta(days=30),
            )
            timings.append((time.perf_counter() - started) * 1000)
            db.session.expunge_all()
    return timings


def run(label: str, url: str, count: int, lookups: int) -> str:
    app = create_app(
        {"TESTING": True, "DATABASE_URL": url, "STORAGE": "memory", "SECRET_KEY": "bench"}
    )
    seconds = fill(app, count)
    timings = sorted(measure(app, lookups))
    p95 = timings[int(len(timings) * 0.95) - 1]
    return (
        f"| {label} | {count:,} | {lookups} | {statistics.median(timings):.2f} | {p95:.2f} | "
        f"{seconds:.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--postgres", default=None, help="server URL; a scratch database is made")
    args = parser.parse_args()
    lines = [
        "| database | reports | look-ups | median ms | p95 ms | load |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        lines.append(
            run("SQLite (WAL)", f"sqlite:///{scratch}/bench.db", args.reports, args.lookups)
        )
    if args.postgres:
        with scratch_postgres(args.postgres, "hz_bench") as url:
            lines.append(run("PostgreSQL", url, args.reports, args.lookups))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
