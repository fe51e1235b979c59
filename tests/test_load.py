"""The load-with-faults script (``bench/load.py``) at a small size: reports from phones over
gunicorn with retries, repeated keys, cut uploads, a gunicorn worker killed and the Celery worker
restarted, then nothing lost or doubled. ``.ci/run`` runs it at full size (10 000 reports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_task_queue import REDIS_URL, requires_redis

ROOT = Path(__file__).resolve().parent.parent


@requires_redis
def test_load_with_faults_loses_and_doubles_nothing():
    result = subprocess.run(
        [
            sys.executable,
            "bench/load.py",
            "--reports",
            "240",
            "--phones",
            "12",
            "--redis",
            REDIS_URL,
            "--drain-seconds",
            "180",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "- [ ]" not in result.stdout
    assert "240 / 240" in result.stdout  # distinct keys / reports in the database
