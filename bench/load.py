"""Load with faults: reports from many phones over gunicorn, with retries, repeated Idempotency-Keys,
dropped connections, a gunicorn worker killed and the Celery worker restarted mid-run. Afterwards
it checks that nothing was lost or doubled:

- the database holds exactly one report per distinct Idempotency-Key, with the id every answer
  for that key gave, and each report has every photo its phone sent;
- every photo's renditions were made once the queue drained (Celery beat runs as deployed: its
  sweep queues again a photo whose task was lost, as when a gunicorn worker is killed between
  its commit and the send, or a killed Celery worker drops the message it was taking);
- after the documented recovery (`flask photos cleanup-orphans`), no stored file lacks a row and
  no row lacks its file.

    .venv/bin/python bench/load.py [--reports 10000] [--phones 50] [--database-url URL]
        [--redis redis://127.0.0.1:6379/13]

Needs Redis (the Celery broker). Prints a markdown table; exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    free_port,
    multipart,
    prepare_database,
    queued_app_env,
    wait_until_up,
)

BIN = Path(sys.executable).parent
SECTORS = ["gas_network", "construction", "crowded_venue", "hazardous_chemicals", "transport"]


def small_photos(count: int, rng: random.Random) -> list[bytes]:
    """Phone-like JPEGs (640 x 480, a few tens of KB), each different."""
    from PIL import Image, ImageDraw

    photos = []
    for _ in range(count):
        image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(30):
            x, y = rng.randrange(640), rng.randrange(480)
            draw.rectangle(
                (x, y, x + rng.randrange(8, 120), y + rng.randrange(8, 90)),
                fill=tuple(rng.randrange(256) for _ in range(3)),
            )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        photos.append(buffer.getvalue())
    return photos


def body_for(report: Report, photos: list[bytes]) -> tuple[bytes, str]:
    fields = {
        "sector": report.sector,
        "description": f"负载测试 {report.key}",
        "lat": f"{report.lat:.6f}",
        "lon": f"{report.lon:.6f}",
    }
    return multipart(fields, [(f"IMG_{i}.jpg", photos[i]) for i in report.photo_indexes])


@dataclass
class Report:
    key: str
    sector: str
    lat: float
    lon: float
    photo_indexes: list[int]
    answered_ids: set[int] = field(default_factory=set)


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    dropped: int = 0  # connections the phone cut mid-upload
    refused: int = 0  # connection errors (a worker being killed or restarting)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, status: int | str) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1


def send(port: int, body: bytes, content_type: str, key: str, *, cut: bool = False):
    """POST a report; the status and JSON answer, or None if the connection failed (or, with
    ``cut``, was dropped by the phone halfway through the upload)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        if cut:
            connection.putrequest("POST", "/api/v1/reports")
            connection.putheader("Content-Type", content_type)
            connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Idempotency-Key", key)
            connection.endheaders()
            connection.send(body[: len(body) // 2])
            return None
        connection.request(
            "POST",
            "/api/v1/reports",
            body=body,
            headers={"Content-Type": content_type, "Idempotency-Key": key},
        )
        response = connection.getresponse()
        import json

        data = response.read()
        return response.status, (json.loads(data) if data else {})
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def phone(port, reports, photos, rng, tally, failures):
    """One phone: sends its reports in turn, retrying each until it is acknowledged, sometimes
    sending it again after success, twice at once, or cutting the upload short."""
    for report in reports:
        body, content_type = body_for(report, photos)
        attempts = 0
        while True:
            attempts += 1
            if attempts > 40:
                failures.append(f"{report.key}: never acknowledged")
                break
            if rng.random() < 0.03:  # the phone loses its network halfway through the upload
                send(port, body, content_type, report.key, cut=True)
                with tally.lock:
                    tally.dropped += 1
                continue
            if rng.random() < 0.05:  # a double tap: the same report twice at once
                twin = threading.Thread(
                    target=_twin, args=(port, body, content_type, report, tally)
                )
                twin.start()
            else:
                twin = None
            answer = send(port, body, content_type, report.key)
            if twin:
                twin.join()
            if answer is None:
                with tally.lock:
                    tally.refused += 1
                time.sleep(min(2.0, 0.05 * 2**attempts) * rng.random())
                continue
            status, data = answer
            record(answer, report, tally)
            if status == 201:
                if rng.random() < 0.1:  # the answer was lost on the way: the phone sends again
                    record(send(port, body, content_type, report.key), report, tally)
                break
            if status in (429, 503) or status >= 500:
                time.sleep(min(2.0, 0.05 * 2**attempts) * rng.random())
                continue
            failures.append(f"{report.key}: answered {status} {data}")
            break


def record(answer, report, tally) -> None:
    """Count an answer (None: no answer) and keep the id a 201 gave for the report."""
    if answer is None:
        return
    status, data = answer
    tally.count(status)
    if status == 201:
        with tally.lock:
            report.answered_ids.add(data["id"])


def _twin(port, body, content_type, report, tally):
    record(send(port, body, content_type, report.key), report, tally)


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "worker",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--queues",
            env["HAZARD_CELERY_QUEUE"],
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_beat(env: dict, work: Path) -> subprocess.Popen:
    """Celery beat as deployed: its sweep queues again the photos whose task was lost (a gunicorn
    worker killed between its commit and the send, a message dropped by a killed Celery worker)."""
    return subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "worker",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(work / "beat-schedule"),
        ],
        cwd=ROOT,
        env=env,
        stdout=(work / "beat.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def gunicorn_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--drain-seconds", type=float, default=600)
    args = parser.parse_args()

    import redis
    from sqlalchemy import create_engine, text

    broker = redis.Redis.from_url(args.redis, socket_connect_timeout=2)
    broker.ping()
    rng = random.Random(args.seed)
    photos = small_photos(24, rng)
    reports = [
        Report(
            key=f"phone{i % args.phones}-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
            sector=rng.choice(SECTORS),
            lat=31.35 + rng.random() * 0.3,
            lon=104.55 + rng.random() * 0.3,
            photo_indexes=rng.sample(range(len(photos)), rng.choice((1, 1, 2, 3))),
        )
        for i in range(args.reports)
    ]
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    queue = f"load-{uuid.uuid4().hex[:8]}"
    database_url = args.database_url or f"sqlite:///{work / 'hazard.db'}"
    env = queued_app_env(
        work,
        database_url=database_url,
        redis_url=args.redis,
        queue=queue,
        HAZARD_CELERY_VISIBILITY_SECONDS="20",
        # Beat's periodic work: only the renditions sweep, at a pace fit for a run of minutes.
        HAZARD_RENDITION_SWEEP_SECONDS="20",
        HAZARD_RENDITION_SWEEP_GRACE_SECONDS="60",
        HAZARD_ESCALATE_SECONDS="0",
        HAZARD_DUTY_CHECK_SECONDS="0",
        HAZARD_UPLOAD_SWEEP_SECONDS="0",
        HAZARD_FRAUD_BURST_PER_HOUR="100000",
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    prepare_database(env)
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=(work / "gunicorn.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    worker = start_worker(env, work / "worker.log")
    beat = start_beat(env, work)
    tally, failures, checks, diagnostics = Tally(), [], [], []
    started = time.monotonic()
    try:
        wait_until_up(port)
        by_phone = [reports[p :: args.phones] for p in range(args.phones)]
        threads = [
            threading.Thread(
                target=phone,
                args=(port, mine, photos, random.Random(args.seed + p), tally, failures),
            )
            for p, mine in enumerate(by_phone)
        ]
        for t in threads:
            t.start()

        def answered() -> int:
            return sum(1 for r in reports if r.answered_ids)

        events = []
        while any(t.is_alive() for t in threads):
            done = answered()
            if not events and done >= args.reports // 3:
                victim = gunicorn_workers(server.pid)[0]
                os.kill(victim, signal.SIGKILL)  # mid-request, very likely; the master respawns
                events.append(f"gunicorn worker {victim} killed at {done} reports")
            elif len(events) == 1 and done >= args.reports // 2:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                worker = start_worker(env, work / "worker.log")
                events.append(f"Celery worker killed and restarted at {done} reports")
            time.sleep(0.2)
        for t in threads:
            t.join()
        sending = time.monotonic() - started

        engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))

        def pending() -> int:
            with engine.connect() as c:
                return c.scalar(text("SELECT count(*) FROM photos WHERE derivatives = 'pending'"))

        deadline = time.monotonic() + args.drain_seconds
        while pending() and time.monotonic() < deadline:
            time.sleep(1)
        drained = time.monotonic() - started - sending
        cleanup = subprocess.run(
            [*flask, "photos", "cleanup-orphans", "--older-than", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        removed = cleanup.stdout.strip().splitlines()[-1] if cleanup.stdout.strip() else "?"

        with engine.connect() as c:
            rows = c.execute(text("SELECT idempotency_key, id FROM reports")).all()
            photo_rows = c.execute(
                text(
                    "SELECT r.idempotency_key, p.original_key, p.display_key, p.thumbnail_key, "
                    "p.derivatives FROM photos p JOIN reports r ON r.id = p.report_id"
                )
            ).all()
        engine.dispose()
        ids_by_key = {key: report_id for key, report_id in rows}
        photos_by_key = Counter(key for key, *_ in photo_rows)
        keys = [r.key for r in reports]
        checks.append(
            (
                "one report per distinct key",
                len(rows) == len(set(keys)) and set(ids_by_key) == set(keys),
            )
        )
        checks.append(
            (
                "every answer for a key gave the same id as the database",
                all(r.answered_ids == {ids_by_key.get(r.key)} for r in reports),
            )
        )
        checks.append(
            (
                "every report has every photo sent",
                all(photos_by_key[r.key] == len(r.photo_indexes) for r in reports),
            )
        )
        ready = sum(1 for *_, state in photo_rows if state == "ready")
        checks.append(("every photo's renditions made", ready == len(photo_rows)))
        if ready != len(photo_rows):
            with engine.connect() as c:
                stuck = c.execute(
                    text(
                        "SELECT id, report_id, derivatives, created_at FROM photos "
                        "WHERE derivatives != 'ready' ORDER BY id LIMIT 10"
                    )
                ).all()
            logs = "".join(
                (work / name).read_text(errors="replace")
                for name in ("worker.log", "beat.log")
                if (work / name).exists()
            )
            for photo_id, report_id, state, created in stuck:
                mentions = [line for line in logs.splitlines() if f"photo {photo_id}:" in line]
                diagnostics.append(
                    f"photo {photo_id} of report {report_id} is {state} (stored {created}); "
                    f"worker log: {mentions[-3:] or 'never mentioned'}"
                )
            diagnostics.append(f"beat log tail: {logs.splitlines()[-5:] if logs else 'empty'}")
        referenced = {k for _, *stored, _ in photo_rows for k in stored if k}
        root = work / "uploads"
        on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        checks.append(("no stored file without a row", not (on_disk - referenced)))
        checks.append(("no row without its file", not (referenced - on_disk)))
        checks.append(("no refused answer but retries", not failures))
    finally:
        server.terminate()
        for process in (worker, beat):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        server.wait(timeout=30)
        worker.wait(timeout=30)
        beat.wait(timeout=30)
        broker.delete(queue)

    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items(), key=str))
    print(
        f"\n{args.reports} reports from {args.phones} phones; gunicorn --workers 4, one Celery "
        f"worker (--concurrency 2) and beat; {os.cpu_count()} CPUs; "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}\n"
    )
    print("| measure | value |")
    print("|---|---|")
    for name, value in (
        (
            "requests answered (incl. retries, repeats, double taps)",
            f"{tally.requests} ({statuses})",
        ),
        ("uploads cut short by the phone", tally.dropped),
        ("connections refused or reset (then retried)", tally.refused),
        ("faults injected", "; ".join(events)),
        ("distinct keys / reports in the database", f"{len(set(keys))} / {len(rows)}"),
        ("photos stored / renditions made", f"{len(photo_rows)} / {ready}"),
        ("clean-up after the run", removed),
        ("sending time, reports/s", f"{sending:.0f} s, {args.reports / sending:.0f}/s"),
        ("queue drained after", f"{drained:.0f} s"),
    ):
        print(f"| {name} | {value} |")
    print()
    for name, ok in checks:
        print(f"- [{'x' if ok else ' '}] {name}")
    for failure in failures[:10]:
        print(f"  ! {failure}")
    for line in diagnostics:
        print(f"  ? {line}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if checks and all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
