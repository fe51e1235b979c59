"""/api/v1/reports.geojson: the reports a caller may see, as points for a map."""

from __future__ import annotations

from flask import Response, current_app

from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.extensions import db
from hazard_reporter.geo.coords import CoordSystem
from hazard_reporter.maps import services
from hazard_reporter.maps.schemas import (
    GEOJSON_MIMETYPE,
    FeatureCollectionSchema,
    GeoJsonQuerySchema,
    feature_collection,
)
from hazard_reporter.reports.services import ReportFilters

blp = HazardBlueprint("maps", __name__, url_prefix="/api/v1", description="地图 Maps (GeoJSON)")


@blp.route("/reports.geojson")
@blp.arguments(GeoJsonQuerySchema, location="query")
@blp.response(200, FeatureCollectionSchema, content_type=GEOJSON_MIMETYPE)
@requires()
def reports_geojson(query: dict) -> Response:
    """Located reports in scope as an RFC 7946 FeatureCollection; follow ``next_cursor``."""
    filters = ReportFilters(
        sector=query.get("sector"),
        status=query.get("status"),
        severity=query.get("severity"),
        region=query.get("region"),
    )
    coord_system = CoordSystem(query["coord_system"])
    points, next_cursor = services.list_points(
        db.session,
        filters,
        actor=current_principal(),
        bbox=query.get("bbox"),
        coord_system=coord_system,
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
    body = feature_collection(points, coord_system=coord_system.value, next_cursor=next_cursor)
    # Returned as a Response so smorest passes it through with the GeoJSON media type.
    return current_app.response_class(current_app.json.dumps(body), mimetype=GEOJSON_MIMETYPE)
