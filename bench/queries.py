"""Benchmark: the inspector queue, the report list and a year's award list with a million
synthetic reports, on SQLite and PostgreSQL, through the HTTP layer.

    .venv/bin/python bench/queries.py [--reports 1000000] [--repeat 100]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--explain] [--only award]

Prints one markdown table: per database and query, the requests timed and their median and p95 in
milliseconds, against the targets (queue and list p95 ≤ 50 ms, a year's award list ≤ 1 s a page,
its whole CSV export ≤ 5 s), with the time the load took. Each database is fresh: SQLite (WAL) in
a scratch file, PostgreSQL in a scratch database made on the server given and dropped afterwards.

The reports: one calendar year (2025, Asia/Shanghai), ids in submission order, over the demo
regions of 绵阳市 (a few at city or province level or without a region), the nine sectors, the
four colours, statuses by age (recent ones open, older ones mostly closed: about 10 % verified,
with an outcome, the rest rejected or merged into an earlier report; a small stuck backlog),
60 % from one of a pool of signed-in reporters (a few report a lot), a few with anti-fraud flags
(half cleared), and one photo each (``--photos 0`` for none). Requests go through the Flask test
client with bearer tokens of signed-in inspectors (province-wide, and a county one bound to two
sectors), the committee, a worker and a unit's staff; list pages are followed by their cursors.
``--explain`` prints the query plan of every statement of one request per query; ``--only award``
runs only the queries whose label holds the text. The load computes the stored award credits of
the verified hazards afterwards (``awards.credits.backfill``), as migration 0010 does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HAZARD_ENV", "testing")

from sqlalchemy import event, insert, select, text

from bench.common import scratch_postgres
from hazard_reporter import create_app
from hazard_reporter.accounts import services as accounts
from hazard_reporter.accounts.models import Role, User
from hazard_reporter.awards import credits
from hazard_reporter.core.db import utcnow
from hazard_reporter.demo import load_demo_data
from hazard_reporter.duplicates.grid import cell_of
from hazard_reporter.extensions import db
from hazard_reporter.photos.models import Photo
from hazard_reporter.reports.deadlines import DEFAULT_ACKNOWLEDGE_HOURS, DEFAULT_RECTIFY_HOURS
from hazard_reporter.reports.models import Report, Severity
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit

# 2026-01-01 00:00 in Asia/Shanghai: the data is the calendar year 2025 there.
NOW = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
YEAR = date(2025, 12, 31)
PASSWORD = "bench-pass-2026"
QUEUE_P95_MS = 50
LIST_P95_MS = 50
AWARDS_MS = 1000
EXPORT_MS = 5000  # the whole year's list as CSV, every reporter (a guard, not a product target)

# Where reports come from: the districts and counties of 绵阳市 (weights), a few given only the
# city or the province, a few with no region at all; a centre for each to scatter points around.
REGIONS = {
    "510703": (25, 31.47, 104.68),
    "510704": (14, 31.48, 104.75),
    "510705": (8, 31.53, 104.45),
    "510722": (12, 31.09, 105.09),
    "510723": (6, 31.21, 105.39),
    "510725": (6, 31.64, 105.17),
    "510726": (4, 31.83, 104.46),
    "510727": (3, 32.41, 104.53),
    "510781": (14, 31.78, 104.75),
    "510700": (4, 31.47, 104.70),
    "510000": (2, 30.66, 104.06),
    None: (2, 31.40, 104.60),
}
SECTORS = {
    "construction": 25,
    "crowded_venue": 15,
    "transport": 14,
    "gas_network": 12,
    "three_in_one": 12,
    "hazardous_chemicals": 8,
    "other": 10,
    "mining": 3,
    "explosives": 1,
}
COLOURS = {"red": 3, "orange": 12, "yellow": 45, "blue": 40}
# Statuses by age: new reports are open, older ones closed, a small backlog stays stuck.
BY_AGE = [
    (
        timedelta(days=1),
        {"submitted": 50, "triaged": 30, "forwarded": 15, "rejected": 3, "duplicate": 2},
    ),
    (
        timedelta(days=7),
        {
            "submitted": 3,
            "triaged": 7,
            "forwarded": 20,
            "acknowledged": 20,
            "rectifying": 20,
            "rectified": 5,
            "verified": 3,
            "rejected": 12,
            "duplicate": 10,
        },
    ),
    (
        timedelta(days=30),
        {
            "forwarded": 3,
            "acknowledged": 5,
            "rectifying": 12,
            "rectified": 5,
            "verified": 10,
            "rejected": 30,
            "duplicate": 35,
        },
    ),
    (
        timedelta(days=366),
        {
            "forwarded": 0.5,
            "acknowledged": 0.5,
            "rectifying": 1,
            "verified": 10.5,
            "rejected": 55,
            "duplicate": 32.5,
        },
    ),
]
DESCRIPTIONS = {
    "construction": "基坑边缘无防护栏杆，夜间无警示灯，有坠落风险",
    "crowded_venue": "商场三楼安全出口被货物堵塞，消防通道无法通行",
    "transport": "货车超载并占用应急车道停放",
    "gas_network": "地下室餐馆使用液化石油气钢瓶，有燃气味",
    "three_in_one": "沿街门店楼上住人，楼梯间堆放电动车充电",
    "hazardous_chemicals": "储罐区阀门滴漏，现场无人值守",
    "other": "车间配电箱门损坏，线路裸露",
    "mining": "矿井通风设施损坏，未停止作业",
    "explosives": "民爆器材仓库门锁损坏，无人看守",
}
PREVENTED = "及时处置，避免了一起燃气爆炸事故"

COLUMNS = [
    "id",
    "sector",
    "description",
    "status",
    "severity",
    "lat",
    "lon",
    "accuracy_m",
    "location_source",
    "region_code",
    "grid_cell",
    "captured_at",
    "submitted_at",
    "anonymous",
    "reporter_id",
    "unit_id",
    "immediate_danger",
    "followup_token_hash",
    "idempotency_key",
    "request_fingerprint",
    "flags",
    "flags_cleared_at",
    "computed_severity",
    "triage_score",
    "triage_reasons",
    "severity_rank",
    "independent_reports",
    "duplicate_of_id",
    "forwarded_at",
    "acknowledge_due_at",
    "rectify_due_at",
    "urgency_due_at",
    "overdue",
    "hazard_confirmed",
    "accident_prevented",
    "prevented_account",
]
PHOTO_COLUMNS = [
    "id",
    "report_id",
    "position",
    "kind",
    "original_key",
    "sha256",
    "size_bytes",
    "format",
    "width",
    "height",
    "metadata",
    "derivatives",
    "derivatives_attempts",
    "display_key",
    "thumbnail_key",
    "phash",
    "created_at",
]


@dataclass
class Pool:
    """Who reports: the ids of the reporters' accounts and the unit for each sector."""

    first_reporter: int
    reporters: int
    unit_for: dict[str, int]


