"""Deadlines per colour, as a pure function of the policy and the time the clock starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hazard_reporter.reports.models import Severity, Status

DEFAULT_ACKNOWLEDGE_HOURS = {"red": 1, "orange": 4, "yellow": 24, "blue": 72}
DEFAULT_RECTIFY_HOURS = {"red": 24, "orange": 72, "yellow": 7 * 24, "blue": 30 * 24}


@dataclass(frozen=True)
class DeadlinePolicy:
    """Hours to acknowledge and to rectify, per colour (admin-configurable)."""

    acknowledge_hours: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_ACKNOWLEDGE_HOURS)
    )
    rectify_hours: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RECTIFY_HOURS))

    @classmethod
    def from_config(cls, config) -> DeadlinePolicy:
        """The settings over the defaults; ValueError naming the setting when one is not a
        JSON object of colours to positive hours (``{"Red": 2}`` was ignored, ``{"red": "2"}``
        broke every forwarding, ``{"red": -5}`` made reports due before they were sent)."""
        return cls(
            {**DEFAULT_ACKNOWLEDGE_HOURS, **_hours(config, "ACKNOWLEDGE_HOURS")},
            {**DEFAULT_RECTIFY_HOURS, **_hours(config, "RECTIFY_HOURS")},
        )


def _hours(config, name: str) -> dict[str, float]:
    value = config.get(name) or {}
    colours = [s.value for s in Severity]
    problem = None
    if not isinstance(value, dict):
        problem = "must be a JSON object"
    else:
        for colour, hours in value.items():
            if colour not in colours:
                problem = f"names {colour!r}, not one of {', '.join(colours)}"
            elif (
                isinstance(hours, bool)
                or not isinstance(hours, int | float)
                or not 0 < hours < 100_000  # NaN and Infinity too: a date must come of it
            ):
                problem = f"gives {colour} {hours!r}, not a number of hours above 0"
            if problem:
                break
    if problem:
        raise ValueError(f'HAZARD_{name} {problem}, e.g. {{"red": 0.5}}')
    return {colour: float(hours) for colour, hours in value.items()}


@dataclass(frozen=True)
class Deadlines:
    acknowledge_due: datetime
    rectify_due: datetime


def due_times(severity: Severity | str, start: datetime, policy: DeadlinePolicy) -> Deadlines:
    """When the unit must acknowledge and rectify, counted from ``start`` (the forwarding)."""
    colour = Severity(severity).value
    return Deadlines(
        start + timedelta(hours=policy.acknowledge_hours[colour]),
        start + timedelta(hours=policy.rectify_hours[colour]),
    )


def urgency_due(
    status: Status | str,
    severity: Severity | str,
    *,
    submitted_at: datetime,
    acknowledge_due: datetime | None,
    rectify_due: datetime | None,
    policy: DeadlinePolicy,
) -> datetime | None:
    """The deadline that matters next for the queue: triage and forwarding are held to the
    acknowledge time counted from submission; then the unit's own deadlines; none once closed."""
    status = Status(status)
    if status in (Status.SUBMITTED, Status.TRIAGED):
        return submitted_at + timedelta(hours=policy.acknowledge_hours[Severity(severity).value])
    if status is Status.FORWARDED:
        return acknowledge_due
    if status in (Status.ACKNOWLEDGED, Status.RECTIFYING):
        return rectify_due
    return None


def missed_deadlines(
    status: Status | str,
    *,
    acknowledge_due: datetime | None,
    rectify_due: datetime | None,
    now: datetime,
) -> list[tuple[str, datetime]]:
    """Every deadline a report has missed at ``now``: acknowledging, rectifying, or both."""
    status = Status(status)
    missed = []
    if status is Status.FORWARDED and acknowledge_due and now > acknowledge_due:
        missed.append(("acknowledge", acknowledge_due))
    with_unit = status in (Status.FORWARDED, Status.ACKNOWLEDGED, Status.RECTIFYING)
    if with_unit and rectify_due and now > rectify_due:
        missed.append(("rectify", rectify_due))
    return missed
