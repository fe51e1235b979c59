"""Benchmark: peak memory of a gunicorn worker while it takes one ~25 MB photo upload.

    .venv/bin/python bench/upload_rss.py [--runs 3] [--warmup 3] [--breakdown]

Starts the app under gunicorn (one sync worker; SQLite, local storage and the gunicorn log in a
scratch directory; inline task runner, so the renditions are made within the request; rate
limits and the background loop off), warms the worker with small reports, then for each run
resets the worker's high-water mark (``/proc/PID/clear_refs``), posts one report with a ~24 MB
50 MP JPEG (sector, description, lat/lon) and reads ``VmHWM`` again. Prints a markdown table:
growth = peak − RSS before; the target is growth <= 2x the photo's size. Linux only.

``--breakdown`` then replays the request's steps with the same photo in a fresh Python process
(multipart parsing, the intake check, storing the original, the renditions), each with the
project's own code, and prints how far each step raises that process's peak: where the memory goes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
MAX_PHOTO_BYTES = 25 * 1024 * 1024  # the app's default HAZARD_MAX_PHOTO_BYTES
TARGET_GROWTH = 2.0  # x the photo's size
MIANYANG = (31.4675, 104.6796)
MB = 1e6


# --- the photos ---------------------------------------------------------------------------------


def big_photo(limit: int = MAX_PHOTO_BYTES) -> bytes:
    """A 50 MP phone-like JPEG of a little under ``limit`` bytes (24.4 MB at the defaults)."""
    from bench.derivatives import phone_jpeg

    for quality in (95, 93, 91, 89):
        data = phone_jpeg(50, width=8160, height=6120, noise=6.0, quality=quality)
        if len(data) < limit:
            return data
    raise RuntimeError("could not make a photo under the limit")


def small_photo(seed: int) -> bytes:
    """A 1 MP phone-like JPEG for warming the worker up."""
    from bench.derivatives import phone_jpeg

    return phone_jpeg(seed, width=1152, height=864)


# --- talking to the server ----------------------------------------------------------------------


def multipart(fields: dict[str, str], photo: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body with text fields and one photo, and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def report_fields(description: str) -> dict[str, str]:
    return {
        "sector": "gas_network",
        "description": description,
        "lat": str(MIANYANG[0]),
        "lon": str(MIANYANG[1]),
    }


def post_report(port: int, photo: bytes, description: str, timeout: float = 300) -> dict:
    """POST /api/v1/reports with one photo; the answer's JSON (raises unless 201)."""
    body, content_type = multipart(report_fields(description), photo, "IMG_0001.jpg")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST", "/api/v1/reports", body=body, headers={"Content-Type": content_type}
        )
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 201:
        raise RuntimeError(f"POST /api/v1/reports: {response.status} {answer[:500]!r}")
    return json.loads(answer)


def memory_kb(pid: int | str) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak(pid: int | str) -> None:
    """Set the process's high-water mark (VmHWM) back to its current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Server:
    port: int
    master: subprocess.Popen
    worker_pid: int


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def app_env(scratch: Path) -> dict[str, str]:
    """The environment the app runs with: everything in ``scratch``, nothing in the background."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    env.update(
        HAZARD_ENV="development",
        HAZARD_DATABASE_URL=f"sqlite:///{scratch}/b.db",
        HAZARD_UPLOAD_DIR=str(scratch / "uploads"),
        HAZARD_RATELIMIT_ENABLED="false",
        HAZARD_BACKGROUND_SECONDS="0",
        HAZARD_TASK_RUNNER="inline",
        TMPDIR=str(scratch),  # where Werkzeug spools the upload
    )
    return env


