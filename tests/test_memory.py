"""The serving process's malloc keeps what an upload frees for the next one (core/memory.py)."""

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hazard_reporter.core import memory

ROOT = Path(__file__).resolve().parent.parent
glibc_only = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's; this C library is not"
)

# Uploads, one after another, each passing through in 1 MiB pieces of which six are alive at once;
# prints the page faults per upload after the first.
UPLOADS = textwrap.dedent(
    """
    import resource, sys
    from hazard_reporter.core.memory import keep_freed_memory

    if sys.argv[1] == "kept":
        assert keep_freed_memory()
    faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    def upload():
        pieces = [b"x" * (1024 * 1024) for _ in range(6)]
        del pieces
    upload()
    before = faults()
    for _ in range(20):
        upload()
    print((faults() - before) / 20)
    """
)


def faults_per_upload(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in memory.OWN_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", UPLOADS, mode],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout)


@glibc_only
def test_memory_an_upload_freed_is_reused_by_the_next_without_page_faults():
    pages_per_upload = 6 * 1024 * 1024 // 4096
    given_back = faults_per_upload("default")
    if given_back < pages_per_upload / 2:
        pytest.skip(f"this glibc keeps the memory by itself ({given_back:.0f} faults an upload)")
    kept = faults_per_upload("kept")
    assert kept < pages_per_upload / 20, (kept, given_back)


@glibc_only
def test_memory_the_environments_own_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert memory.keep_freed_memory() is False


@pytest.mark.skipif(platform.libc_ver()[0] == "glibc", reason="this C library is glibc")
def test_memory_elsewhere_nothing_is_changed():
    assert memory.keep_freed_memory() is False
