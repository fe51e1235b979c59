"""Region look-ups (by code, subtree, point-in-boundary) and the hierarchy's import."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from hazard_reporter.core.csvfile import csv_rows
from hazard_reporter.errors import AtLine, ImportConflict, ValidationFailed, Words
from hazard_reporter.geo.polygons import bbox, contains
from hazard_reporter.regions.models import REGION_CODE_PATTERN, Region, RegionLevel


def get_region(session: Session, code: str) -> Region | None:
    """The region with this GB/T 2260 code, or None."""
    return session.get(Region, code)


def subtree_codes(session: Session, code: str) -> list[str]:
    """``code`` and every region below it."""
    rows = session.execute(select(Region.code, Region.parent_code)).all()
    children: dict[str | None, list[str]] = {}
    for child, parent in rows:
        children.setdefault(parent, []).append(child)
    found, stack = [], [code]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


# The boxes that may hold a point, in plain SQL: run for every report, and most often it finds
# nothing (no boundaries loaded, or the point outside them all), at a fifth of an ORM query's cost.
_BOXES_AROUND = text(
    "SELECT code FROM regions WHERE boundary IS NOT NULL"
    " AND min_lat <= :lat AND max_lat >= :lat AND min_lon <= :lon AND max_lon >= :lon"
)


def locate(session: Session, lat: float, lon: float) -> Region | None:
    """The smallest region whose boundary contains the point, when boundaries are loaded."""
    codes = session.scalars(_BOXES_AROUND, {"lat": lat, "lon": lon}).all()
    if not codes:
        return None
    candidates = session.scalars(select(Region).where(Region.code.in_(codes))).all()
    inside = [r for r in candidates if contains(r.boundary, lat, lon)]
    if not inside:
        return None

    def smallness(region: Region):
        area = (region.max_lat - region.min_lat) * (region.max_lon - region.min_lon)
        return (-RegionLevel(region.level).depth, area)

    return min(inside, key=smallness)


def upsert_region(
    session: Session,
    *,
    code: str,
    name_zh: str,
    level: RegionLevel,
    parent_code: str | None = None,
    name_en: str | None = None,
    boundary: dict | None = None,
) -> Region:
    """Create or update one region (boundary optional, GeoJSON in WGS-84)."""
    region = session.get(Region, code) or Region(code=code)
    region.name_zh, region.name_en = name_zh, name_en
    region.level, region.parent_code = level.value, parent_code
    if boundary is not None:
        region.boundary = boundary
        region.min_lat, region.min_lon, region.max_lat, region.max_lon = bbox(boundary)
    session.add(region)
    return region


def import_boundaries(session: Session, collection: dict) -> list[str]:
    """Attach GeoJSON boundaries (a FeatureCollection whose features carry ``properties.code``) to
    existing regions; returns the codes updated. Unknown codes and non-polygons raise ValueError."""
    if collection.get("type") != "FeatureCollection":
        raise ValueError("expected a GeoJSON FeatureCollection")
    updated = []
    for number, feature in enumerate(collection.get("features") or [], start=1):
        code = str((feature.get("properties") or {}).get("code", ""))
        geometry = feature.get("geometry") or {}
        region = session.get(Region, code)
        if region is None:
            raise ValueError(f"feature {number}: unknown region code {code!r}")
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"feature {number}: geometry must be a Polygon or MultiPolygon")
        region.boundary = geometry
        region.min_lat, region.min_lon, region.max_lat, region.max_lon = bbox(geometry)
        updated.append(code)
    return updated


_REGION_CODE = re.compile(REGION_CODE_PATTERN)
_LEVELS = ", ".join(level.value for level in RegionLevel)
_NAME_MAX = Region.name_zh.type.length  # name_en's too
_LEVEL_ZH = {
    RegionLevel.PROVINCE: "省",
    RegionLevel.CITY: "市",
    RegionLevel.COUNTY: "县",
    RegionLevel.PARK: "园区",
}


def _region_row(row: dict[str, str]) -> dict:
    """One CSV row as ``upsert_region``'s arguments; a bad cell raises ValueError."""
    code = row["code"].strip()
    if not _REGION_CODE.match(code):
        raise ValueError(
            Words(
                f"code {code!r} 须为 6 到 12 位数字（GB/T 2260）",
                f"code {code!r} is not 6 to 12 digits (GB/T 2260)",
            )
        )
    name_zh = row["name_zh"].strip()
    if not name_zh:
        raise ValueError(Words("name_zh 不能为空", "name_zh is required"))
    name_en = (row.get("name_en") or "").strip() or None
    for column, name in (("name_zh", name_zh), ("name_en", name_en)):
        if name is not None and len(name) > _NAME_MAX:
            raise ValueError(
                Words(
                    f"{column} 超过 {_NAME_MAX} 个字符",
                    f"{column} is longer than {_NAME_MAX} characters",
                )
            )
    try:
        level = RegionLevel(row["level"].strip())
    except ValueError:
        named = row["level"].strip()
        raise ValueError(
            Words(
                f"level {named!r} 须为 {_LEVELS} 之一", f"level {named!r} is not one of {_LEVELS}"
            )
        ) from None
    parent_code = (row.get("parent_code") or "").strip() or None
    if (parent_code is None) != (level is RegionLevel.PROVINCE):
        raise ValueError(
            Words(
                "省级地区不填 parent_code，其他地区都须填写",
                "a province has no parent_code; every other region needs one",
            )
        )
    return {
        "code": code,
        "name_zh": name_zh,
        "name_en": name_en,
        "level": level,
        "parent_code": parent_code,
    }


