"""Which unit must fix a hazard: a pure choice by (sector, region), up the region hierarchy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitInfo:
    id: int
    region_code: str
    sectors: tuple[str, ...]
    is_union_department: bool = False


@dataclass(frozen=True)
class Rule:
    region_code: str
    sector: str | None  # None: every sector
    unit_id: int


@dataclass(frozen=True)
class Route:
    unit_id: int
    reason: str  # rule | sector_unit | union_department


def route(
    sector: str, region_chain: list[str], rules: list[Rule], units: list[UnitInfo]
) -> Route | None:
    """The responsible unit: at the report's region, then each parent in turn, an explicit rule
    for the sector, a rule for every sector, or a unit handling the sector; failing all, the union's
    labour-protection department nearest the report, or any."""
    for code in region_chain:
        for rule in rules:
            if rule.region_code == code and rule.sector == sector:
                return Route(rule.unit_id, "rule")
        for rule in rules:
            if rule.region_code == code and rule.sector is None:
                return Route(rule.unit_id, "rule")
        handlers = sorted(u.id for u in units if u.region_code == code and sector in u.sectors)
        if handlers:
            return Route(handlers[0], "sector_unit")
    unions = [u for u in units if u.is_union_department]
    for code in region_chain:
        nearest = sorted(u.id for u in unions if u.region_code == code)
        if nearest:
            return Route(nearest[0], "union_department")
    if unions:
        return Route(min(u.id for u in unions), "union_department")
    return None
