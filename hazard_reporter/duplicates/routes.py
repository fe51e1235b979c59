"""Duplicate candidates for inspectors, and a worker's "me too" on an existing report."""

from __future__ import annotations

from flask import current_app, request, url_for

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, photo_links, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.duplicates import services
from hazard_reporter.duplicates.schemas import CandidateSchema, DuplicateQuerySchema, MeTooSchema
from hazard_reporter.errors import AuthRequired, NotFound, ValidationFailed
from hazard_reporter.extensions import db
from hazard_reporter.geo.coords import distance_m
from hazard_reporter.inspection.services import merge
from hazard_reporter.reports import services as reports
from hazard_reporter.reports.access import Audience, visible_clause
from hazard_reporter.reports.deadlines import DeadlinePolicy
from hazard_reporter.reports.models import Report, Status
from hazard_reporter.reports.schemas import ReportSchema, present_report
from hazard_reporter.reports.workflow import OPEN

blp = HazardBlueprint("duplicates", __name__, url_prefix="/api/v1", description="重复 Duplicates")
MAX_ID = 2**31 - 1


def present_candidate(candidate: services.Candidate) -> dict:
    """A nearby report as a worker or inspector is shown it: the hazard, not the reporter."""
    report = candidate.report
    photo = next((p for p in report.photos if p.kind == "report"), None)
    thumbnail = None
    if photo is not None:
        thumbnail = url_for("photos.thumbnail", photo_id=photo.id, t=photo_links().sign(photo.id))
    return {
        "id": report.id,
        "distance_m": candidate.distance_m,
        "similarity": None if candidate.similarity is None else round(candidate.similarity, 3),
        "sector": report.sector,
        "severity": report.severity,
        "status": report.status,
        "submitted_at": report.submitted_at,
        "independent_reports": report.independent_reports,
        "thumbnail_url": thumbnail,
    }


def suggestions_for(report: Report) -> list[dict]:
    """The "is this the same hazard?" suggestions for a report just made (its photos' hashes
    exist once their renditions were made; with a queue they may come later)."""
    if report.lat is None:
        return []
    config = current_app.config
    found = services.candidates(
        db.session,
        sector=report.sector,
        lat=report.lat,
        lon=report.lon,
        radius_m=config["DUPLICATE_SUGGEST_RADIUS_M"],
        since=services.since(utcnow(), config["DUPLICATE_DAYS"]),
        exclude_id=report.id,
        phashes=[p.phash for p in report.photos if p.kind == "report"],
        sha256s=[p.sha256 for p in report.photos if p.kind == "report"],
    )
    chosen = services.suggestions(found, min_similarity=config["DUPLICATE_MIN_SIMILARITY"])
    return [present_candidate(c) for c in chosen]


@blp.route(f"/reports/<int(max={MAX_ID}):report_id>/duplicates")
@blp.arguments(DuplicateQuerySchema, location="query")
@blp.response(200, CandidateSchema(many=True))
@requires(Role.INSPECTOR, Role.ADMIN)
def duplicates(query, report_id):
    """Reports of the same sector nearby and recent, most alike and nearest first: those in the
    inspector's scope (a report next door may be another district's)."""
    actor = current_principal()
    report = reports.get_report(db.session, report_id, actor=actor)
    if report.lat is None:
        return []
    found = services.candidates(
        db.session,
        sector=report.sector,
        lat=report.lat,
        lon=report.lon,
        radius_m=query["radius_m"],
        since=services.since(report.submitted_at, query["days"]),
        exclude_id=report.id,
        phashes=[p.phash for p in report.photos if p.kind == "report"],
        sha256s=[p.sha256 for p in report.photos if p.kind == "report"],
        limit=50,
        visible=visible_clause(db.session, actor),
    )
    return [present_candidate(c) for c in found]


@blp.route(f"/reports/<int(max={MAX_ID}):report_id>/me-too", methods=["POST"])
@blp.arguments(MeTooSchema)
@blp.response(200, ReportSchema)
def me_too(body, report_id):
    """The reporter confirms "the same hazard": their report and photos join the existing one
    (one more independent voice, which weighs in its triage). Proven by the follow-up token or
    by being the signed-in reporter."""
    principal = current_principal()
    token = request.headers.get("X-Followup-Token")
    if token:
        mine = reports.get_report_by_followup(db.session, report_id, token)
    elif principal.authenticated:
        mine = reports.get_report(db.session, report_id, actor=principal)
        if mine.reporter_id != principal.user.id:
            raise NotFound(what="该报告", what_en="report")
    else:
        raise AuthRequired()
    into = db.session.get(Report, body["into_id"])
    config = current_app.config
    # Only a report still open and made before mine: a verified report's credit (and colour) is
    # settled, and joining an earlier report must not make mine the cluster's first.
    near = (
        into is not None
        and into.sector == mine.sector
        and into.lat is not None
        and mine.lat is not None
        and distance_m(mine.lat, mine.lon, into.lat, into.lon)
        <= config["DUPLICATE_ME_TOO_RADIUS_M"]
        and Status(into.status) in OPEN
        and into.submitted_at <= mine.submitted_at
    )
    if not near:
        raise ValidationFailed(
            field="into_id",
            detail="附近没有这条同类隐患报告 / no such open report of this kind nearby",
        )
    merge(
        db.session,
        mine,
        into=into,
        actor=principal,
        now=utcnow(),
        policy=DeadlinePolicy.from_config(config),
        rules=current_app.extensions["hazard_triage_rules"],
        local_timezone=config["LOCAL_TIMEZONE"],
    )
    return present_report(mine, coord_system="wgs84", audience=Audience.REPORTER)
