"""Report intake and reading. Services take everything explicitly; no request context here."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, scoped_session, selectinload

from hazard_reporter.accounts.models import User
from hazard_reporter.accounts.principal import Principal
from hazard_reporter.core.db import attach_as_loaded, insert_as_loaded
from hazard_reporter.core.pagination import decode_id_cursor, encode_id_cursor
from hazard_reporter.core.storage import Storage
from hazard_reporter.duplicates.grid import cell_of
from hazard_reporter.errors import (
    ClaimByHandler,
    FollowupTokenInvalid,
    IdempotencyKeyReused,
    LocationRequired,
    NotFound,
    PhotoCountInvalid,
    UnknownRegion,
    ValidationFailed,
)
from hazard_reporter.geo.coords import CoordSystem, to_wgs84
from hazard_reporter.inspection import services as inspection
from hazard_reporter.integrations import services as integrations
from hazard_reporter.photos.services import (
    CheckedPhoto,
    IncomingPhoto,
    build_photo,
    check_photo,
    discard,
    ensure_unclaimed,
    original_keys,
    start_syncing,
    store_originals,
)
from hazard_reporter.regions import services as regions
from hazard_reporter.reports import access
from hazard_reporter.reports.deadlines import DeadlinePolicy
from hazard_reporter.reports.location import Fix, capture_time_utc, resolve_location
from hazard_reporter.reports.models import Event, Flag, LocationSource, Report, Severity, Status
from hazard_reporter.sectors.models import Sector
from hazard_reporter.triage.engine import Rules, default_rules

REPORTER_ACTOR = "reporter"


def intake_decodes(config) -> bool:
    """Whether intake decodes every photo (``HAZARD_INTAKE_DECODE``; by default only when the
    renditions are made in-process too: with a task queue the worker decodes them)."""
    setting = config.get("INTAKE_DECODE")
    return config["TASK_RUNNER"] == "inline" if setting is None else bool(setting)


@dataclass(frozen=True)
class IntakePolicy:
    """The limits and thresholds intake applies, from configuration."""

    max_photos: int = 6
    max_photo_bytes: int = 25 * 1024 * 1024
    max_photo_pixels: int = 120_000_000
    location_mismatch_m: float = 500
    stale_photo_days: int = 7
    local_timezone: str = "Asia/Shanghai"
    burst_per_hour: int = 10  # reports from one account in an hour before "burst" is flagged
    decode_photos: bool = True  # False: pixels are first decoded by the renditions task
    upload_keep: timedelta = timedelta(hours=72)  # a direct upload is claimable this long
    rules: Rules | None = None  # triage rules; None: the shipped ones
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy)

    @classmethod
    def from_config(cls, config, *, rules: Rules | None = None) -> IntakePolicy:
        return cls(
            rules=rules,
            deadlines=DeadlinePolicy.from_config(config),
            max_photos=config["MAX_PHOTOS"],
            max_photo_bytes=config["MAX_PHOTO_BYTES"],
            max_photo_pixels=config["MAX_PHOTO_PIXELS"],
            location_mismatch_m=config["LOCATION_MISMATCH_M"],
            stale_photo_days=config["STALE_PHOTO_DAYS"],
            burst_per_hour=config["FRAUD_BURST_PER_HOUR"],
            local_timezone=config["LOCAL_TIMEZONE"],
            decode_photos=intake_decodes(config),
            upload_keep=timedelta(hours=config["UPLOAD_KEEP_HOURS"]),
        )


@dataclass
class Submission:
    """What a worker's phone sent."""

    sector: Sector
    description: str
    photos: list[IncomingPhoto]
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    coord_system: CoordSystem = CoordSystem.WGS84
    location_source: LocationSource = LocationSource.DEVICE
    region_code: str | None = None
    anonymous: bool | None = None  # None: anonymous unless the reporter is signed in
    immediate_danger: bool = False
    idempotency_key: str | None = None
    reporter: User | None = None  # the signed-in reporter, if any
    upload_keys: list[str] = field(default_factory=list)  # photos the phone put in the bucket


@dataclass
class Intake:
    """The outcome of a submission: the report, the follow-up token (shown once), and whether
    this answer replays an earlier submission with the same Idempotency-Key."""

    report: Report
    followup_token: str | None
    replayed: bool = False
    photo_ids: list[int] = field(default_factory=list)
    # False only when no photo on file had the bytes of one of these when they were checked:
    # then nothing can be an exact re-upload of them.
    photos_seen_before: bool = True


