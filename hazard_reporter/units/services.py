"""Units and routing rules: look-ups, administration and CSV import."""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_reporter.core.csvfile import csv_rows
from hazard_reporter.errors import (
    AtLine,
    NotFound,
    UnitSlugTaken,
    UnknownRegion,
    ValidationFailed,
    Words,
)
from hazard_reporter.regions.models import Region
from hazard_reporter.reports.models import RoutingRule
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit
from hazard_reporter.units.routing import Route, Rule, UnitInfo, route

CHANNEL_TYPES = {"webhook", "email", "wecom", "dingtalk", "link"}
# What the API (units/schemas.py) and the CSV import both accept; the lengths are the columns'.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}\Z"  # \Z: "$" would also pass a trailing newline
NAME_MAX = 200


def region_chain(session: Session, code: str | None) -> list[str]:
    """``code`` and its ancestors, nearest first."""
    chain: list[str] = []
    while code and code not in chain:
        chain.append(code)
        region = session.get(Region, code)
        code = region.parent_code if region else None
    return chain


def choose_unit(session: Session, sector: str, region_code: str | None) -> Route | None:
    """The routing decision for a report's sector and region."""
    rules = [Rule(r.region_code, r.sector, r.unit_id) for r in session.scalars(select(RoutingRule))]
    units = [
        UnitInfo(u.id, u.region_code, tuple(u.sectors or ()), u.is_union_department)
        for u in session.scalars(select(Unit))
    ]
    return route(sector, region_chain(session, region_code), rules, units)


