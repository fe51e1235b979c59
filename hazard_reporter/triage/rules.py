"""Severity on the four-colour scale, as the rest of the app asks for it.

The decision itself is ``hazard_reporter.triage.engine.assess`` over the rules file
(``rules.toml``): the sector's base level, indicators of a major hazard in the description, the
reporter's "immediate danger" flag (alone enough for red), independent reports of the same hazard
and the busy hours of crowded venues. This module adapts it to the app's ``Sector`` and
``Severity`` enums.
"""

from __future__ import annotations

from datetime import datetime

from hazard_reporter.reports.models import Severity
from hazard_reporter.sectors.models import Sector
from hazard_reporter.triage.engine import Assessment, Facts, Rules, assess, default_rules


def provisional_assessment(
    sector: Sector | str,
    *,
    immediate_danger: bool,
    description: str = "",
    independent_reports: int = 1,
    local_time: datetime | None = None,
    rules: Rules | None = None,
) -> Assessment:
    """The assessment a report starts with, under the given rules or the shipped ones."""
    facts = Facts(
        sector=Sector(sector).value,
        description=description,
        immediate_danger=immediate_danger,
        independent_reports=independent_reports,
        local_time=local_time,
    )
    return assess(facts, rules or default_rules())


def provisional_severity(
    sector: Sector | str,
    *,
    immediate_danger: bool,
    description: str = "",
    independent_reports: int = 1,
    local_time: datetime | None = None,
    rules: Rules | None = None,
) -> Severity:
    """The severity a report starts with: red when the reporter says people are in danger now."""
    return Severity(
        provisional_assessment(
            sector,
            immediate_danger=immediate_danger,
            description=description,
            independent_reports=independent_reports,
            local_time=local_time,
            rules=rules,
        ).severity
    )