def _choices(weights: dict, rng: random.Random, count: int) -> list:
    return rng.choices(list(weights), weights=list(weights.values()), k=count)


def _stamper(dialect: str):
    """Datetimes as the database's text: naive UTC as SQLAlchemy writes it on SQLite, UTC with
    its offset for PostgreSQL's COPY (which would otherwise read them in the session's zone)."""
    suffix = "+00" if dialect == "postgresql" else ""

    def stamp(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds") + suffix

    return stamp


def report_rows(count: int, pool: Pool, rng: random.Random, dialect: str):
    """The synthetic reports as tuples in COLUMNS order, oldest first, ready for the database."""
    stamp = _stamper(dialect)
    flag = (lambda b: b) if dialect == "postgresql" else int
    acknowledge_hours, rectify_hours = DEFAULT_ACKNOWLEDGE_HOURS, DEFAULT_RECTIFY_HOURS
    rank = {s.value: s.rank for s in Severity}
    score = {"red": 90, "orange": 60, "yellow": 30, "blue": 10}
    start = NOW - timedelta(days=365)
    step = timedelta(days=365) / count
    reasons = {
        s: json.dumps([{"code": f"{s}.base", "zh": "行业基础等级", "en": "sector base level"}])
        for s in SECTORS
    }
    flag_kinds = [
        json.dumps([k]) for k in ("no_camera_metadata", "stale_photo", "location_mismatch")
    ]
    # Submission times grow with the id, so each age band (youngest first) is a run of ids.
    statuses: list[str] = []
    end = count
    for limit, mix in BY_AGE:
        first = min(count, max(0, math.ceil((NOW - limit - start) / step)))
        statuses = _choices(mix, rng, end - first) + statuses
        end = first
    statuses = _choices(BY_AGE[-1][1], rng, end) + statuses
    sectors = _choices(SECTORS, rng, count)
    colours = _choices(COLOURS, rng, count)
    places = _choices({k: v[0] for k, v in REGIONS.items()}, rng, count)
    recent_verified: list[int] = []
    hour = timedelta(hours=1)
    for index in range(count):
        report_id = index + 1
        submitted = start + step * index
        status, sector, colour, region = (
            statuses[index],
            sectors[index],
            colours[index],
            places[index],
        )
        _, lat0, lon0 = REGIONS[region]
        lat, lon = lat0 + 0.3 * rng.random() - 0.15, lon0 + 0.3 * rng.random() - 0.15
        signed_in = rng.random() < 0.6
        # A few reporters report a lot: the pool's first ids are drawn most often.
        reporter = (
            pool.first_reporter + int(pool.reporters * rng.random() ** 2) if signed_in else None
        )
        flags, cleared = "[]", None
        if rng.random() < 0.04:
            flags = rng.choice(flag_kinds)
            if rng.random() < 0.5:
                cleared = submitted + 24 * hour
        forwarded = ack_due = rectify_due = urgency = unit = duplicate_of = None
        overdue = accident = False
        outcome = prevented = None
        if status not in ("submitted", "triaged", "rejected", "duplicate"):
            forwarded = min(submitted + rng.uniform(0.2, 20) * hour, NOW)
            ack_due = forwarded + acknowledge_hours[colour] * hour
            rectify_due = forwarded + rectify_hours[colour] * hour
            unit = pool.unit_for[sector]
        if status in ("submitted", "triaged"):
            urgency = submitted + acknowledge_hours[colour] * hour
        elif status == "forwarded":
            urgency = ack_due
        elif status in ("acknowledged", "rectifying"):
            urgency = rectify_due
        elif status == "rectified":
            urgency = min(NOW, rectify_due) + acknowledge_hours[colour] * hour
        if status in ("forwarded", "acknowledged", "rectifying"):
            overdue = urgency < NOW
        elif status == "verified":
            recent_verified.append(report_id)
            if len(recent_verified) > 4000:
                del recent_verified[:2000]
            outcome = "major" if rng.random() < 0.2 else "general"
            accident = rng.random() < 0.05
            prevented = PREVENTED if accident else None
        elif status == "duplicate" and report_id > 1:
            # Merged into an earlier report: often one that was verified (a cluster of reporters).
            if recent_verified and rng.random() < 0.5:
                duplicate_of = rng.choice(recent_verified)
            else:
                duplicate_of = rng.randint(max(1, report_id - 5000), report_id - 1)
        yield (
            report_id,
            sector,
            DESCRIPTIONS[sector],
            status,
            colour,
            lat,
            lon,
            10.0,
            "device",
            region,
            cell_of(lat, lon),
            stamp(submitted - rng.randint(1, 90) * hour / 60),
            stamp(submitted),
            flag(not signed_in),
            reporter,
            unit,
            flag(colour == "red" and rng.random() < 0.3),
            None if signed_in else f"{rng.getrandbits(256):064x}",
            f"{rng.getrandbits(128):032x}" if rng.random() < 0.7 else None,
            f"{rng.getrandbits(256):064x}",
            flags,
            stamp(cleared),
            colour,
            score[colour],
            reasons[sector],
            rank[colour],
            1,
            duplicate_of,
            stamp(forwarded),
            stamp(ack_due),
            stamp(rectify_due),
            stamp(urgency),
            flag(overdue),
            outcome,
            flag(accident),
            prevented,
        )


def photo_rows(count: int, per_report: int, dialect: str):
    """``per_report`` photos of each report, in PHOTO_COLUMNS order."""
    created = _stamper(dialect)(NOW - timedelta(days=365))
    photo_id = 0
    for report_id in range(1, count + 1):
        for position in range(per_report):
            photo_id += 1
            digest = hashlib.sha256(b"p%d" % photo_id).hexdigest()
            yield (
                photo_id,
                report_id,
                position,
                "report",
                f"originals/2025/{digest[:2]}/{digest}.jpg",
                digest,
                3_500_000,
                "jpeg",
                4000,
                3000,
                '{"make": "HUAWEI", "model": "P60"}',
                "ready",
                0,
                f"display/{digest}.jpg",
                f"thumbnails/{digest}.jpg",
                digest[:16],
                created,
            )


def copy_rows(connection, table: str, columns: list[str], rows, dialect: str) -> None:
    """Bulk-load rows: COPY on PostgreSQL, executemany in one transaction on SQLite."""
    raw = connection.connection.driver_connection
    names = ", ".join(columns)
    if dialect == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cursor = raw.cursor()
    # One transaction; a large cache for the random keys of the unique indexes.
    cursor.execute("PRAGMA cache_size=-400000")
    marks = ", ".join("?" * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    cursor.execute("PRAGMA cache_size=-2000")
    cursor.close()


def make_account(role: Role, **scope) -> User:
    """A user of ``role`` who signs in with PASSWORD."""
    return accounts.create_user(
        db.session,
        phone=f"139{random.randrange(10**8):08d}",
        password=PASSWORD,
        role=role,
        now=utcnow(),
        **scope,
    )


def sign_in(app, phones: dict[str, str]) -> dict[str, dict]:
    """Bearer headers for each caller (signed in as the tests do, through accounts services)."""
    headers = {}
    with app.app_context():
        for who, phone in phones.items():
            pair = accounts.login(
                db.session,
                phone=phone,
                password=PASSWORD,
                tokens=app.extensions["hazard_access_tokens"],
                policy=accounts.TokenPolicy(),
                now=utcnow(),
            )
            headers[who] = {"Authorization": f"Bearer {pair.access_token}"}
    return headers


def fill(app, count: int, photos: int) -> tuple[float, dict[str, str]]:
    """Load the data; returns the seconds it took and the callers' phone numbers."""
    started = time.perf_counter()
    rng = random.Random(2025)
    with app.app_context():
        db.create_all()
        load_demo_data(db.session)
        units = {u.slug: u for u in db.session.scalars(select(Unit))}
        union = next(u for u in units.values() if u.is_union_department)
        unit_for = {s.value: union.id for s in Sector}
        for unit in units.values():
            for sector in unit.sectors:
                unit_for[sector] = unit.id
        accounts_ = {
            "worker": make_account(Role.WORKER),
            "inspector": make_account(Role.INSPECTOR, regions=["510000"]),
            "county inspector": make_account(
                Role.INSPECTOR, regions=["510703"], sectors=["construction", "gas_network"]
            ),
            "committee": make_account(Role.COMMITTEE),
            "unit staff": make_account(Role.UNIT_STAFF, unit_id=units["my-yjj"].id),
        }
        phones = {who: user.phone for who, user in accounts_.items()}
        worker_id = accounts_["worker"].id
        reporters = max(100, count // 20)
        db.session.execute(
            insert(User),
            [
                {
                    "phone": f"150{i:08d}",
                    "password_hash": "-",
                    "name": f"职工{i}",
                    "consent_named": i % 3 == 0,
                    "role": "worker",
                    "region_codes": [],
                    "sectors": [],
                }
                for i in range(reporters)
            ],
        )
        db.session.commit()
        # The signed-in worker is the pool's first reporter: the one who reports most.
        pool = Pool(worker_id, reporters, unit_for)
        dialect = db.engine.dialect.name
        tables = [Report.__table__, Photo.__table__]
        indexes = [index for table in tables for index in table.indexes]
        with db.engine.begin() as connection:
            # Indexes are built after the load, as a bulk import would.
            for index in indexes:
                index.drop(connection)
            copy_rows(
                connection, "reports", COLUMNS, report_rows(count, pool, rng, dialect), dialect
            )
            if photos:
                copy_rows(
                    connection, "photos", PHOTO_COLUMNS, photo_rows(count, photos, dialect), dialect
                )
            for index in indexes:
                index.create(connection)
            # What the flush hook does for reports changed one at a time (as migration 0010).
            credits.backfill(connection)
            if dialect == "postgresql":
                for table in ("reports", "photos"):
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))"
                        )
                    )
        with db.engine.connect() as connection:
            if dialect == "postgresql":
                # What autovacuum does soon after a bulk load: statistics and the visibility map.
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )
            else:
                connection.execute(text("ANALYZE"))
                connection.commit()
    return time.perf_counter() - started, phones