def _fingerprint(submission: Submission, photos: list[CheckedPhoto]) -> str:
    """What makes two submissions 'the same' for Idempotency-Key purposes."""
    canonical = {
        "sector": submission.sector.value,
        "description": submission.description,
        "lat": submission.lat,
        "lon": submission.lon,
        "coord_system": submission.coord_system.value,
        "region_code": submission.region_code,
        "anonymous": submission.anonymous,
        "reporter": submission.reporter.id if submission.reporter else None,
        "immediate_danger": submission.immediate_danger,
        "photos": [p.sha256 for p in photos],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def hash_token(token: str) -> str:
    """How a follow-up token is kept: only its hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _followup_token(secret_key: str, idempotency_key: str | None, fingerprint: str) -> str:
    """A random token; with an Idempotency-Key it is derived from it, so that a retry whose first
    answer was lost on the network still receives the token that was stored."""
    if idempotency_key is None:
        return secrets.token_urlsafe(32)
    mac = hmac.new(
        secret_key.encode(), f"followup\0{idempotency_key}\0{fingerprint}".encode(), "sha256"
    )
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def _replay(report: Report, fingerprint: str, secret_key: str) -> Intake:
    if report.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(field="Idempotency-Key")
    token = _followup_token(secret_key, report.idempotency_key, fingerprint)
    if report.followup_token_hash != hash_token(token):
        token = None  # not an anonymous report, or the secret key changed since
    return Intake(report, token, replayed=True, photo_ids=[p.id for p in report.photos])


def _find_by_key(session: Session, key: str) -> Report | None:
    return session.scalar(
        select(Report).where(Report.idempotency_key == key).options(selectinload(Report.photos))
    )


def _device_fix(submission: Submission) -> Fix | None:
    if submission.lat is None or submission.lon is None:
        return None
    if submission.lat == 0 and submission.lon == 0:
        return None  # a browser's "no fix", not a place in the Gulf of Guinea
    lat, lon = to_wgs84(submission.lat, submission.lon, submission.coord_system)
    return Fix(lat, lon, submission.accuracy_m, submission.location_source)


def submit_report(
    *,
    session: Session,
    storage: Storage,
    submission: Submission,
    policy: IntakePolicy,
    secret_key: str,
    now: datetime,
) -> Intake:
    """Check, store and record a report. A new report is committed only after its originals are
    durably stored; on any failure nothing of it remains (stored files are removed)."""
    count = len(submission.photos)
    if not 1 <= count <= policy.max_photos:
        raise PhotoCountInvalid(field="photos", min=1, max=policy.max_photos, count=count)
    if not submission.description.strip():
        raise ValidationFailed(field="description", detail="不能为空 / must not be empty")

    start_syncing(submission.photos)
    checked = [
        check_photo(
            p,
            max_bytes=policy.max_photo_bytes,
            max_pixels=policy.max_photo_pixels,
            decode=policy.decode_photos,
        )
        for p in submission.photos
    ]
    fingerprint = _fingerprint(submission, checked)
    if submission.idempotency_key:
        earlier = _find_by_key(session, submission.idempotency_key)
        if earlier is not None:
            return _replay(earlier, fingerprint, secret_key)
    ensure_unclaimed(session, checked, now=now, keep=policy.upload_keep)

    if submission.region_code and regions.get_region(session, submission.region_code) is None:
        raise UnknownRegion(field="region_code", region_code=submission.region_code)
    fix = _device_fix(submission)
    photo_gps = [
        (c.image.metadata.gps_lat, c.image.metadata.gps_lon)
        if c.image.metadata.gps_lat is not None
        else None
        for c in checked
    ]
    where = resolve_location(fix, photo_gps, has_region=bool(submission.region_code))
    if where is None:
        raise LocationRequired(field="lat")
    region_code = submission.region_code
    if where.lat is not None:
        found = regions.locate(session, where.lat, where.lon)
        if found is not None:
            region_code = found.code

    captured = [
        capture_time_utc(
            c.image.metadata.taken_at, c.image.metadata.utc_offset_minutes, policy.local_timezone
        )
        for c in checked
    ]
    flags = []
    if where.mismatch_m is not None and where.mismatch_m > policy.location_mismatch_m:
        flags.append(Flag.LOCATION_MISMATCH.value)
    if not any(c.image.metadata.has_exif for c in checked):
        flags.append(Flag.NO_CAMERA_METADATA.value)
    first_capture = next((t for t in captured if t is not None), None)
    # The oldest photo decides: a fresh one sent first must not hide an old one behind it.
    oldest_capture = min((t for t in captured if t is not None), default=None)
    if oldest_capture and now - oldest_capture > timedelta(days=policy.stale_photo_days):
        flags.append(Flag.STALE_PHOTO.value)

    reporter = submission.reporter
    anonymous = reporter is None if submission.anonymous is None else submission.anonymous
    anonymous = anonymous or reporter is None
    sha256s = [c.sha256 for c in checked]
    reporter_id = None if anonymous else reporter.id
    duplicate, seen_before = _photos_on_file(session, sha256s=sha256s, reporter_id=reporter_id)
    if duplicate:
        flags.append(Flag.DUPLICATE_PHOTO.value)
    if reporter_id is not None and _burst(
        session, reporter_id=reporter_id, now=now, burst_per_hour=policy.burst_per_hour
    ):
        flags.append(Flag.BURST.value)
    # Anonymous reporters follow their report with the token; signed-in ones with their account.
    token = (
        _followup_token(secret_key, submission.idempotency_key, fingerprint) if anonymous else None
    )
    keys = original_keys(checked, now=now)
    report = Report(
        sector=submission.sector.value,
        description=submission.description.strip(),
        status=Status.SUBMITTED.value,
        lat=where.lat,
        lon=where.lon,
        grid_cell=cell_of(where.lat, where.lon) if where.lat is not None else None,
        accuracy_m=where.accuracy_m,
        location_source=where.source.value,
        region_code=region_code,
        captured_at=first_capture,
        submitted_at=now,
        anonymous=anonymous,
        reporter_id=None if anonymous else reporter.id,
        immediate_danger=submission.immediate_danger,
        followup_token_hash=hash_token(token) if token else None,
        idempotency_key=submission.idempotency_key,
        request_fingerprint=fingerprint,
        flags=flags,
    )
    report.photos = [
        build_photo(c, key, position, when)
        for position, (c, key, when) in enumerate(zip(checked, keys, captured, strict=True))
    ]
    report.events = [
        Event(
            at=now,
            actor=REPORTER_ACTOR if anonymous else f"user:{reporter.id}",
            action="submitted",
            from_status=None,
            to_status=Status.SUBMITTED.value,
            data={"photos": count, "location_source": where.source.value, "flags": flags},
        )
    ]
    inspection.apply_assessment(
        report,
        inspection.assessment_for(
            report, policy.rules or default_rules(), local_timezone=policy.local_timezone, now=now
        ),
    )
    inspection.refresh_urgency(report, policy=policy.deadlines, now=now)
    # Stored only now, so that the upload's fsync (started as soon as the body was in) had the
    # checks and the making of the report to run in; the report is committed after it.
    store_originals(storage, checked, keys)
    committing = False
    try:
        _insert_report(session, report)
        integrations.emit(
            session,
            "report.created",
            integrations.report_facts(report),
            now=now,
            report_id=report.id,
        )
        if report.severity == Severity.RED.value:
            # In the same transaction as the report: the alert cannot be lost once the 201 is
            # sent (flushing first gives the report its id for the alert).
            session.flush()
            inspection.alert_red(session, report, now=now)
        photo_ids = [p.id for p in report.photos]
        committing = True
        _commit_keeping_state(session)
    except IntegrityError:
        # Another request with the same Idempotency-Key committed first: answer with its report.
        _abandon(session, storage, keys)
        winner = (
            _find_by_key(session, submission.idempotency_key)
            if submission.idempotency_key
            else None
        )
        if winner is None:
            ensure_unclaimed(session, checked)  # another report took an upload first: 409
            raise
        return _replay(winner, fingerprint, secret_key)
    except DBAPIError as error:
        if committing and error.connection_invalidated:
            # The connection died during COMMIT: the server may have committed all the same, and
            # the retry would then replay a report whose evidence we had deleted. The files stay;
            # ``photos cleanup-orphans`` removes them later only if no row refers to them.
            with contextlib.suppress(DBAPIError):
                session.rollback()
            raise
        _abandon(session, storage, keys)
        raise
    except Exception:
        _abandon(session, storage, keys)
        raise
    return Intake(report, token, photo_ids=photo_ids, photos_seen_before=seen_before)


def _insert_report(session: Session, report: Report) -> None:
    """Write a new report, its photos and its first event, with one INSERT each: the same rows
    and the same objects in the session as ``session.add(report); session.flush()``, for about
    half the flush's CPU (1.2 against 2.2 ms a report, in intake)."""
    connection = session.connection()
    insert_as_loaded(connection, report)
    for row in (*report.photos, *report.events):
        row.report_id = report.id
        insert_as_loaded(connection, row)
    attach_as_loaded(session, report, *report.photos, *report.events)


def _commit_keeping_state(session: Session) -> None:
    """Commit without expiring what the session holds: the report was just written from these
    very objects, so the answer need not read it back (columns the database fills in are
    loaded on first use all the same)."""
    underlying = session() if isinstance(session, scoped_session) else session
    before, underlying.expire_on_commit = underlying.expire_on_commit, False
    try:
        session.commit()
    finally:
        underlying.expire_on_commit = before


def _abandon(session: Session, storage: Storage, keys: list[str]) -> None:
    """Undo a submission that did not commit: its transaction, then its stored originals (even
    when the rollback itself fails, as it may with the database gone)."""
    try:
        session.rollback()
    finally:
        discard(storage, keys)


def _load(session: Session, report_id: int) -> Report | None:
    return session.scalar(
        select(Report).where(Report.id == report_id).options(selectinload(Report.photos))
    )


# Whether a report of someone else (or an anonymous one) already holds a photo with one of these
# sha256s, and whether any photo on file has one: in plain SQL, as it runs for every report.
_PHOTOS_ON_FILE = """SELECT
  EXISTS (SELECT 1 FROM reports JOIN photos ON photos.report_id = reports.id
          WHERE photos.sha256 IN :sha256s AND photos.kind = 'report' {someone_else}),
  EXISTS (SELECT 1 FROM photos WHERE photos.sha256 IN :sha256s)
"""
_PHOTOS_ON_FILE_ANY = text(_PHOTOS_ON_FILE.format(someone_else="")).bindparams(
    bindparam("sha256s", expanding=True)
)
_PHOTOS_ON_FILE_OTHERS = text(
    _PHOTOS_ON_FILE.format(
        someone_else="AND (reports.reporter_id IS NULL OR reports.reporter_id != :reporter_id)"
    )
).bindparams(bindparam("sha256s", expanding=True))


def _photos_on_file(
    session: Session, *, sha256s: list[str], reporter_id: int | None
) -> tuple[bool, bool]:
    """Whether a report of someone else (or an anonymous one) already holds one of these photos
    (the same bytes), and whether any photo on file has these bytes; in one round trip."""
    if reporter_id is None:
        row = session.execute(_PHOTOS_ON_FILE_ANY, {"sha256s": sha256s}).one()
    else:
        row = session.execute(
            _PHOTOS_ON_FILE_OTHERS, {"sha256s": sha256s, "reporter_id": reporter_id}
        ).one()
    return bool(row[0]), bool(row[1])


def _burst(session: Session, *, reporter_id: int, now: datetime, burst_per_hour: int) -> bool:
    """Whether the account already sent ``burst_per_hour`` reports in the last hour."""
    recent = session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.reporter_id == reporter_id, Report.submitted_at > now - timedelta(hours=1))
    )
    return recent >= burst_per_hour


