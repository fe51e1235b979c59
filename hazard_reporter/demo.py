"""Reference and demo data: the sectors are fixed in code; these are 四川省 → 绵阳市 → its
districts and counties (GB/T 2260 codes) and a few demo units, loaded by ``flask seed``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_reporter.regions.models import RegionLevel
from hazard_reporter.regions.services import upsert_region
from hazard_reporter.sectors.models import Sector
from hazard_reporter.units.models import Unit

REGIONS: list[tuple[str, str, str, RegionLevel, str | None]] = [
    ("510000", "四川省", "Sichuan Province", RegionLevel.PROVINCE, None),
    ("510700", "绵阳市", "Mianyang City", RegionLevel.CITY, "510000"),
    ("510703", "涪城区", "Fucheng District", RegionLevel.COUNTY, "510700"),
    ("510704", "游仙区", "Youxian District", RegionLevel.COUNTY, "510700"),
    ("510705", "安州区", "Anzhou District", RegionLevel.COUNTY, "510700"),
    ("510722", "三台县", "Santai County", RegionLevel.COUNTY, "510700"),
    ("510723", "盐亭县", "Yanting County", RegionLevel.COUNTY, "510700"),
    ("510725", "梓潼县", "Zitong County", RegionLevel.COUNTY, "510700"),
    ("510726", "北川羌族自治县", "Beichuan Qiang Autonomous County", RegionLevel.COUNTY, "510700"),
    ("510727", "平武县", "Pingwu County", RegionLevel.COUNTY, "510700"),
    ("510781", "江油市", "Jiangyou City", RegionLevel.COUNTY, "510700"),
]

S = Sector
UNITS: list[dict] = [
    {
        "slug": "my-zjj",
        "name_zh": "绵阳市住房和城乡建设局",
        "name_en": "Mianyang Housing and Urban-Rural Development Bureau",
        "region_code": "510700",
        "sectors": [S.CONSTRUCTION],
    },
    {
        "slug": "my-yjj",
        "name_zh": "绵阳市应急管理局",
        "name_en": "Mianyang Emergency Management Bureau",
        "region_code": "510700",
        "sectors": [S.HAZARDOUS_CHEMICALS, S.MINING, S.EXPLOSIVES],
    },
    {
        "slug": "my-jtj",
        "name_zh": "绵阳市交通运输局",
        "name_en": "Mianyang Transport Bureau",
        "region_code": "510700",
        "sectors": [S.TRANSPORT],
    },
    {
        "slug": "my-xfzd",
        "name_zh": "绵阳市消防救援支队",
        "name_en": "Mianyang Fire and Rescue Detachment",
        "region_code": "510700",
        "sectors": [S.CROWDED_VENUE, S.THREE_IN_ONE],
    },
    {
        "slug": "my-gas-demo",
        "name_zh": "示例燃气有限公司（演示）",
        "name_en": "Demo Gas Company (demo)",
        "region_code": "510700",
        "sectors": [S.GAS_NETWORK],
    },
    {
        "slug": "sc-zgh-lbb",
        "name_zh": "四川省总工会劳动保护部",
        "name_en": "Sichuan Federation of Trade Unions, Labour Protection Department",
        "region_code": "510000",
        "sectors": [],
        "is_union_department": True,
    },
]


def load_demo_data(session: Session) -> tuple[int, int]:
    """Insert or update the demo regions and units; returns their counts. Safe to run again."""
    for code, name_zh, name_en, level, parent in REGIONS:
        upsert_region(
            session, code=code, name_zh=name_zh, name_en=name_en, level=level, parent_code=parent
        )
    session.flush()
    for spec in UNITS:
        unit = session.scalar(select(Unit).where(Unit.slug == spec["slug"])) or Unit(
            slug=spec["slug"]
        )
        unit.name_zh, unit.name_en = spec["name_zh"], spec["name_en"]
        unit.region_code = spec["region_code"]
        unit.sectors = [s.value for s in spec["sectors"]]
        unit.is_union_department = spec.get("is_union_department", False)
        unit.channels = unit.channels or []
        session.add(unit)
    session.commit()
    return len(REGIONS), len(UNITS)
