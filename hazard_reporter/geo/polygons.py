"""Point-in-polygon for region boundaries given as GeoJSON (lon, lat order)."""

from __future__ import annotations

from collections.abc import Sequence

Ring = Sequence[Sequence[float]]


def _in_ring(lat: float, lon: float, ring: Ring) -> bool:
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat):
            cross = (x2 - x1) * (lat - y1) / (y2 - y1) + x1
            if lon < cross:
                inside = not inside
    return inside


def _in_polygon(lat: float, lon: float, rings: Sequence[Ring]) -> bool:
    if not rings or not _in_ring(lat, lon, rings[0]):
        return False
    return not any(_in_ring(lat, lon, hole) for hole in rings[1:])


def contains(geometry: dict, lat: float, lon: float) -> bool:
    """Whether a GeoJSON Polygon or MultiPolygon contains the point (holes respected)."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    if kind == "Polygon":
        return _in_polygon(lat, lon, coords)
    if kind == "MultiPolygon":
        return any(_in_polygon(lat, lon, polygon) for polygon in coords)
    return False


def bbox(geometry: dict) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) of a Polygon or MultiPolygon."""
    coords = geometry.get("coordinates") or []
    polygons = [coords] if geometry.get("type") == "Polygon" else coords
    lons = [p[0] for polygon in polygons for ring in polygon for p in ring]
    lats = [p[1] for polygon in polygons for ring in polygon for p in ring]
    if not lons:
        raise ValueError("empty geometry")
    return min(lats), min(lons), max(lats), max(lons)