def red_alert_payload(report: Report) -> dict:
    """What the inspectors on duty get at once for a red report (nothing about the reporter)."""
    return {
        "report_id": report.id,
        "sector": report.sector,
        "severity": report.severity,
        "description": report.description,
        "location": {"lat": report.lat, "lon": report.lon, "coord_system": "wgs84"},
        "region": report.region_code,
        "reasons": [r["zh"] for r in report.triage_reasons],
        "submitted_at": report.submitted_at.isoformat(),
    }


def get_report(session: Session, report_id: int, *, actor: Principal) -> Report:
    """One report the actor may see, or NotFound (also for reports outside the actor's scope, so
    that ids cannot be probed)."""
    report = _load(session, report_id)
    if report is None or not access.can_read(session, actor, report):
        raise NotFound(what="该报告", what_en="report")
    return report


def followup_matches(report: Report, token: str | None) -> bool:
    """Whether ``token`` is this report's follow-up token (compared in constant time)."""
    if not token or not report.followup_token_hash:
        return False
    return hmac.compare_digest(report.followup_token_hash, hash_token(token))


def get_report_by_followup(session: Session, report_id: int, token: str) -> Report:
    """The report an anonymous reporter's follow-up token opens."""
    report = _load(session, report_id)
    if report is None or not followup_matches(report, token):
        raise FollowupTokenInvalid(field="X-Followup-Token")
    return report


