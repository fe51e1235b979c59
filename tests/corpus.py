"""The real-world photo corpus (real, heic and hostile files with exiftool's ground truth).

The corpus lives outside the repository; tests that need it are marked ``requires_corpus`` and
are skipped, with the reason, where it is missing. ``HAZARD_CORPUS_DIR`` points elsewhere.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
CORPUS_DIR = Path(os.environ.get("HAZARD_CORPUS_DIR", REPO_DIR.parent / "shared" / "corpus"))
MANIFEST = CORPUS_DIR / "MANIFEST.json"

requires_corpus = pytest.mark.skipif(
    not MANIFEST.exists(),
    reason=f"real-photo corpus not found at {CORPUS_DIR}; set HAZARD_CORPUS_DIR",
)


@functools.cache
def manifest() -> dict[str, Any]:
    """The parsed MANIFEST.json; an empty manifest when the corpus is missing."""
    if not MANIFEST.exists():
        return {"files": []}
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def entries(folder: str | None = None) -> list[dict[str, Any]]:
    """The manifest's file entries, optionally only those under ``folder`` (real, heic, hostile)."""
    files = manifest()["files"]
    if folder is None:
        return list(files)
    return [entry for entry in files if entry["file"].split("/", 1)[0] == folder]


def entry(rel: str) -> dict[str, Any]:
    """The manifest entry of one file, by its path relative to the corpus."""
    for candidate in manifest()["files"]:
        if candidate["file"] == rel:
            return candidate
    raise KeyError(rel)


def corpus_path(rel: str) -> Path:
    """The absolute path of a corpus file given its manifest path (e.g. ``real/x.jpg``)."""
    return CORPUS_DIR / rel
