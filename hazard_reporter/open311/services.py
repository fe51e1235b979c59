"""Open311 GeoReport v2 over hazard reports: services are sectors, service requests are reports.

PUBLIC ACCESS DECISION. Open311 clients (city apps, dashboards, researchers) read without an
account, so everything read here is public. Reporters fear retaliation by their employer, so:

- only reports an inspector has vetted and forwarded to a responsible unit are listed (statuses
  ``forwarded``, ``acknowledged``, ``rectifying``, ``rectified``, ``verified``); reports that are
  ``submitted``, ``triaged``, ``rejected`` or merged as a ``duplicate`` are answered as not found,
  as is a report sent back to triage by its unit;
- nothing about the reporter is ever read into an answer: no account, name, phone, anonymity,
  follow-up token, device, flags, timeline actors or original photo. The only photo is the signed,
  expiring link to the display rendition, which carries no EXIF, XMP or GPS;
- what is public is what the responsible unit already sees of the hazard: sector, description,
  WGS-84 point, the status with a short note, the unit's name and the dates of status changes.

Writes are open too (Open311's ``api_key`` is accepted and ignored): a request filed here is an
anonymous report, rate-limited like ``POST /api/v1/reports``, and its answer carries the report's
follow-up token. Personal fields Open311 defines (``email``, ``first_name``, ``last_name``,
``phone``, ``device_id``, ``account_id``) are ignored and never stored. The server never fetches a
``media_url``: photos must be uploaded as the multipart file field ``media``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from hazard_reporter.accounts.models import User
from hazard_reporter.core.i18n import pick
from hazard_reporter.errors import (
    DateRangeTooLong,
    MediaRequired,
    MediaUrlNotFetched,
    NotFound,
    Open311ParameterInvalid,
    Open311ParameterMissing,
    UnknownServiceCode,
)
from hazard_reporter.geo.coords import CoordSystem
from hazard_reporter.photos.models import Photo
from hazard_reporter.photos.services import IncomingPhoto
from hazard_reporter.reports.models import Event, LocationSource, Report, Severity, Status
from hazard_reporter.reports.schemas import evacuation_advice
from hazard_reporter.reports.services import Intake, Submission
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit

MAX_REQUESTS = 1000  # the spec's cap on one answer
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default and largest date range
MAX_DESCRIPTION = 2000
MAX_ID = 2**31 - 1
GROUP = ("安全生产", "Workplace safety")

PUBLIC_STATUSES: tuple[Status, ...] = (
    Status.FORWARDED,
    Status.ACKNOWLEDGED,
    Status.RECTIFYING,
    Status.RECTIFIED,
    Status.VERIFIED,
)
CLOSED_STATUSES = frozenset({Status.VERIFIED, Status.REJECTED, Status.DUPLICATE})
OPEN311_STATUSES = ("open", "closed")

# Short notes on the internal status, as Open311's ``status_notes``.
STATUS_NOTES: dict[Status, tuple[str, str]] = {
    Status.SUBMITTED: ("已受理，待核查", "Received; awaiting review"),
    Status.TRIAGED: ("已核查，待转办", "Reviewed; awaiting forwarding"),
    Status.FORWARDED: ("已转办责任单位", "Forwarded to the responsible unit"),
    Status.ACKNOWLEDGED: ("责任单位已签收", "Acknowledged by the responsible unit"),
    Status.RECTIFYING: ("正在整改", "Being rectified"),
    Status.RECTIFIED: ("已整改，待验收", "Rectified; awaiting verification"),
    Status.VERIFIED: ("已验收", "Rectification verified"),
    Status.REJECTED: ("经核查不属于安全隐患", "Not a hazard after review"),
    Status.DUPLICATE: ("已并入同一隐患的其他报告", "Merged into another report of this hazard"),
}

# Per sector: description (zh, en) and keywords (zh, en) for ``services.json``.
SERVICE_TEXT: dict[Sector, tuple[tuple[str, str], tuple[str, str]]] = {
    Sector.CONSTRUCTION: (
        (
            "建筑工地的深基坑、高支模、脚手架、临边洞口防护缺失等隐患",
            "Building sites: deep excavations, high formwork, scaffolding, missing fall protection",
        ),
        ("建筑施工,工地,脚手架,深基坑,高处坠落", "construction,site,scaffolding,excavation,fall"),
    ),
    Sector.HAZARDOUS_CHEMICALS: (
        (
            "危险化学品储存、使用、运输中的泄漏、储罐、动火作业等隐患",
            "Hazardous chemicals: leaks, storage tanks, hot work in storage, use and transport",
        ),
        ("危险化学品,危化品,泄漏,储罐,动火", "chemicals,leak,storage tank,hot work"),
    ),
    Sector.GAS_NETWORK: (
        (
            "燃气泄漏、地下室使用液化气瓶、燃气管道和表箱损坏等隐患",
            "Gas: leaks, LPG cylinders in basements, damaged pipes and meter boxes",
        ),
        ("燃气,煤气,液化气,泄漏,管道", "gas,LPG,leak,pipeline"),
    ),
    Sector.CROWDED_VENUE: (
        (
            "商场、影院、餐馆等人员密集场所的安全出口堵塞、消防通道占用、超员等隐患",
            "Crowded venues: blocked exits, obstructed fire lanes, overcrowding",
        ),
        ("人员密集场所,安全出口,消防通道,超员", "venue,exit,fire lane,overcrowding"),
    ),
    Sector.TRANSPORT: (
        (
            "道路运输、客货车辆、场内机动车辆等交通运输安全隐患",
            "Transport: road haulage, passenger and goods vehicles, vehicles on site",
        ),
        ("交通运输,车辆,超载,客运,货运", "transport,vehicle,overload,passenger,freight"),
    ),
    Sector.MINING: (
        (
            "矿山、采石场的采掘、通风、边坡、尾矿库等隐患",
            "Mines and quarries: excavation, ventilation, slopes, tailings dams",
        ),
        ("矿山,采石场,通风,边坡,尾矿库", "mine,quarry,ventilation,slope,tailings"),
    ),
    Sector.EXPLOSIVES: (
        (
            "民用爆炸物品储存、运输和使用中的隐患",
            "Civil explosives: storage, transport and use",
        ),
        ("民爆器材,炸药,雷管,爆破", "explosives,detonator,blasting"),
    ),
    Sector.THREE_IN_ONE: (
        (
            "住宿与生产、储存、经营混在同一建筑内的“三合一”场所隐患",
            "'Three-in-one' premises: living quarters mixed with production, storage or trade",
        ),
        ("三合一,住人,仓库,消防", "three-in-one,dormitory,warehouse,fire"),
    ),
    Sector.OTHER: (
        ("其他工作场所安全隐患", "Other workplace safety hazards"),
        ("其他,安全隐患", "other,hazard"),
    ),
}


def not_found() -> NotFound:
    """The answer for a request that does not exist or is not public (indistinguishable)."""
    return NotFound(what="该服务请求", what_en="service request")


# --- services ----------------------------------------------------------------------------------


def service_list(lang: str) -> list[dict]:
    """``services.json``: one service per sector, named in ``lang``."""
    out = []
    for sector in Sector:
        description, keywords = SERVICE_TEXT[sector]
        out.append(
            {
                "service_code": sector.value,
                "service_name": pick(sector.label_zh, sector.label_en, lang),
                "description": pick(*description, lang),
                "metadata": False,
                "type": "realtime",
                "keywords": pick(*keywords, lang),
                "group": pick(*GROUP, lang),
            }
        )
    return out


def service_code(raw: str | None) -> Sector:
    """The sector a ``service_code`` names; Open311's 400 when missing or unknown."""
    code = (raw or "").strip()
    if not code:
        raise Open311ParameterMissing(field="service_code")
    try:
        return Sector(code)
    except ValueError:
        codes = ", ".join(s.value for s in Sector)
        raise UnknownServiceCode(field="service_code", service_code=code, codes=codes) from None