def _refuse_claim_by_its_handler(session: Session, report: Report, user: User) -> None:
    """An inspector who handled a report (or the hazard it was merged into) cannot claim it
    afterwards: filed anonymously, verified and judged by its own reporter, then claimed, it would
    earn a credit the own-report rule refuses."""
    handled = select(Event.id).where(
        Event.report_id.in_({report.id, report.duplicate_of_id} - {None}),
        Event.actor == f"user:{user.id}",
    )
    if session.scalar(handled.limit(1)) is not None:
        raise ClaimByHandler()


def claim_report(
    session: Session, report_id: int, *, token: str, user: User, now: datetime
) -> Report:
    """Attach an anonymous report to the reporter's account, proven by its follow-up token."""
    report = get_report_by_followup(session, report_id, token)
    if report.reporter_id is None:
        _refuse_claim_by_its_handler(session, report, user)
        report.reporter_id = user.id
        report.anonymous = False
        report.events.append(
            Event(at=now, actor=f"user:{user.id}", action="claimed", data={"user_id": user.id})
        )
        session.commit()
    elif report.reporter_id != user.id:
        raise FollowupTokenInvalid(field="X-Followup-Token")
    return report


def reporter_identity(session: Session, report: Report, *, actor: Principal, now: datetime) -> dict:
    """Who reported and with which devices; only for inspectors and admins in scope, and each
    read is written to the report's timeline."""
    if not access.can_see_identity(session, actor, report):
        raise NotFound(what="该报告", what_en="report")
    reporter = session.get(User, report.reporter_id) if report.reporter_id else None
    devices = [
        {"photo_id": p.id, "make": p.metadata_.get("make"), "model": p.metadata_.get("model")}
        for p in report.photos
    ]
    report.events.append(Event(at=now, actor=actor.actor, action="reporter_identity_read", data={}))
    session.commit()
    return {
        "anonymous": report.anonymous,
        "user": {"id": reporter.id, "name": reporter.name, "phone": reporter.phone}
        if reporter
        else None,
        "devices": devices,
    }


