"""/api/v1/reports: submit, read and list hazard reports."""

from __future__ import annotations

import contextlib
import dataclasses

from flask import current_app, request

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.limits import submission_limits
from hazard_reporter.core.tasks import current_runner, current_storage
from hazard_reporter.duplicates.routes import suggestions_for
from hazard_reporter.errors import AuthRequired, IdempotencyKeyInvalid, PhotoCountInvalid
from hazard_reporter.extensions import db
from hazard_reporter.geo.coords import CoordSystem
from hazard_reporter.photos.services import IncomingPhoto, fetch_upload
from hazard_reporter.photos.tasks import make_derivatives_task
from hazard_reporter.reports import services
from hazard_reporter.reports.access import Audience, audience_of
from hazard_reporter.reports.models import LocationSource, Severity
from hazard_reporter.reports.schemas import (
    CoordQuerySchema,
    ReportCreatedSchema,
    ReporterIdentitySchema,
    ReportListQuerySchema,
    ReportPageSchema,
    ReportSchema,
    ReportSubmissionSchema,
    present_report,
)
from hazard_reporter.sectors.models import Sector

blp = HazardBlueprint(
    "reports", __name__, url_prefix="/api/v1/reports", description="隐患报告 Reports"
)

MAX_ID = 2**31 - 1


def take_in(submission: services.Submission) -> services.Intake:
    """Submit a report with the app's settings and triage rules, then start its background work
    (renditions; the red alert goes out now rather than at the loop's next tick). Photos the
    phone uploaded straight to the bucket are fetched to be checked like the others."""
    config = current_app.config
    storage = current_storage()
    count = len(submission.photos) + len(submission.upload_keys)
    if count > config["MAX_PHOTOS"]:
        raise PhotoCountInvalid(field="photos", min=1, max=config["MAX_PHOTOS"], count=count)
    with contextlib.ExitStack() as stack:
        uploaded = []
        for key in submission.upload_keys:
            photo = fetch_upload(storage, key, max_bytes=config["MAX_PHOTO_BYTES"])
            stack.callback(photo.stream.close)
            uploaded.append(photo)
        intake = services.submit_report(
            session=db.session,
            storage=storage,
            submission=dataclasses.replace(submission, photos=[*submission.photos, *uploaded]),
            policy=services.IntakePolicy.from_config(
                config, rules=current_app.extensions["hazard_triage_rules"]
            ),
            secret_key=config["SECRET_KEY"],
            now=utcnow(),
        )
    if not intake.replayed:
        for photo_id in intake.photo_ids:
            current_runner().enqueue(make_derivatives_task, photo_id)
        if intake.report.severity == Severity.RED.value:
            current_runner().wake()
    return intake


def duplicate_suggestions(intake: services.Intake) -> list[dict]:
    """The "is this the same hazard?" suggestions. A suggestion needs photos that look alike
    (perceptual hashes, made with the renditions) or an exact re-upload: with neither, the
    look-up is skipped (renditions made by a queue come after the answer)."""
    photos = intake.report.photos
    if not intake.photos_seen_before and not any(p.phash for p in photos):
        return []
    return suggestions_for(intake.report)


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header, checked."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not all(33 <= ord(c) <= 126 for c in key):
        raise IdempotencyKeyInvalid(field="Idempotency-Key")
    return key


