"""Where a hazard is: a pure decision from the phone's fix, the photos' GPS and a region code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hazard_reporter.geo.coords import distance_m
from hazard_reporter.reports.models import LocationSource


@dataclass(frozen=True)
class Fix:
    """A WGS-84 position from the phone (``device``) or picked on a map (``manual``)."""

    lat: float
    lon: float
    accuracy_m: float | None = None
    source: LocationSource = LocationSource.DEVICE


@dataclass(frozen=True)
class ResolvedLocation:
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    source: LocationSource
    mismatch_m: float | None  # distance between the phone's fix and the photo's GPS, if both


def resolve_location(
    fix: Fix | None, photo_gps: list[tuple[float, float] | None], *, has_region: bool
) -> ResolvedLocation | None:
    """The phone's own fix first (browsers often strip EXIF), then the first photo GPS, else the
    region alone (no point); ``None`` when nothing locates the hazard."""
    first_gps = next((gps for gps in photo_gps if gps is not None), None)
    if fix is not None:
        mismatch = distance_m(fix.lat, fix.lon, *first_gps) if first_gps else None
        return ResolvedLocation(fix.lat, fix.lon, fix.accuracy_m, fix.source, mismatch)
    if first_gps is not None:
        return ResolvedLocation(first_gps[0], first_gps[1], None, LocationSource.EXIF, None)
    if has_region:
        return ResolvedLocation(None, None, None, LocationSource.MANUAL, None)
    return None


def capture_time_utc(
    taken_at: datetime | None, utc_offset_minutes: int | None, local_timezone: str
) -> datetime | None:
    """A camera's wall-clock time in UTC: with its own offset when it wrote one, else read in the
    deployment's zone (most cameras write no offset)."""
    if taken_at is None:
        return None
    if taken_at.tzinfo is not None:
        return taken_at.astimezone(ZoneInfo("UTC"))
    if utc_offset_minutes is not None:
        return (taken_at - timedelta(minutes=utc_offset_minutes)).replace(tzinfo=ZoneInfo("UTC"))
    return taken_at.replace(tzinfo=ZoneInfo(local_timezone)).astimezone(ZoneInfo("UTC"))