@dataclass(frozen=True)
class RegionImport:
    """What an import did, row by row."""

    created: int
    updated: int
    unchanged: int  # rows that matched the region as loaded: nothing written

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def import_regions_csv(session: Session, text: str) -> RegionImport:
    """Create or update regions from CSV with the header ``code,name_zh,name_en,level,
    parent_code`` (level one of province, city, county, park; no parent for a province), rows in
    any order. A parent must be in the file or already loaded, at a level above its child's; a
    region's boundary is kept. All rows or none: a bad row raises ValidationFailed naming its
    line."""
    rows = csv_rows(text, ("code", "name_zh", "name_en", "level", "parent_code"))
    # Every region without its boundary (a county's can be megabytes): the objects to update.
    loaded = {
        region.code: region
        for region in session.scalars(
            select(Region).options(
                load_only(
                    Region.code, Region.name_zh, Region.name_en, Region.level, Region.parent_code
                )
            )
        )
    }
    incoming: dict[str, tuple[int, dict]] = {}
    for line, row in rows:
        try:
            data = _region_row(row)
        except (KeyError, ValueError) as exc:
            said = (
                Words(f"缺少 {exc} 列", f"no column {exc}") if isinstance(exc, KeyError) else None
            )
            said = said or (exc.args[0] if exc.args else str(exc))
            raise ValidationFailed(field="csv", detail=AtLine(line, said)) from None
        if data["code"] in incoming:
            first = incoming[data["code"]][0]
            code = data["code"]
            said = Words(
                f"code {code} 已在第 {first} 行", f"code {code} is already on line {first}"
            )
            raise ValidationFailed(field="csv", detail=AtLine(line, said))
        incoming[data["code"]] = (line, data)

    def level_of(code: str) -> RegionLevel:
        return incoming[code][1]["level"] if code in incoming else RegionLevel(loaded[code].level)

    for line, data in incoming.values():
        parent = data["parent_code"]
        if parent is None:
            continue
        if parent not in incoming and parent not in loaded:
            said = Words(
                f"parent_code {parent} 既不在文件中，也未导入过",
                f"parent_code {parent} is neither in the file nor loaded",
            )
            raise ValidationFailed(field="csv", detail=AtLine(line, said))
        if level_of(parent).depth >= data["level"].depth:
            level, above = data["level"], level_of(parent)
            said = Words(
                f"{_LEVEL_ZH[level]}级地区不能位于 {parent}（{_LEVEL_ZH[above]}级）之下",
                f"a {level.value} cannot be under {parent}, a {above.value}",
            )
            raise ValidationFailed(field="csv", detail=AtLine(line, said))
    for child in loaded.values():  # regions already loaded under one whose level changes
        if child.code not in incoming and child.parent_code in incoming:
            line, data = incoming[child.parent_code]
            if data["level"].depth >= RegionLevel(child.level).depth:
                code, level, below = data["code"], data["level"], RegionLevel(child.level)
                said = Words(
                    f"{code} 不能改为{_LEVEL_ZH[level]}级：其下有 {child.code}"
                    f"（{_LEVEL_ZH[below]}级）",
                    f"{code} cannot become a {level.value}: {child.code}, a {below.value}, "
                    "is under it",
                )
                raise ValidationFailed(field="csv", detail=AtLine(line, said))

    created = updated = unchanged = 0
    try:
        # Parents first, a level at a time: rows are written in the order they are flushed.
        for level in RegionLevel:
            for _line, data in incoming.values():
                if data["level"] is not level:
                    continue
                current = loaded.get(data["code"])
                if current is None:
                    created += 1
                elif _same(current, data):
                    unchanged += 1
                    continue
                else:
                    updated += 1
                upsert_region(session, **data)
            session.flush()
        session.commit()
    except IntegrityError:  # another import wrote one of these codes since they were read
        session.rollback()
        raise ImportConflict(what="地区", what_en="regions") from None
    except Exception:
        session.rollback()
        raise
    return RegionImport(created, updated, unchanged)


def _same(region: Region, data: dict) -> bool:
    """True when a CSV row says what ``region`` already holds."""
    return (region.name_zh, region.name_en, region.level, region.parent_code) == (
        data["name_zh"],
        data["name_en"],
        data["level"].value,
        data["parent_code"],
    )
