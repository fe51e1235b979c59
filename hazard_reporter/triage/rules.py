"""Severity on the four-colour scale.

For now only the sector's base level and the reporter's "immediate danger" flag decide it; the
rules file with per-sector indicators of a major hazard (issue on triage) refines this.
"""

from __future__ import annotations

from hazard_reporter.reports.models import Severity
from hazard_reporter.sectors.models import Sector

BASE_LEVEL: dict[Sector, Severity] = {
    Sector.GAS_NETWORK: Severity.ORANGE,
    Sector.HAZARDOUS_CHEMICALS: Severity.ORANGE,
    Sector.MINING: Severity.ORANGE,
    Sector.EXPLOSIVES: Severity.ORANGE,
    Sector.CONSTRUCTION: Severity.YELLOW,
    Sector.CROWDED_VENUE: Severity.YELLOW,
    Sector.THREE_IN_ONE: Severity.YELLOW,
    Sector.TRANSPORT: Severity.YELLOW,
    Sector.OTHER: Severity.BLUE,
}


def provisional_severity(sector: Sector, *, immediate_danger: bool) -> Severity:
    """The severity a report starts with: red when the reporter says people are in danger now."""
    if immediate_danger:
        return Severity.RED
    return BASE_LEVEL[sector]
