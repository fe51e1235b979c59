"""Duplicate candidates: reports of the same sector near the same place, recently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from hazard_reporter.duplicates.grid import cells_near, photo_similarity
from hazard_reporter.geo.coords import distance_m
from hazard_reporter.reports.models import Report, Status

CLOSED = (Status.DUPLICATE.value, Status.REJECTED.value)


@dataclass(frozen=True)
class Candidate:
    report: Report
    distance_m: float
    similarity: float | None  # best photo similarity, 0..1, when both have perceptual hashes


def candidates(
    session: Session,
    *,
    sector: str,
    lat: float,
    lon: float,
    radius_m: float,
    since: datetime,
    exclude_id: int | None = None,
    phashes: list[str] | None = None,
    sha256s: list[str] | None = None,
    limit: int = 10,
    visible: ColumnElement[bool] | None = None,
) -> list[Candidate]:
    """Open or closed-as-fixed reports of ``sector`` within ``radius_m`` since ``since`` (and
    ``visible``: an inspector's scope), nearest and most alike first; an exact re-upload (same
    sha256) ranks first whatever the distance."""
    query = (
        select(Report)
        .where(
            Report.sector == sector,
            Report.grid_cell.in_(cells_near(lat, lon, radius_m)),
            Report.submitted_at >= since,
            Report.status.not_in(CLOSED),
        )
        .options(selectinload(Report.photos))
        .limit(2000)
    )
    if exclude_id is not None:
        query = query.where(Report.id != exclude_id)
    if visible is not None:
        query = query.where(visible)
    found: list[Candidate] = []
    mine = [p for p in phashes or [] if p]
    exact = set(sha256s or [])
    for report in session.scalars(query):
        distance = distance_m(lat, lon, report.lat, report.lon)
        if distance > radius_m:
            continue
        theirs = [p.phash for p in report.photos if p.kind == "report" and p.phash]
        scores = [s for a in mine for b in theirs if (s := photo_similarity(a, b)) is not None]
        if exact & {p.sha256 for p in report.photos}:
            scores.append(1.0)
        found.append(Candidate(report, round(distance, 1), max(scores) if scores else None))
    # Photos that look alike first (a re-encoded, cropped or resized shot of the same scene),
    # then the nearest.
    found.sort(key=lambda c: (-round(c.similarity or 0.0, 2), c.distance_m))
    return found[:limit]


def suggestions(found: list[Candidate], *, min_similarity: float) -> list[Candidate]:
    """What to ask the worker about ("is this the same hazard?"): only reports whose photos look
    alike, so an unrelated hazard next door is not offered."""
    return [c for c in found if c.similarity is not None and c.similarity >= min_similarity]


def since(now: datetime, days: int) -> datetime:
    """The start of the look-back window."""
    return now - timedelta(days=days)
