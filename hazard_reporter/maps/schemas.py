"""GeoJSON requests and answers at the HTTP boundary (RFC 7946)."""

from __future__ import annotations

import math
from typing import Any

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.core.i18n import pick
from hazard_reporter.maps.services import BBox, MapPoint
from hazard_reporter.reports.schemas import ReportListQuerySchema
from hazard_reporter.sectors.models import Sector

GEOJSON_MIMETYPE = "application/geo+json"
MAX_FEATURES = 5000
PRECISION = 6  # decimals: about 0.1 m, RFC 7946's advice for coordinates
BBOX_FORMAT = "应为 minLon,minLat,maxLon,maxLat / must be minLon,minLat,maxLon,maxLat"


class BBoxField(ma.fields.Field[BBox]):
    """``minLon,minLat,maxLon,maxLat`` as in RFC 7946 §5 (west > east crosses the antimeridian)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> BBox:
        parts = str(value).split(",")
        if len(parts) != 4:
            raise ma.ValidationError(BBOX_FORMAT)
        try:
            min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
        except ValueError:
            raise ma.ValidationError(BBOX_FORMAT) from None
        if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
            raise ma.ValidationError(BBOX_FORMAT)
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
            raise ma.ValidationError(
                "经度须在 -180 到 180 之间 / longitudes must be in [-180, 180]"
            )
        if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
            raise ma.ValidationError("纬度须在 -90 到 90 之间 / latitudes must be in [-90, 90]")
        if min_lat > max_lat:
            raise ma.ValidationError("minLat 不能大于 maxLat / minLat must not exceed maxLat")
        return BBox(min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat)


class GeoJsonQuerySchema(ReportListQuerySchema):
    """The list's filters, larger pages, and a bounding box in the answer's coordinate system."""

    limit = ma.fields.Integer(load_default=500, validate=validate.Range(1, MAX_FEATURES))
    bbox = BBoxField(
        metadata={
            "type": "string",
            "description": "minLon,minLat,maxLon,maxLat in the coord_system asked for",
            "example": "104.5,31.3,104.9,31.6",
        }
    )


class PointSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "Point"})
    coordinates = ma.fields.List(
        ma.fields.Float(), metadata={"description": "[longitude, latitude], 6 decimals"}
    )


class FeaturePropertiesSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    severity = ma.fields.String(metadata={"description": "red | orange | yellow | blue"})
    sector = ma.fields.String()
    sector_name = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    region_code = ma.fields.String(allow_none=True)


class FeatureSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "Feature"})
    id = ma.fields.Integer()
    geometry = ma.fields.Nested(PointSchema)
    properties = ma.fields.Nested(FeaturePropertiesSchema)


class FeatureCollectionSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "FeatureCollection"})
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))
    coord_system = ma.fields.String(
        metadata={"description": "wgs84 (RFC 7946) unless another system was asked for"}
    )
    next_cursor = ma.fields.String(allow_none=True)


def present_feature(point: MapPoint) -> dict:
    """One report as a GeoJSON Point feature: the hazard, never the reporter."""
    sector = Sector(point.sector)
    return {
        "type": "Feature",
        "id": point.id,
        "geometry": {
            "type": "Point",
            "coordinates": [round(point.lon, PRECISION), round(point.lat, PRECISION)],
        },
        "properties": {
            "id": point.id,
            "status": point.status,
            "severity": point.severity,
            "sector": point.sector,
            "sector_name": pick(sector.label_zh, sector.label_en),
            "submitted_at": point.submitted_at.isoformat(),
            "region_code": point.region_code,
        },
    }


def feature_collection(
    points: list[MapPoint], *, coord_system: str, next_cursor: str | None
) -> dict:
    """A FeatureCollection; ``coord_system`` and ``next_cursor`` are foreign members (§6.1)."""
    return {
        "type": "FeatureCollection",
        "features": [present_feature(p) for p in points],
        "coord_system": coord_system,
        "next_cursor": next_cursor,
    }
