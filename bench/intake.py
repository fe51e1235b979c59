"""Benchmark: report intake under gunicorn against the floor, a bare endpoint that only streams the
upload to disk, side by side in one run.

    .venv/bin/python bench/intake.py [--seconds 20] [--rounds 3] [--concurrency 4]
        [--redis redis://127.0.0.1:6379/14]

Every side runs under gunicorn with 2 workers on 127.0.0.1. The photo is a 12-megapixel phone JPEG
of about 4 MB with EXIF (GPS, orientation, capture time); every upload carries a new EXIF
ImageUniqueID, so that each is a photo the server has not seen (as from real phones: a repeated
photo takes intake's duplicate-photo path, which is rare). The project runs as deployed at scale
with deferred processing: SQLite (WAL) here, photos on local disk, renditions sent to a Celery
queue on Redis (no worker consumes it during the run; the queue is deleted afterwards). The floor
is Flask too (bench/bare_upload.py): it parses the same multipart body, streams the photo straight
into its own file and fsyncs it. A third side, for reference only, is the usual Flask endpoint
that copies Werkzeug's temporary file with ``save()``. Rounds rotate the sides so that all see the
same machine, and the photos kept are deleted after the warm-up and after each round. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, prepare_database, queued_app_env, wait_until_up  # noqa: E402
from bench.common import multipart as multipart_body  # noqa: E402

UNIQUE_ID = "0" * 32  # replaced in each upload
SECTORS = ["gas_network", "construction", "crowded_venue", "hazardous_chemicals", "transport"]
FLOOR = "floor: bare Flask endpoint, streamed into its file"
COPYING = "reference: bare Flask endpoint, save() copies the spooled file"
INTAKE = "POST /api/v1/reports"
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def phone_jpeg() -> bytes:
    """A 12 MP (4000 x 3000) photo of about 4 MB with a phone's EXIF."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:3000, 0:4000]
    base = np.stack([x / 16 % 256, y / 12 % 256, (x + y) / 28 % 256], axis=-1)
    pixels = (base * 0.6 + rng.normal(90, 24, (3000, 4000, 3))).clip(0, 255).astype("uint8")
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "HUAWEI", "P60", 1
    exif.get_ifd(0x8769).update({0x9003: "2026:11:28 09:30:00", 0xA420: UNIQUE_ID})
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 28.0, 3.0), 3: "E", 4: (104.0, 40.0, 46.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82, exif=exif)
    return buffer.getvalue()


def template(photo: bytes, rng: random.Random) -> tuple[bytes, bytes, str]:
    """A report's body cut where the photo's EXIF ImageUniqueID goes, so that each upload can
    carry a new one (every upload is a photo the server has not seen, as from real phones),
    with a phone fix somewhere in the city (reports are not all in one spot)."""
    fields = {
        "sector": rng.choice(SECTORS),
        "description": "地下室食堂有燃气味",
        "lat": f"{31.35 + rng.random() * 0.3:.6f}",
        "lon": f"{104.55 + rng.random() * 0.3:.6f}",
    }
    body, content_type = multipart_body(fields, [("IMG_0001.jpg", photo)])
    before, after = body.split(UNIQUE_ID.encode(), 1)
    return before, after, content_type


