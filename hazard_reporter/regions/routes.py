"""GET /api/v1/regions."""

from sqlalchemy import select

from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.i18n import pick
from hazard_reporter.extensions import db
from hazard_reporter.regions.models import Region
from hazard_reporter.regions.schemas import RegionQuerySchema, RegionSchema

blp = HazardBlueprint("regions", __name__, url_prefix="/api/v1/regions", description="地区 Regions")


@blp.route("")
@blp.arguments(RegionQuerySchema, location="query")
@blp.response(200, RegionSchema(many=True))
def list_regions(query):
    """The region hierarchy (GB/T 2260 codes), or the children of ``parent``."""
    statement = select(Region).order_by(Region.code)
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
            "has_boundary": r.boundary is not None,
        }
        for r in db.session.scalars(statement)
    ]
