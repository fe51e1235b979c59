"""Region look-ups: by code, subtree, and point-in-boundary."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hazard_reporter.geo.polygons import bbox, contains
from hazard_reporter.regions.models import Region, RegionLevel


def get_region(session: Session, code: str) -> Region | None:
    """The region with this GB/T 2260 code, or None."""
    return session.get(Region, code)


def subtree_codes(session: Session, code: str) -> list[str]:
    """``code`` and every region below it."""
    rows = session.execute(select(Region.code, Region.parent_code)).all()
    children: dict[str | None, list[str]] = {}
    for child, parent in rows:
        children.setdefault(parent, []).append(child)
    found, stack = [], [code]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


# The boxes that may hold a point, in plain SQL: run for every report, and most often it finds
# nothing (no boundaries loaded, or the point outside them all), at a fifth of an ORM query's cost.
_BOXES_AROUND = text(
    "SELECT code FROM regions WHERE boundary IS NOT NULL"
    " AND min_lat <= :lat AND max_lat >= :lat AND min_lon <= :lon AND max_lon >= :lon"
)


def locate(session: Session, lat: float, lon: float) -> Region | None:
    """The smallest region whose boundary contains the point, when boundaries are loaded."""
    codes = session.scalars(_BOXES_AROUND, {"lat": lat, "lon": lon}).all()
    if not codes:
        return None
    candidates = session.scalars(select(Region).where(Region.code.in_(codes))).all()
    inside = [r for r in candidates if contains(r.boundary, lat, lon)]
    if not inside:
        return None

    def smallness(region: Region):
        area = (region.max_lat - region.min_lat) * (region.max_lon - region.min_lon)
        return (-RegionLevel(region.level).depth, area)

    return min(inside, key=smallness)


def upsert_region(
    session: Session,
    *,
    code: str,
    name_zh: str,
    level: RegionLevel,
    parent_code: str | None = None,
    name_en: str | None = None,
    boundary: dict | None = None,
) -> Region:
    """Create or update one region (boundary optional, GeoJSON in WGS-84)."""
    region = session.get(Region, code) or Region(code=code)
    region.name_zh, region.name_en = name_zh, name_en
    region.level, region.parent_code = level.value, parent_code
    if boundary is not None:
        region.boundary = boundary
        region.min_lat, region.min_lon, region.max_lat, region.max_lon = bbox(boundary)
    session.add(region)
    return region


def import_boundaries(session: Session, collection: dict) -> list[str]:
    """Attach GeoJSON boundaries (a FeatureCollection whose features carry ``properties.code``) to
    existing regions; returns the codes updated. Unknown codes and non-polygons raise ValueError."""
    if collection.get("type") != "FeatureCollection":
        raise ValueError("expected a GeoJSON FeatureCollection")
    updated = []
    for number, feature in enumerate(collection.get("features") or [], start=1):
        code = str((feature.get("properties") or {}).get("code", ""))
        geometry = feature.get("geometry") or {}
        region = session.get(Region, code)
        if region is None:
            raise ValueError(f"feature {number}: unknown region code {code!r}")
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"feature {number}: geometry must be a Polygon or MultiPolygon")
        region.boundary = geometry
        region.min_lat, region.min_lon, region.max_lat, region.max_lon = bbox(geometry)
        updated.append(code)
    return updated