@blp.route("", methods=["POST"])
@blp.arguments(ReportSubmissionSchema, location="multipart")
@blp.response(201, ReportCreatedSchema)
@blp.alt_response(413, description="A photo or the request is too large")
@blp.alt_response(415, description="A photo is not JPEG, PNG, WebP or HEIC/HEIF")
@blp.alt_response(503, description="Storage or database unavailable; retry with the same key")
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
@submission_limits
def create_report(form):
    """Report a hazard: 1–6 photos, a sector and a line of text."""
    submission = services.Submission(
        sector=Sector(form["sector"]),
        description=form["description"],
        photos=[IncomingPhoto(f.filename or "photo", f.stream) for f in form["photos"]],
        upload_keys=form["upload_keys"],
        lat=form.get("lat"),
        lon=form.get("lon"),
        accuracy_m=form.get("accuracy_m"),
        coord_system=CoordSystem(form["coord_system"]),
        location_source=LocationSource(form["location_source"]),
        region_code=form.get("region_code"),
        anonymous=form.get("anonymous"),
        immediate_danger=form["immediate_danger"],
        idempotency_key=idempotency_key(),
        reporter=current_principal().user,
    )
    intake = take_in(submission)
    body = present_report(
        intake.report, coord_system=CoordSystem.WGS84.value, audience=Audience.REPORTER
    )
    body["followup_token"] = intake.followup_token
    body["duplicate_candidates"] = duplicate_suggestions(intake)
    headers = {"Location": f"/api/v1/reports/{intake.report.id}"}
    if intake.replayed:
        headers["Idempotent-Replayed"] = "true"
    return body, 201, headers


FOLLOWUP_HEADER = {"in": "header", "name": "X-Followup-Token", "schema": {"type": "string"}}


@blp.route(f"/<int(max={MAX_ID}):report_id>")
@blp.arguments(CoordQuerySchema, location="query")
@blp.response(200, ReportSchema)
@blp.doc(parameters=[FOLLOWUP_HEADER])
def get_report(query, report_id):
    """One report, its photos and its timeline: for the anonymous reporter with the follow-up
    token, or for a signed-in reader within their scope."""
    token = request.headers.get("X-Followup-Token")
    if token:
        report = services.get_report_by_followup(db.session, report_id, token)
        return present_report(
            report, coord_system=query["coord_system"], audience=Audience.REPORTER
        )
    principal = current_principal()
    if not principal.authenticated:
        raise AuthRequired()
    report = services.get_report(db.session, report_id, actor=principal)
    return present_report(
        report, coord_system=query["coord_system"], audience=audience_of(principal)
    )


@blp.route(f"/<int(max={MAX_ID}):report_id>/reporter")
@blp.response(200, ReporterIdentitySchema)
@requires(Role.INSPECTOR, Role.ADMIN)
def get_reporter(report_id):
    """Who reported it, with their devices. Inspectors and admins of the report's scope; every
    read is written to the report's timeline."""
    principal = current_principal()
    report = services.get_report(db.session, report_id, actor=principal)
    return services.reporter_identity(db.session, report, actor=principal, now=utcnow())


@blp.route(f"/<int(max={MAX_ID}):report_id>/claim", methods=["POST"])
@blp.response(200, ReportSchema)
@blp.doc(parameters=[FOLLOWUP_HEADER])
@requires()
def claim_report(report_id):
    """Attach an anonymous report to the signed-in account, with its follow-up token."""
    report = services.claim_report(
        db.session,
        report_id,
        token=request.headers.get("X-Followup-Token", ""),
        user=current_principal().user,
        now=utcnow(),
    )
    return present_report(report, coord_system=CoordSystem.WGS84.value, audience=Audience.REPORTER)


@blp.route("")
@blp.arguments(ReportListQuerySchema, location="query")
@blp.response(200, ReportPageSchema)
@requires()
def list_reports(query):
    """Reports, newest first, filtered; follow ``next_cursor`` for the next page."""
    filters = services.ReportFilters(
        sector=query.get("sector"),
        status=query.get("status"),
        severity=query.get("severity"),
        region=query.get("region"),
    )
    principal = current_principal()
    page, next_cursor = services.list_reports(
        db.session, filters, actor=principal, limit=query["limit"], cursor=query.get("cursor")
    )
    audience = audience_of(principal)
    items = [
        present_report(r, coord_system=query["coord_system"], audience=audience, timeline=False)
        for r in page
    ]
    return {"items": items, "next_cursor": next_cursor}
