"""Regions: the GB/T 2260 hierarchy (province → city → county/district → park)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hazard_reporter.extensions import db

# A region's code: GB/T 2260 (6 digits), longer for parks and streets; ASCII digits only.
REGION_CODE_PATTERN = r"^[0-9]{6,12}\Z"  # \Z: "$" would also pass a trailing newline


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    PARK = "park"

    @property
    def depth(self) -> int:
        return list(RegionLevel).index(self)


class Region(db.Model):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="RESTRICT"), index=True
    )
    # GeoJSON Polygon/MultiPolygon in WGS-84 (lon, lat); the box lets SQL skip most regions.
    boundary: Mapped[dict | None] = mapped_column(JSON)
    min_lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Region | None] = relationship(remote_side=[code])

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name_zh}>"
