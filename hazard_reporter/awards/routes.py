"""/api/v1/awards (ranked lists and exports), /api/v1/commendations, /api/v1/campaigns."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, current_app, request, stream_with_context
from sqlalchemy import select

from hazard_reporter.accounts.models import Role
from hazard_reporter.awards import exports, services
from hazard_reporter.awards.models import Campaign, Level
from hazard_reporter.awards.schemas import (
    AwardListSchema,
    AwardPageQuerySchema,
    AwardQuerySchema,
    CampaignSchema,
    ClearFlagsSchema,
    CommendationInSchema,
    CommendationSchema,
)
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.errors import NotFound, ValidationFailed
from hazard_reporter.extensions import db
from hazard_reporter.regions.models import Region
from hazard_reporter.reports import services as report_services
from hazard_reporter.reports.access import Audience
from hazard_reporter.reports.schemas import ReportSchema, present_report

blp = HazardBlueprint("awards", __name__, url_prefix="/api/v1", description="评先评优 Awards")
COMMITTEE = (Role.COMMITTEE, Role.ADMIN)
MAX_ID = 2**31 - 1
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": exports.XLSX_MIME, "pdf": "application/pdf"}


def _filters(query) -> services.AwardFilters:
    tz = current_app.config["LOCAL_TIMEZONE"]
    campaign = None
    if query.get("campaign") is not None:
        campaign = db.session.get(Campaign, query["campaign"])
        if campaign is None:
            raise NotFound(field="campaign", what="该活动", what_en="campaign")
    if campaign is not None and not {"period", "on", "start", "end"} & request.args.keys():
        start, end = campaign.starts_on, campaign.ends_on  # a campaign alone: its own dates
    else:
        on = query.get("on") or datetime.now(ZoneInfo(tz)).date()
        start, end = services.period_bounds(
            query["period"], on, query.get("start"), query.get("end")
        )
        if campaign is not None:  # the answer and the exports say the dates that count
            start, end = max(start, campaign.starts_on), min(end, campaign.ends_on)
    return services.AwardFilters(
        start=start,
        end=end,
        region=query.get("region"),
        sector=query.get("sector"),
        campaign_id=query.get("campaign"),
    )


def _meta(filters: services.AwardFilters) -> exports.ExportMeta:
    region = db.session.get(Region, filters.region) if filters.region else None
    campaign = db.session.get(Campaign, filters.campaign_id) if filters.campaign_id else None
    title = f"{campaign.name} " if campaign else ""
    return exports.ExportMeta(
        title=f"{title}隐患随手拍 表彰名单",
        period=f"{filters.start.isoformat()} 至 {filters.end.isoformat()}",
        region=region.name_zh if region else "全部地区",
        generated_at=utcnow(),
    )


@blp.route("/awards")
@blp.arguments(AwardPageQuerySchema, location="query")
@blp.response(200, AwardListSchema)
@requires(*COMMITTEE)
def award_list(query):
    """Reporters ranked by points for a period, region, sector or campaign; ties share a rank.
    A page at a time (``limit``, then ``next_cursor``); the exports hold the whole list."""
    filters = _filters(query)
    page = services.award_page(
        db.session,
        filters,
        tz=current_app.config["LOCAL_TIMEZONE"],
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
    return {
        "start": filters.start,
        "end": filters.end,
        "total": page.total,
        "items": page.rows,
        "next_cursor": page.next_cursor,
    }


@blp.route("/awards/export.<any(csv, xlsx, pdf):fmt>")
@blp.arguments(AwardQuerySchema, location="query")
@blp.response(200, description="CSV (UTF-8 with BOM), XLSX or PDF of the award list")
@requires(*COMMITTEE)
def export_awards(query, fmt):
    """The award list as a file the committee can use as it is."""
    filters = _filters(query)
    tz = current_app.config["LOCAL_TIMEZONE"]
    meta = _meta(filters)
    name = f"awards-{filters.start.isoformat()}-{filters.end.isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        rows = services.iter_award_rows(db.session, filters, tz=tz)
        return Response(
            stream_with_context(exports.csv_chunks(rows, meta)),
            mimetype=FORMATS["csv"],
            headers=headers,
        )
    rows = services.award_rows(db.session, filters, tz=tz)
    body = exports.xlsx_bytes(rows, meta) if fmt == "xlsx" else exports.list_pdf(rows, meta)
    return Response(body, mimetype=FORMATS[fmt], headers=headers)


@blp.route("/awards/certificates.pdf")
@blp.arguments(AwardQuerySchema, location="query")
@blp.response(200, description="One certificate page per commended reporter")
@requires(*COMMITTEE)
def certificates(query):
    """Certificates for every reporter with a granted commendation in the list."""
    filters = _filters(query)
    rows = services.award_rows(db.session, filters, tz=current_app.config["LOCAL_TIMEZONE"])
    today = datetime.now(ZoneInfo(current_app.config["LOCAL_TIMEZONE"])).date()
    certs = [
        exports.Certificate(
            reporter=row.reporter,
            level=row.level or Level.TIMELY_PRAISE.label_zh,
            reason="；".join(row.reasons),
            points=row.points,
            issuer=current_app.config["CERTIFICATE_ISSUER"],
            issued_on=today,
        )
        for row in rows
        if row.level
    ]
    return Response(
        exports.certificates_pdf(certs),
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="certificates.pdf"'},
    )


@blp.route("/commendations")
@blp.response(200, CommendationSchema(many=True))
@requires(Role.INSPECTOR, *COMMITTEE)
def list_commendations():
    """Commendations, newest first."""
    return services.visible_commendations(db.session, current_principal())


@blp.route("/commendations", methods=["POST"])
@blp.arguments(CommendationInSchema)
@blp.response(201, CommendationSchema)
@requires(Role.INSPECTOR, *COMMITTEE)
def propose(body):
    """Inspectors propose; the committee and admins grant at once."""
    return services.propose(
        db.session,
        actor=current_principal(),
        now=utcnow(),
        campaign_id=body.get("campaign_id"),
        **{k: body[k] for k in ("reporter_id", "report_ids", "level", "reason")},
    )


@blp.route(f"/commendations/<int(max={MAX_ID}):commendation_id>/grant", methods=["POST"])
@blp.response(200, CommendationSchema)
@requires(*COMMITTEE)
def grant(commendation_id):
    """Grant a proposed commendation."""
    return services.grant(db.session, commendation_id, actor=current_principal(), now=utcnow())


@blp.route("/campaigns")
@blp.response(200, CampaignSchema(many=True))
@requires(Role.INSPECTOR, *COMMITTEE)
def list_campaigns():
    """Campaigns (named periods over regions)."""
    return list(db.session.scalars(select(Campaign).order_by(Campaign.starts_on.desc())))


@blp.route("/campaigns", methods=["POST"])
@blp.arguments(CampaignSchema)
@blp.response(201, CampaignSchema)
@requires(Role.ADMIN)
def create_campaign(body):
    """Create a campaign, e.g. 安全生产月 (June)."""
    if body["starts_on"] > body["ends_on"]:
        raise ValidationFailed(
            field="ends_on", detail="结束日期早于开始日期 / ends before it starts"
        )
    for code in body.get("region_codes") or []:
        if db.session.get(Region, code) is None:
            raise ValidationFailed(field="region_codes", detail=code)
    campaign = Campaign(**body)
    db.session.add(campaign)
    db.session.commit()
    return campaign


@blp.route(f"/reports/<int(max={MAX_ID}):report_id>/clear-flags", methods=["POST"])
@blp.arguments(ClearFlagsSchema)
@blp.response(200, ReportSchema)
@requires(Role.INSPECTOR, Role.ADMIN)
def clear_flags(body, report_id):
    """The inspector checked the anti-fraud flags; the report may count in award lists again."""
    principal = current_principal()
    report = report_services.get_report(db.session, report_id, actor=principal)
    services.clear_flags(db.session, report, reason=body["reason"], actor=principal, now=utcnow())
    return present_report(report, coord_system="wgs84", audience=Audience.INSPECTOR)
