"""GET /api/v1/sectors."""

from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.i18n import pick
from hazard_reporter.sectors.models import Sector
from hazard_reporter.sectors.schemas import SectorSchema

blp = HazardBlueprint(
    "sectors", __name__, url_prefix="/api/v1/sectors", description="行业领域 Sectors"
)


@blp.route("")
@blp.response(200, SectorSchema(many=True))
def list_sectors():
    """List the sectors a report can name."""
    return [
        {
            "key": s.value,
            "name": pick(s.label_zh, s.label_en),
            "name_zh": s.label_zh,
            "name_en": s.label_en,
        }
        for s in Sector
    ]
