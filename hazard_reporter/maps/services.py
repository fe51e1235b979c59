"""Reports as points on a map: the caller's scope, the list's filters and a bounding box."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hazard_reporter.accounts.principal import Principal
from hazard_reporter.geo.coords import CoordSystem, from_wgs84
from hazard_reporter.reports import access
from hazard_reporter.reports.models import Report
from hazard_reporter.reports.services import (
    ReportFilters,
    apply_filters,
    decode_cursor,
    encode_cursor,
)

# GCJ-02 and BD-09 move a point by at most ~0.018 degrees anywhere (measured over all of China);
# a box widened by this much in WGS-84 holds every point whose shifted position is in the box.
SHIFT_MARGIN_DEG = 0.03


@dataclass(frozen=True)
class BBox:
    """An RFC 7946 bounding box; ``min_lon > max_lon`` means it crosses the antimeridian."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.min_lon > self.max_lon

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies in the box (edges included)."""
        if not self.min_lat <= lat <= self.max_lat:
            return False
        if self.crosses_antimeridian:
            return lon >= self.min_lon or lon <= self.max_lon
        return self.min_lon <= lon <= self.max_lon

    def widened(self, margin: float) -> BBox:
        """The box grown by ``margin`` degrees on every side, kept within the globe."""
        if margin <= 0:
            return self
        min_lon, max_lon = self.min_lon - margin, self.max_lon + margin
        if self.crosses_antimeridian and min_lon <= max_lon:
            min_lon, max_lon = -180.0, 180.0  # the gap between the two sides closed up
        # Clamping loses nothing: the shifting systems leave points far from China unchanged.
        return BBox(
            min_lon=max(min_lon, -180.0),
            min_lat=max(self.min_lat - margin, -90.0),
            max_lon=min(max_lon, 180.0),
            max_lat=min(self.max_lat + margin, 90.0),
        )


@dataclass(frozen=True)
class MapPoint:
    """What a map shows of a report; ``lat``/``lon`` are in the requested coordinate system."""

    id: int
    status: str
    severity: str
    sector: str
    submitted_at: datetime
    region_code: str | None
    lat: float
    lon: float


def list_points(
    session: Session,
    filters: ReportFilters,
    *,
    actor: Principal,
    bbox: BBox | None,
    coord_system: CoordSystem,
    limit: int,
    cursor: str | None,
) -> tuple[list[MapPoint], str | None]:
    """Located reports in scope, newest first, with the next cursor; bbox is in coord_system."""
    # Only the columns a map shows are read: nothing about the reporter can leave this query.
    query = (
        select(
            Report.id,
            Report.status,
            Report.severity,
            Report.sector,
            Report.submitted_at,
            Report.region_code,
            Report.lat,
            Report.lon,
        )
        .where(
            access.visible_clause(session, actor),
            Report.lat.is_not(None),
            Report.lon.is_not(None),
        )
        .order_by(Report.id.desc())
    )
    query = apply_filters(session, query, filters)
    if bbox is not None:
        shifted = CoordSystem(coord_system) is not CoordSystem.WGS84
        stored = bbox.widened(SHIFT_MARGIN_DEG if shifted else 0)
        query = query.where(Report.lat.between(stored.min_lat, stored.max_lat))
        if stored.crosses_antimeridian:
            query = query.where(or_(Report.lon >= stored.min_lon, Report.lon <= stored.max_lon))
        else:
            query = query.where(Report.lon.between(stored.min_lon, stored.max_lon))
    if cursor:
        query = query.where(Report.id < decode_cursor(cursor))
    rows = session.execute(query.limit(limit + 1)).all()
    page, more = rows[:limit], len(rows) > limit
    points = []
    for row in page:
        lat, lon = from_wgs84(row.lat, row.lon, coord_system)
        # The widened box above is a superset; the exact test is made where the map draws.
        if bbox is None or bbox.contains(lat, lon):
            points.append(
                MapPoint(
                    id=row.id,
                    status=row.status,
                    severity=row.severity,
                    sector=row.sector,
                    submitted_at=row.submitted_at,
                    region_code=row.region_code,
                    lat=lat,
                    lon=lon,
                )
            )
    # The cursor follows the last row read, so a page trimmed at the box's edge loses nothing.
    return points, encode_cursor(page[-1].id) if more and page else None