@dataclass(frozen=True)
class Query:
    label: str
    who: str
    path: str
    pages: int = 1  # follow next_cursor this many pages; each page is one timed request
    kind: str = "list"  # list | queue | awards | export


def queries() -> list[Query]:
    q, r = "/api/v1/inspect/queue", "/api/v1/reports"
    year = f"/api/v1/awards?period=year&on={YEAR.isoformat()}"
    return [
        Query("queue", "inspector", q, kind="queue"),
        Query("queue, pages 1–4", "inspector", q, pages=4, kind="queue"),
        Query("queue status=forwarded", "inspector", f"{q}?status=forwarded", kind="queue"),
        Query("queue status=rectified", "inspector", f"{q}?status=rectified", kind="queue"),
        Query("queue severity=red", "inspector", f"{q}?severity=red", kind="queue"),
        Query("queue severity=blue", "inspector", f"{q}?severity=blue", kind="queue"),
        Query("queue sector=mining", "inspector", f"{q}?sector=mining", kind="queue"),
        Query("queue region=510727", "inspector", f"{q}?region=510727", kind="queue"),
        Query("queue region=510700 (city)", "inspector", f"{q}?region=510700", kind="queue"),
        Query("queue overdue=true", "inspector", f"{q}?overdue=true", kind="queue"),
        Query(
            "queue sector+severity+overdue",
            "inspector",
            f"{q}?sector=construction&severity=orange&overdue=true",
            kind="queue",
        ),
        Query("queue, county inspector", "county inspector", q, kind="queue"),
        Query("list", "inspector", r),
        Query("list, pages 1–5", "inspector", r, pages=5),
        Query("list status=verified, pages 1–3", "inspector", f"{r}?status=verified", pages=3),
        Query("list status=rectifying", "inspector", f"{r}?status=rectifying"),
        Query("list severity=red", "inspector", f"{r}?severity=red"),
        Query("list sector=explosives, pages 1–3", "inspector", f"{r}?sector=explosives", pages=3),
        Query("list region=510727", "inspector", f"{r}?region=510727"),
        Query(
            "list sector+status+region",
            "inspector",
            f"{r}?sector=gas_network&status=rectifying&region=510703",
        ),
        Query(
            "list sector+severity+region (rare)",
            "inspector",
            f"{r}?sector=explosives&severity=red&region=510727",
        ),
        Query("list, county inspector, pages 1–3", "county inspector", r, pages=3),
        Query("list, committee, pages 1–3", "committee", r, pages=3),
        Query("list, worker's own", "worker", r),
        Query("list, unit staff", "unit staff", r, pages=3),
        Query("award list, year", "committee", year, kind="awards"),
        Query("award list, year, pages 1–3", "committee", year, pages=3, kind="awards"),
        Query(
            "award list, year, whole CSV export",
            "committee",
            f"/api/v1/awards/export.csv?period=year&on={YEAR.isoformat()}",
            kind="export",
        ),
    ]


