"""glibc's malloc set up for a process that serves uploads.

A 4 MB photo passes through the server in pieces of up to 1 MiB (gunicorn's reads, Werkzeug's
parser), a few MB alive at once. With glibc's defaults the heap then has more free memory at its
top than its trim threshold (2 MiB once such pieces have raised it), gives it back to the kernel
after each request, and the next request takes it again page by page: about 2,300 page faults per
4.5 MB report. Fixed thresholds keep that memory for the next request instead (at most
``TRIM_THRESHOLD_BYTES`` of free heap stays with the process): in bench/intake.py on 2026-12-04,
2.7 ms less of the machine's CPU per report and 10 % more reports a second (README, Benchmarks).

The environment's own ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_`` (glibc's variables)
win: with either set, nothing is changed here.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

log = logging.getLogger(__name__)

# glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Free memory kept at the heap's top instead of being given back; well above what one request
# frees (a few MB), well below a worker's RSS.
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
# Blocks this large or larger get their own mapping, returned when freed: above the 1 MiB pieces
# an upload passes through, below Pillow's 16 MiB blocks of decoded pixels.
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
OWN_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Fix glibc's malloc thresholds for this process (see the module's docstring); whether they
    were set: not where the C library is not glibc, or the environment sets its own."""
    if any(name in os.environ for name in OWN_SETTINGS):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt answers 1 on success, 0 on error; setting either one also stops glibc from moving
    # both thresholds by itself.
    done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    done = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and done
    if not done:
        log.warning("glibc refused the malloc thresholds; uploads will cost more CPU")
    return done