@contextmanager
def serving(scratch: Path, start_timeout: float = 60) -> Iterator[Server]:
    """The app under gunicorn with one worker on a free loopback port; stopped on exit."""
    env = app_env(scratch)
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    log_path = scratch / "gunicorn.log"
    with log_path.open("wb") as log:
        master = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers=1",
                "--bind=127.0.0.1:0",
                "--timeout=300",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + start_timeout
        port = worker = None
        while port is None or worker is None:
            if master.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
            text = log_path.read_text(errors="replace")
            listening = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            booted = re.search(r"Booting worker with pid: (\d+)", text)
            port = int(listening.group(1)) if listening else None
            worker = int(booted.group(1)) if booted else None
        if worker not in _children(master.pid):
            raise RuntimeError(f"worker {worker} is not a child of gunicorn {master.pid}")
        yield Server(port, master, worker)
    finally:
        master.terminate()  # only the gunicorn this function started, by its pid
        try:
            master.wait(timeout=30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    photo_bytes: int
    rss_before_kb: int
    peak_kb: int
    rss_after_kb: int
    seconds: float
    renditions: str

    @property
    def growth_kb(self) -> int:
        return self.peak_kb - self.rss_before_kb


def measure_server(photo: bytes, runs: int, warmup: int, scratch: Path) -> list[Run]:
    """Warm a fresh worker with small reports, then post ``photo`` ``runs`` times."""
    results = []
    with serving(scratch) as server:
        for index in range(warmup):
            post_report(server.port, small_photo(1000 + index), f"warm-up {index}")
        for index in range(runs):
            before = memory_kb(server.worker_pid)["VmRSS"]
            reset_peak(server.worker_pid)
            started = time.perf_counter()
            answer = post_report(server.port, photo, f"large photo, run {index + 1}")
            seconds = time.perf_counter() - started
            after = memory_kb(server.worker_pid)
            statuses = ",".join(p.get("status", "?") for p in answer.get("photos", []))
            results.append(
                Run(len(photo), before, after["VmHWM"], after["VmRSS"], seconds, statuses)
            )
    return results


def table(runs: Sequence[Run]) -> str:
    lines = [
        "| run | photo MB | RSS before MB | peak RSS MB | growth MB | growth ÷ photo "
        "| RSS after MB | request s | renditions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, run in enumerate(runs, 1):
        ratio = run.growth_kb * 1024 / run.photo_bytes
        mark = "" if ratio <= TARGET_GROWTH else " ✗"
        lines.append(
            f"| {index} | {run.photo_bytes / MB:.1f} | {run.rss_before_kb * 1024 / MB:.0f} "
            f"| {run.peak_kb * 1024 / MB:.0f} | {run.growth_kb * 1024 / MB:.0f} "
            f"| {ratio:.2f}{mark} | {run.rss_after_kb * 1024 / MB:.0f} | {run.seconds:.1f} "
            f"| {run.renditions} |"
        )
    return "\n".join(lines)


# --- where the memory goes: the request's steps, replayed in a fresh process -------------------

Step = tuple[str, int, int]  # name, kB above the RSS before it at the step's peak, RSS after (kB)


def replay(body_path: Path, content_type: str, scratch: Path) -> list[Step]:
    """Take the multipart request body in ``body_path`` through the steps the app takes with it,
    with the project's own code, measuring this process's peak around each step."""
    from werkzeug.formparser import parse_form_data

    from hazard_reporter.core.storage import LocalStorage
    from hazard_reporter.photos.imaging import make_derivatives
    from hazard_reporter.photos.services import IncomingPhoto, check_photo

    storage = LocalStorage(scratch / "replay-storage")
    key = f"originals/{uuid.uuid4().hex}.jpg"
    state: dict[str, Any] = {}

    def parse() -> None:
        state["input"] = body_path.open("rb")
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(body_path.stat().st_size),
            "wsgi.input": state["input"],
        }
        state["upload"] = parse_form_data(environ)[2]["photos"]

    def check() -> None:
        upload = state["upload"]
        state["checked"] = check_photo(
            IncomingPhoto(upload.filename, upload.stream),
            max_bytes=MAX_PHOTO_BYTES,
            max_pixels=120_000_000,
        )

    def store() -> None:
        checked = state["checked"]
        checked.stream.seek(0)
        storage.put(key, checked.stream, "image/jpeg")

    def render() -> None:
        with storage.open(key) as fp:
            make_derivatives(fp)

    steps: list[tuple[str, Callable[[], None]]] = [
        ("multipart parsing (Werkzeug; the file part goes to a temporary file)", parse),
        ("intake check: size, header, 1/8-scale decode, EXIF, SHA-256", check),
        ("storing the original (local storage, chunked copy)", store),
        ("renditions: make_derivatives from the stored original", render),
    ]
    results = []
    for name, step in steps:
        before = memory_kb("self")["VmRSS"]
        reset_peak("self")
        step()
        after = memory_kb("self")
        results.append((name, after["VmHWM"] - before, after["VmRSS"]))
    state["upload"].close()
    state["input"].close()
    return results


def _replay_after_warmup(
    warm: tuple[Path, str], measured: tuple[Path, str], scratch: Path
) -> list[Step]:
    replay(*warm, scratch)  # imports, codecs and caches, as a warmed worker has them
    return replay(*measured, scratch)


def step_peaks(photo: bytes, scratch: Path) -> list[Step]:
    """The steps' peaks with ``photo``, in a fresh interpreter warmed with a small photo (this
    one has freed a lot of memory making the photo, which new allocations would reuse)."""
    bodies = []
    for name, data in (("warm", small_photo(7)), ("large", photo)):
        body, content_type = multipart(report_fields("replay"), data, "IMG_0001.jpg")
        path = scratch / f"{name}-body.bin"
        path.write_bytes(body)
        bodies.append((path, content_type))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_replay_after_warmup, *bodies, scratch).result()


def breakdown_table(photo_bytes: int, steps: Sequence[Step]) -> str:
    lines = ["| step | peak above RSS before, MB | ÷ photo | RSS after MB |", "|---|---|---|---|"]
    for name, raised_kb, rss_kb in steps:
        lines.append(
            f"| {name} | {raised_kb * 1024 / MB:.0f} | {raised_kb * 1024 / photo_bytes:.2f} "
            f"| {rss_kb * 1024 / MB:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="large uploads, one after another")
    parser.add_argument("--warmup", type=int, default=3, help="small reports before measuring")
    parser.add_argument(
        "--breakdown", action="store_true", help="also replay the steps in a fresh process"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not Path("/proc/self/clear_refs").exists():
        sys.exit("needs Linux's /proc/PID/clear_refs")
    if str(ROOT) not in sys.path:  # run as a script, sys.path[0] is bench/
        sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix="hz-upload-rss-"))
    try:
        photo = big_photo()
        runs = measure_server(photo, args.runs, args.warmup, scratch)
        print(
            f"gunicorn, 1 sync worker, inline renditions; {args.warmup} small reports first; "
            f"target growth <= {TARGET_GROWTH:g}x the photo\n"
        )
        print(table(runs))
        if args.breakdown:
            print("\nThe request's steps replayed in a fresh process, after a small photo:\n")
            print(breakdown_table(len(photo), step_peaks(photo, scratch)))
    finally:
        if args.keep:
            print(f"\nscratch directory kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