def timed_pages(client, query: Query, headers: dict, timings: list[float] | None):
    """Request a query's pages in turn (following next_cursor); record each request's time."""
    cursor = None
    for _ in range(query.pages):
        url = query.path
        if cursor:
            url += ("&" if "?" in url else "?") + f"cursor={cursor}"
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {body[:300]!r}")
        if timings is not None:
            timings.append(elapsed)
        cursor = response.json.get("next_cursor") if response.is_json else None
        if not cursor:
            break


def explain(app, client, query: Query, headers: dict) -> None:
    """Print the plan of every statement one request of ``query`` runs."""
    statements = []

    def record(_conn, _cursor, statement, parameters, *_):
        statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        timed_pages(client, query, headers, None)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    print(f"\n### {engine.dialect.name}: {query.label}")
    with engine.connect() as connection:
        for statement, parameters in statements:
            if "reports" not in statement or not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = connection.exec_driver_sql(prefix + statement, parameters).all()
            print(" ".join(statement.split())[:400])
            for row in plan:
                print("    " + " | ".join(str(c) for c in row))


def measure(
    app, people: dict, repeat: int, show_plans: bool, only: str | None = None
) -> list[tuple[Query, list[float]]]:
    client = app.test_client()
    results = []
    for query in queries():
        if only and only not in query.label:
            continue
        headers = people[query.who]
        rounds = max(3, repeat // 20) if query.kind in ("awards", "export") else repeat
        timed_pages(client, query, headers, None)  # warm the caches once
        timings: list[float] = []
        for _ in range(rounds):
            timed_pages(client, query, headers, timings)
        results.append((query, timings))
        if show_plans:
            explain(app, client, query, headers)
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def bench_app(url: str):
    """The app the queries run against, on the database at ``url``."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "STORAGE": "memory",
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
            "ACCESS_TOKEN_SECONDS": 6 * 3600,  # the whole run, however slow the machine
        }
    )


def run(label: str, url: str, args) -> list[str]:
    app = bench_app(url)
    seconds, phones = fill(app, args.reports, args.photos)
    print(f"{label}: loaded in {seconds:.0f} s", file=sys.stderr, flush=True)
    people = sign_in(app, phones)
    lines = [
        f"| {label} | load {args.reports:,} reports ({args.photos} photo each), indexes, "
        f"ANALYZE: {seconds:.0f} s | | | | |"
    ]
    for query, timings in measure(app, people, args.repeat, args.explain, args.only):
        p50, p95 = statistics.median(timings), percentile(timings, 0.95)
        target = {"awards": AWARDS_MS, "export": EXPORT_MS}.get(query.kind, QUEUE_P95_MS)
        verdict = "✓" if p95 <= target else "✗"
        lines.append(
            f"| {label} | {query.label} | {len(timings)} | {p50:.1f} | {p95:.1f} | "
            f"{verdict} ≤ {target} |"
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100, help="requests per query (awards: ÷20)")
    parser.add_argument("--photos", type=int, default=1, help="photos per report")
    parser.add_argument("--postgres", default=None, help="server URL; a scratch database is made")
    parser.add_argument("--explain", action="store_true", help="print each query's plans")
    parser.add_argument("--only", default=None, help="run only the queries whose label has this")
    args = parser.parse_args()
    lines = [
        "| database | query | requests | p50 ms | p95 ms | target (p95 ms) |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        lines += run("SQLite (WAL)", f"sqlite:///{scratch}/bench.db", args)
    if args.postgres:
        with scratch_postgres(args.postgres, "bench_queries") as url:
            lines += run("PostgreSQL", url, args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines.append(f"\n{os.cpu_count()} CPUs; load average at the end (1, 5, 15 min): {load}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