# --- reading service requests ------------------------------------------------------------------


def open311_status(status: str) -> str:
    """``open`` or ``closed``: verified, rejected and duplicate reports are closed."""
    return "closed" if Status(status) in CLOSED_STATUSES else "open"


@dataclass(frozen=True)
class RequestQuery:
    """The filters of ``GET requests.json``; ``ids`` given means every other filter is unused."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _parse_datetime(name: str, raw: str, local_timezone: str) -> datetime:
    """An ISO 8601 (W3C) date or date-time; without an offset it is local time."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Open311ParameterInvalid(
            field=name, detail="须为 ISO 8601 日期时间 / must be an ISO 8601 date-time"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(local_timezone))
    # Kept well inside datetime's range: the 90-day window is added to or taken from it.
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        value = None
    if value is None or not EARLIEST <= value <= LATEST:
        raise Open311ParameterInvalid(
            field=name,
            detail="须在公元 1000 至 9000 年之间 / must be between the years 1000 and 9000",
        )
    return value


def parse_request_query(
    args: Mapping[str, str], *, now: datetime, local_timezone: str
) -> RequestQuery:
    """Open311's filters from query arguments: ids override the rest; dates span ≤ 90 days."""
    raw_ids = _split(args.get("service_request_id"))
    if raw_ids:
        if len(raw_ids) > MAX_REQUESTS or not all(
            i.isascii() and i.isdigit() and 0 < int(i) <= MAX_ID for i in raw_ids
        ):
            raise Open311ParameterInvalid(
                field="service_request_id",
                detail=f"须为不超过 {MAX_REQUESTS} 个以逗号分隔的编号 / "
                f"must be up to {MAX_REQUESTS} comma-separated ids",
            )
        return RequestQuery(ids=tuple(dict.fromkeys(int(i) for i in raw_ids)))

    codes = tuple(service_code(code).value for code in _split(args.get("service_code")))
    statuses = tuple(_split(args.get("status")))
    if any(s not in OPEN311_STATUSES for s in statuses):
        raise Open311ParameterInvalid(field="status", detail="须为 open 或 closed / open or closed")

    start_raw, end_raw = args.get("start_date"), args.get("end_date")
    start = _parse_datetime("start_date", start_raw, local_timezone) if start_raw else None
    end = _parse_datetime("end_date", end_raw, local_timezone) if end_raw else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - DEFAULT_WINDOW
    if end is None:
        end = start + DEFAULT_WINDOW
    if start > end:
        raise Open311ParameterInvalid(
            field="start_date", detail="不能晚于 end_date / must not be after end_date"
        )
    if end - start > DEFAULT_WINDOW:
        raise DateRangeTooLong(field="start_date", days=DEFAULT_WINDOW.days)
    return RequestQuery(service_codes=codes, start=start, end=end, statuses=statuses)


