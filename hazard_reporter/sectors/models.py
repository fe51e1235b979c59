"""The fixed sectors a hazard belongs to, with their Chinese and English labels."""

from __future__ import annotations

from enum import StrEnum


class Sector(StrEnum):
    CONSTRUCTION = "construction"
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"
    GAS_NETWORK = "gas_network"
    CROWDED_VENUE = "crowded_venue"
    TRANSPORT = "transport"
    MINING = "mining"
    EXPLOSIVES = "explosives"
    THREE_IN_ONE = "three_in_one"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return LABELS[self][0]

    @property
    def label_en(self) -> str:
        return LABELS[self][1]


LABELS: dict[Sector, tuple[str, str]] = {
    Sector.CONSTRUCTION: ("建筑施工", "Construction"),
    Sector.HAZARDOUS_CHEMICALS: ("危险化学品", "Hazardous chemicals"),
    Sector.GAS_NETWORK: ("城市燃气管网", "Urban gas network"),
    Sector.CROWDED_VENUE: ("人员密集场所", "Crowded venue"),
    Sector.TRANSPORT: ("交通运输", "Transport"),
    Sector.MINING: ("矿山采掘", "Mining"),
    Sector.EXPLOSIVES: ("民爆器材", "Civil explosives"),
    Sector.THREE_IN_ONE: ('"三合一"场所', '"Three-in-one" premises'),
    Sector.OTHER: ("其他", "Other"),
}