def gunicorn(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            app,
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def load(port: int, path: str, templates, seconds: float, concurrency: int):
    """POST the ``templates`` (in turn, each with a new photo id) from ``concurrency`` clients for
    ``seconds``; latencies (s) and failures."""
    turns = itertools.cycle(templates)
    latencies: list[float] = []
    failures: list[int] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < stop:
            with lock:
                before, after, content_type = next(turns)
            unique = uuid.uuid4().hex.encode()
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                connection.putrequest("POST", path)
                connection.putheader("Content-Type", content_type)
                connection.putheader("Content-Length", str(len(before) + len(unique) + len(after)))
                connection.endheaders()
                for part in (before, unique, after):  # sent as they are: no 4 MB copy per upload
                    connection.send(part)
                response = connection.getresponse()
                response.read()
                status = response.status
            finally:
                connection.close()
            elapsed = time.perf_counter() - started
            with lock:
                (latencies if status in (200, 201) else failures).append(
                    elapsed if status in (200, 201) else status
                )

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures, time.perf_counter() - started


def cpu_seconds() -> tuple[float, float] | None:
    """The whole machine's CPU time so far, (in user space, in all), from ``/proc/stat``; None
    where there is none (not Linux). The clients run here too: they cost the same per upload on
    every side."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(n) for n in stat.readline().split()[1:8]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice) / tick, (user + nice + system + irq + softirq) / tick


def forget_photos(work: Path) -> None:
    """Delete the photos every side kept so far (the reports' rows stay). A run keeps about 3 GB
    of them; left in place, they fill the page cache, and by the third round the kernel reclaims
    memory during whichever side runs, so that the round measures the reclaim, not the endpoint.
    Between runs, with no upload in flight."""
    for kept in (work / "bare", work / "uploads" / "originals"):
        shutil.rmtree(kept, ignore_errors=True)
    (work / "bare").mkdir()
    # Freeing 3 GB is finished by the file system later (journal commits; discards where the
    # disk is mounted with ``discard``): done now, so that it does not land in the next round.
    os.sync()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each timed run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per side, the sides taking turns"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="clients sending at once")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Celery broker")
    args = parser.parse_args()

    import redis

    redis.Redis.from_url(args.redis, socket_connect_timeout=2).ping()
    photo = phone_jpeg()
    rng = random.Random(2026)
    templates = [template(photo, rng) for _ in range(64)]
    work = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    env = queued_app_env(
        work,
        database_url=f"sqlite:///{work / 'hazard.db'}",
        redis_url=args.redis,
        queue=queue,
        BARE_UPLOAD_DIR=str(work / "bare"),
    )
    prepare_database(env)
    sides = {
        FLOOR: ("bench.bare_upload:app", "/upload"),
        COPYING: ("bench.bare_upload:copying_app", "/upload"),
        INTAKE: ("wsgi:app", "/api/v1/reports"),
    }
    servers, ports = [], {}
    try:
        for name, (app, _path) in sides.items():
            ports[name] = free_port()
            servers.append(gunicorn(app, ports[name], env, work / f"{ports[name]}.log"))
            wait_until_up(ports[name], servers[-1])
        for name, (_app, path) in sides.items():  # warm up: imports, first connections
            load(ports[name], path, templates, 2, 2)
        # As after every round: otherwise the first side timed pays for the warm-up's writes.
        forget_photos(work)
        results = {name: ([], [], 0.0) for name in sides}
        cpu = {name: [0.0, 0.0] for name in sides}  # machine CPU s, (user, all), per side
        cpu_known = True
        for round_ in range(args.rounds):
            order = list(sides)[round_ % len(sides) :] + list(sides)[: round_ % len(sides)]
            for name in order:
                before = cpu_seconds()
                ok, failed, elapsed = load(
                    ports[name], sides[name][1], templates, args.seconds, args.concurrency
                )
                after = cpu_seconds()
                if before and after:
                    cpu[name][0] += after[0] - before[0]
                    cpu[name][1] += after[1] - before[1]
                else:
                    cpu_known = False
                total_ok, total_failed, total_time = results[name]
                results[name] = (total_ok + ok, total_failed + failed, total_time + elapsed)
                print(f"round {round_ + 1}: {name}: {len(ok) / elapsed:.1f}/s", file=sys.stderr)
                forget_photos(work)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        queued = redis.Redis.from_url(args.redis).llen(queue)
        redis.Redis.from_url(args.redis).delete(queue)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nphoto: {len(photo) / 1e6:.1f} MB, 4000 x 3000; gunicorn --workers 2; "
        f"{args.concurrency} clients; {args.rounds} x {args.seconds:.0f} s per side; "
        f"{os.cpu_count()} CPUs\n"
    )
    print(
        "| endpoint | uploads | failed | uploads/s | p50 ms | p99 ms "
        "| machine CPU ms per upload (user space) |"
    )
    print("|---|---|---|---|---|---|---|")
    rates = {}
    for name, (ok, failed, elapsed) in results.items():
        rates[name] = (len(ok) / elapsed, percentile(ok, 0.99))
        user, everything = (seconds * 1000 / max(1, len(ok)) for seconds in cpu[name])
        machine = f"{everything:.1f} ({user:.1f})" if cpu_known else "–"
        print(
            f"| {name} | {len(ok)} | {len(failed)} | {len(ok) / elapsed:.1f} | "
            f"{statistics.median(ok) * 1000:.0f} | {percentile(ok, 0.99) * 1000:.0f} | "
            f"{machine} |"
        )
    (floor_rate, floor_p99), (ours_rate, ours_p99) = rates[FLOOR], rates[INTAKE]
    print(
        f"\nintake / floor: {ours_rate / floor_rate:.2f}x uploads/s (target >= 0.80), "
        f"p99 {ours_p99 / floor_p99:.2f}x (target <= 1.50); "
        f"intake / save() endpoint: {ours_rate / rates[COPYING][0]:.2f}x; "
        f"renditions queued: {queued}"
    )


if __name__ == "__main__":
    main()
