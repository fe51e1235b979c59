"""A fixed grid of 0.01° cells for "what is near this point", indexable on SQLite and PostgreSQL.

A cell is about 1.1 km north–south and 0.95 km east–west in Sichuan; a search of radius r looks at
the cells a box of r around the point touches (3×3 for 1 km), then measures exact distances.
"""

from __future__ import annotations

import math

from hazard_reporter.geo.coords import EARTH_RADIUS_M

CELL_DEG = 0.01
_COLUMNS = 36_001  # cells across 360° of longitude


def cell_of(lat: float, lon: float) -> int:
    """The cell holding a WGS-84 point, as one integer."""
    row = math.floor((lat + 90.0) / CELL_DEG)
    col = math.floor((lon + 180.0) / CELL_DEG)
    return row * _COLUMNS + col


def cells_near(lat: float, lon: float, radius_m: float) -> list[int]:
    """Every cell a box of ``radius_m`` around the point touches."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    rows = range(
        math.floor((lat - dlat + 90.0) / CELL_DEG), math.floor((lat + dlat + 90.0) / CELL_DEG) + 1
    )
    cols = range(
        math.floor((lon - dlon + 180.0) / CELL_DEG), math.floor((lon + dlon + 180.0) / CELL_DEG) + 1
    )
    return [r * _COLUMNS + c % _COLUMNS for r in rows for c in cols]


def photo_similarity(phash_a: str | None, phash_b: str | None) -> float | None:
    """1.0 for identical perceptual hashes down to 0.0 for 64 differing bits; None if unknown."""
    if not phash_a or not phash_b:
        return None
    return 1.0 - (int(phash_a, 16) ^ int(phash_b, 16)).bit_count() / 64.0
