"""GET /api/v1/regions, and the hierarchy's CSV import."""

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import defer

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import CSV_BODY, HazardBlueprint
from hazard_reporter.core.auth import requires
from hazard_reporter.core.csvfile import csv_body
from hazard_reporter.core.i18n import pick
from hazard_reporter.extensions import db
from hazard_reporter.regions import services
from hazard_reporter.regions.models import Region
from hazard_reporter.regions.schemas import (
    RegionImportResultSchema,
    RegionQuerySchema,
    RegionSchema,
)

blp = HazardBlueprint("regions", __name__, url_prefix="/api/v1/regions", description="地区 Regions")


@blp.route("")
@blp.arguments(RegionQuerySchema, location="query")
@blp.response(200, RegionSchema(many=True))
def list_regions(query):
    """The region hierarchy (GB/T 2260 codes), or the children of ``parent``."""
    # Without the boundaries: a county's can be megabytes, and its box says whether it has one.
    statement = select(Region).options(defer(Region.boundary)).order_by(Region.code)
    if "parent" in query:
        statement = statement.where(Region.parent_code == query["parent"])
    return [
        {
            "code": r.code,
            "name": pick(r.name_zh, r.name_en or r.name_zh),
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "level": r.level,
            "parent_code": r.parent_code,
            "has_boundary": r.min_lat is not None,
        }
        for r in db.session.scalars(statement)
    ]


@blp.route("/import", methods=["POST"])
@blp.response(200, RegionImportResultSchema)
@blp.doc(requestBody=CSV_BODY)
@requires(Role.ADMIN)
def import_regions():
    """Create or update regions from CSV: code,name_zh,name_en,level,parent_code (any order)."""
    return services.import_regions_csv(db.session, csv_body(request))