def _public(query: Select) -> Select:
    return query.where(Report.status.in_([s.value for s in PUBLIC_STATUSES]))


def find_requests(session: Session, query: RequestQuery) -> list[Report]:
    """The public reports matching ``query``, newest first, at most ``MAX_REQUESTS``."""
    stmt = (
        _public(select(Report))
        .options(selectinload(Report.photos))
        .order_by(Report.submitted_at.desc(), Report.id.desc())
        .limit(MAX_REQUESTS)
    )
    if query.ids:
        return list(session.scalars(stmt.where(Report.id.in_(query.ids))))
    if query.service_codes:
        stmt = stmt.where(Report.sector.in_(query.service_codes))
    if query.start is not None:
        stmt = stmt.where(Report.submitted_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(Report.submitted_at <= query.end)
    if query.statuses:
        wanted = [s.value for s in PUBLIC_STATUSES if open311_status(s) in query.statuses]
        stmt = stmt.where(Report.status.in_(wanted))
    return list(session.scalars(stmt))


def get_request(session: Session, report_id: int) -> Report:
    """One public report; anything else is not found."""
    report = session.scalar(
        _public(select(Report)).where(Report.id == report_id).options(selectinload(Report.photos))
    )
    if report is None:
        raise not_found()
    return report


def _last_status_changes(session: Session, report_ids: list[int]) -> dict[int, datetime]:
    """When each report last changed status (reads of identity or originals do not count)."""
    if not report_ids:
        return {}
    rows = session.execute(
        select(Event.report_id, func.max(Event.at))
        .where(Event.report_id.in_(report_ids), Event.to_status.is_not(None))
        .group_by(Event.report_id)
    ).all()
    return {report_id: at for report_id, at in rows}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _coordinate(value: float | None) -> float | None:
    return round(value, 6) if value is not None else None


def present_requests(
    session: Session,
    reports: list[Report],
    *,
    lang: str,
    media_url_for: Callable[[Photo], str],
) -> list[dict]:
    """Reports as Open311 service requests: the hazard and its progress, never the reporter."""
    updated = _last_status_changes(session, [r.id for r in reports])
    unit_ids = {r.unit_id for r in reports if r.unit_id is not None}
    units = (
        {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
        if unit_ids
        else {}
    )
    out = []
    for report in reports:
        status = Status(report.status)
        sector = Sector(report.sector)
        unit = units.get(report.unit_id) if report.unit_id is not None else None
        photo = next((p for p in report.photos if p.kind == "report"), None)
        open_ = open311_status(status) == "open"
        out.append(
            {
                "service_request_id": str(report.id),
                "status": open311_status(status),
                "status_notes": pick(*STATUS_NOTES[status], lang),
                "service_name": pick(sector.label_zh, sector.label_en, lang),
                "service_code": sector.value,
                "description": report.description,
                "agency_responsible": pick(unit.name_zh, unit.name_en or unit.name_zh, lang)
                if unit
                else None,
                "service_notice": None,
                "requested_datetime": _iso(report.submitted_at),
                "updated_datetime": _iso(updated.get(report.id) or report.submitted_at),
                "expected_datetime": _iso(report.rectify_due_at) if open_ else None,
                "address": None,
                "address_id": None,
                "zipcode": None,
                "lat": _coordinate(report.lat),
                "long": _coordinate(report.lon),
                "media_url": media_url_for(photo) if photo is not None else None,
            }
        )
    return out


# --- filing a service request ------------------------------------------------------------------


def _coordinate_arg(form: Mapping[str, str], name: str, limit: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise Open311ParameterInvalid(
            field=name, detail=f"须为 -{limit:g} 到 {limit:g} 之间的数 / a number in ±{limit:g}"
        )
    return value


def parse_submission(
    form: Mapping[str, str],
    media: list[IncomingPhoto],
    *,
    reporter: User | None,
    idempotency_key: str | None,
) -> Submission:
    """A Submission from Open311's form fields (``region_code`` is accepted as an extension)."""
    for name, value in form.items():
        if "\x00" in value:  # PostgreSQL cannot store it; no field has a use for it
            raise Open311ParameterInvalid(
                field=name, detail="不能含有 NUL 字符 / must not contain the NUL character (U+0000)"
            )
    sector = service_code(form.get("service_code"))
    lat, lon = _coordinate_arg(form, "lat", 90), _coordinate_arg(form, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311ParameterMissing(field="long" if lon is None else "lat")
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311ParameterMissing(field="description")
    if len(description) > MAX_DESCRIPTION:
        raise Open311ParameterInvalid(
            field="description",
            detail=f"最多 {MAX_DESCRIPTION} 个字符 / at most {MAX_DESCRIPTION} characters",
        )
    if not media:
        if (form.get("media_url") or "").strip():
            raise MediaUrlNotFetched(field="media_url")
        raise MediaRequired(field="media")
    region_code = (form.get("region_code") or "").strip() or None
    if region_code is not None and not (
        region_code.isascii() and region_code.isdigit() and 6 <= len(region_code) <= 12
    ):
        raise Open311ParameterInvalid(
            field="region_code", detail="须为 6–12 位地区代码 / a 6-12 digit region code"
        )
    return Submission(
        sector=sector,
        description=description,
        photos=media,
        lat=lat,
        lon=lon,
        coord_system=CoordSystem.WGS84,  # Open311 is WGS-84 by definition
        location_source=LocationSource.DEVICE,
        region_code=region_code,
        idempotency_key=idempotency_key,
        reporter=reporter,
    )


def present_created(intake: Intake, *, lang: str) -> dict:
    """The answer to a new service request; a red hazard's answer starts with evacuation advice."""
    notice = pick(
        "已收到您的隐患报告，检查员核查并转办责任单位后，可在本接口查询进展。请妥善保存 token："
        "它是跟进该报告的唯一凭证，只显示这一次。",
        "Your hazard report was received. Once an inspector has reviewed it and forwarded it to "
        "the responsible unit, its progress can be read here. Keep the token: it is the only way "
        "to follow this report and is shown only once.",
        lang,
    )
    if intake.report.severity == Severity.RED.value:
        # Read first: get people clear (the advice follows the request's own language).
        advice = evacuation_advice(lang)
        notice = f"{advice['title']}{pick('！', '! ', lang)}{advice['text']} {notice}"
    return {
        "service_request_id": str(intake.report.id),
        "service_notice": notice,
        "account_id": None,
        "token": intake.followup_token,
    }