def get_unit(session: Session, unit_id: int) -> Unit:
    """A unit by id, or NotFound."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(field="unit_id", what="该责任单位", what_en="unit")
    return unit


def _check_unit_fields(session: Session, data: dict) -> None:
    if "region_code" in data and session.get(Region, data["region_code"]) is None:
        raise UnknownRegion(field="region_code", region_code=data["region_code"])
    for key in data.get("sectors") or []:
        if key not in Sector._value2member_map_:
            raise ValidationFailed(field="sectors", detail=key)
    for channel in data.get("channels") or []:
        if not isinstance(channel, dict) or channel.get("type") not in CHANNEL_TYPES:
            kinds = sorted(CHANNEL_TYPES)
            said = Words(f"type 须为 {'、'.join(kinds)} 之一", f"type must be one of {kinds}")
            raise ValidationFailed(field="channels", detail=said)


def save_unit(session: Session, unit: Unit | None, data: dict) -> Unit:
    """Create (``unit`` None) or update a unit from checked fields."""
    _check_unit_fields(session, data)
    if "slug" in data:
        holder = session.scalar(select(Unit).where(Unit.slug == data["slug"]))
        if holder is not None and holder is not unit:
            raise UnitSlugTaken(field="slug", slug=data["slug"])
    unit = unit or Unit(channels=[], sectors=[])
    for key in (
        "slug",
        "name_zh",
        "name_en",
        "region_code",
        "sectors",
        "channels",
        "is_union_department",
    ):
        if key in data:
            setattr(unit, key, data[key])
    session.add(unit)
    session.commit()
    return unit


def _rule_for(session: Session, region_code: str, sector: str | None) -> RoutingRule:
    """The rule for (region, sector), or a new one (at most one per pair)."""
    return session.scalar(
        select(RoutingRule).where(
            RoutingRule.region_code == region_code,
            RoutingRule.sector.is_(None) if sector is None else RoutingRule.sector == sector,
        )
    ) or RoutingRule(region_code=region_code, sector=sector)


def save_rule(
    session: Session, *, region_code: str, sector: str | None, unit_id: int
) -> RoutingRule:
    """Create or replace the routing rule for (region, sector)."""
    if session.get(Region, region_code) is None:
        raise UnknownRegion(field="region_code", region_code=region_code)
    if sector is not None and sector not in Sector._value2member_map_:
        raise ValidationFailed(field="sector", detail=sector)
    get_unit(session, unit_id)
    rule = _rule_for(session, region_code, sector)
    rule.unit_id = unit_id
    session.add(rule)
    session.commit()
    return rule


def _check_csv_text_fields(data: dict) -> None:
    """The API's checks on a unit's slug and names, for a row of a CSV file (which marshmallow
    never sees): without them a bad slug is stored, and an over-long one is a database error."""
    if not re.fullmatch(SLUG_PATTERN, data["slug"]):
        raise ValueError(
            Words(
                "slug 须为 2 到 64 个小写字母 a-z、数字或连字符，以字母或数字开头",
                "slug must be 2 to 64 lowercase letters a-z, digits or hyphens, "
                "starting with a letter or digit",
            )
        )
    for key in ("name_zh", "name_en"):
        if len(data.get(key) or "") > NAME_MAX:
            raise ValueError(
                Words(
                    f"{key} 最多 {NAME_MAX} 个字符", f"{key} must be at most {NAME_MAX} characters"
                )
            )


def import_units_csv(session: Session, text: str) -> int:
    """Create or update units from CSV with the header
    ``slug,name_zh,name_en,region_code,sectors,channels`` (sectors separated by ``;``, channels a
    JSON list; ``is_union_department`` optional). A column the file lacks leaves that field of an
    existing unit as it is (a new unit gets its default); an empty cell clears it. All rows or
    none: a bad row raises ValidationFailed naming its line."""
    rows = csv_rows(text, ("slug", "name_zh", "region_code"))
    saved = 0
    try:
        for line, row in rows:
            try:
                data = {
                    "slug": row["slug"].strip(),
                    "name_zh": row["name_zh"].strip(),
                    "region_code": row["region_code"].strip(),
                }
                if "name_en" in row:
                    data["name_en"] = row["name_en"].strip() or None
                if "sectors" in row:
                    data["sectors"] = [s.strip() for s in row["sectors"].split(";") if s.strip()]
                if "channels" in row:
                    data["channels"] = json.loads(row["channels"] or "[]")
                if "is_union_department" in row:
                    flag = row["is_union_department"].strip().lower()
                    data["is_union_department"] = flag in ("1", "true", "yes")
                if not data["slug"] or not data["name_zh"]:
                    raise ValueError(
                        Words("slug 和 name_zh 不能为空", "slug and name_zh are required")
                    )
                _check_csv_text_fields(data)
                if not isinstance(data.get("channels", []), list):
                    raise ValueError(
                        Words("channels 须为 JSON 列表", "channels must be a JSON list")
                    )
                _check_unit_fields(session, data)
            except json.JSONDecodeError:
                said = Words("channels 不是有效的 JSON", "channels is not valid JSON")
                raise ValidationFailed(field="csv", detail=AtLine(line, said)) from None
            except (KeyError, ValueError, ValidationFailed, UnknownRegion) as exc:
                said = exc if hasattr(exc, "message") else exc.args[0] if exc.args else str(exc)
                raise ValidationFailed(field="csv", detail=AtLine(line, said)) from None
            unit = session.scalar(select(Unit).where(Unit.slug == data["slug"]))
            unit = unit or Unit(channels=[], sectors=[])
            for key, value in data.items():
                setattr(unit, key, value)
            session.add(unit)
            saved += 1
        session.commit()
    except Exception:
        session.rollback()
        raise
    return saved


def import_rules_csv(session: Session, text: str) -> int:
    """Create or replace routing rules from CSV ``region_code,sector,unit_slug`` (empty sector:
    every sector). All rows or none."""
    rows = csv_rows(text, ("region_code", "unit_slug"))
    count = 0
    for line, row in rows:
        unit = session.scalar(select(Unit).where(Unit.slug == (row.get("unit_slug") or "").strip()))
        if unit is None:
            session.rollback()
            said = Words("没有这个 unit_slug 的单位", "unknown unit_slug")
            raise ValidationFailed(field="csv", detail=AtLine(line, said))
        sector = (row.get("sector") or "").strip() or None
        code = (row.get("region_code") or "").strip()
        if session.get(Region, code) is None or (
            sector is not None and sector not in Sector._value2member_map_
        ):
            session.rollback()
            said = Words("没有这个地区或行业", "unknown region or sector")
            raise ValidationFailed(field="csv", detail=AtLine(line, said))
        rule = _rule_for(session, code, sector)
        rule.unit_id = unit.id
        session.add(rule)
        count += 1
    session.commit()
    return count