def record_original_read(session: Session, photo, *, actor: Principal, now: datetime) -> None:
    """Allow an original photo to be read only in scope, and write the read to the timeline."""
    report = photo.report
    if not access.can_see_identity(session, actor, report):
        raise NotFound(what="该照片", what_en="photo")
    report.events.append(
        Event(at=now, actor=actor.actor, action="original_photo_read", data={"photo_id": photo.id})
    )
    session.commit()


@dataclass(frozen=True)
class ReportFilters:
    sector: str | None = None
    status: str | None = None
    severity: str | None = None
    region: str | None = None


def apply_filters(session: Session, query, filters: ReportFilters):
    """The list filters (sector, status, colour, region subtree) on a query of reports."""
    if filters.sector:
        query = query.where(Report.sector == filters.sector)
    if filters.status:
        query = query.where(Report.status == filters.status)
    if filters.severity:
        query = query.where(Report.severity == filters.severity)
    if filters.region:
        if regions.get_region(session, filters.region) is None:
            raise UnknownRegion(field="region", region_code=filters.region)
        query = query.where(Report.region_code.in_(regions.subtree_codes(session, filters.region)))
    return query


def encode_cursor(report_id: int) -> str:
    """An opaque cursor that resumes a listing after ``report_id``."""
    return encode_id_cursor("r", report_id)


def decode_cursor(cursor: str) -> int:
    """The report id inside a cursor; ValidationFailed when it is not one of ours."""
    return decode_id_cursor("r", cursor)


def list_reports(
    session: Session, filters: ReportFilters, *, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[Report], str | None]:
    """Newest first within the actor's scope, ``limit`` at a time; returns the page and the
    cursor of the next one."""
    query = (
        select(Report)
        .where(access.visible_clause(session, actor))
        .options(selectinload(Report.photos))
        .order_by(Report.id.desc())
    )
    query = apply_filters(session, query, filters)
    if cursor:
        query = query.where(Report.id < decode_cursor(cursor))
    rows = list(session.scalars(query.limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(page[-1].id) if more and page else None
