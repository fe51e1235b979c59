"""Who gets credit and how much: the fairness rules, pure, with every constant in one place.

- Only verified reports count; rejected, merged-away and open ones never do.
- A duplicate cluster (a report and those merged into it) is one hazard: the reporter who reported
  it first gets the credit, once.
- A report whose anti-fraud flags are not cleared is held out of every list.
- Points scale with the colour, with bonuses for a confirmed major hazard and for an accident that
  an inspector recorded as prevented.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

POINTS_BY_COLOUR = {"red": 50, "orange": 30, "yellow": 15, "blue": 5}
MAJOR_HAZARD_BONUS = 20
ACCIDENT_PREVENTED_BONUS = 100

COLOUR_ZH = {
    "red": "红色（重大风险）",
    "orange": "橙色（较大风险）",
    "yellow": "黄色（一般风险）",
    "blue": "蓝色（低风险）",
}


@dataclass(frozen=True)
class ClusterMember:
    """One report of a duplicate cluster as the rules need it."""

    report_id: int
    reporter_id: int | None  # None: anonymous and not (yet) claimed
    submitted_at: datetime
    held: bool  # anti-fraud flags not yet cleared


@dataclass(frozen=True)
class Cluster:
    """A verified report and the reports merged into it."""

    report_id: int
    severity: str
    hazard_confirmed: str | None  # general | major
    accident_prevented: bool
    prevented_account: str | None
    members: tuple[ClusterMember, ...]  # the report itself included


@dataclass(frozen=True)
class Credit:
    reporter_id: int
    report_id: int
    points: int
    reason: str  # Chinese


@dataclass(frozen=True)
class Standing:
    rank: int
    reporter_id: int
    points: int
    credits: tuple[Credit, ...]


def report_points(severity: str, hazard_confirmed: str | None, accident_prevented: bool) -> int:
    """Points for one verified hazard."""
    points = POINTS_BY_COLOUR[severity]
    if hazard_confirmed == "major":
        points += MAJOR_HAZARD_BONUS
    if accident_prevented:
        points += ACCIDENT_PREVENTED_BONUS
    return points


def credit_for(cluster: Cluster) -> Credit | None:
    """The credit a verified cluster earns, to its first reporter; None when that report is held
    by fraud flags or its anonymous reporter has not claimed it."""
    first = min(cluster.members, key=lambda m: (m.submitted_at, m.report_id))
    if first.held or first.reporter_id is None:
        return None
    reason = f"报告 #{cluster.report_id}：{COLOUR_ZH[cluster.severity]}隐患，已整改验收"
    if cluster.hazard_confirmed == "major":
        reason += "；确认为重大事故隐患"
    if cluster.accident_prevented:
        reason += f"；避免了事故（{cluster.prevented_account or '检查员记录'}）"
    if len(cluster.members) > 1:
        reason += f"；{len(cluster.members)} 人报告，首报"
    points = report_points(cluster.severity, cluster.hazard_confirmed, cluster.accident_prevented)
    return Credit(first.reporter_id, cluster.report_id, points, reason)


def rank(clusters: list[Cluster]) -> list[Standing]:
    """Reporters by points, ties sharing a rank (1, 2, 2, 4), then by reporter id for a stable
    order."""
    by_reporter: dict[int, list[Credit]] = defaultdict(list)
    for cluster in clusters:
        credit = credit_for(cluster)
        if credit is not None:
            by_reporter[credit.reporter_id].append(credit)
    totals = sorted(
        (
            (sum(c.points for c in credits), reporter, credits)
            for reporter, credits in by_reporter.items()
        ),
        key=lambda item: (-item[0], item[1]),
    )
    standings: list[Standing] = []
    for position, (points, reporter, credits) in enumerate(totals, start=1):
        shared = standings and standings[-1].points == points
        standings.append(
            Standing(
                standings[-1].rank if shared else position,
                reporter,
                points,
                tuple(sorted(credits, key=lambda c: c.report_id)),
            )
        )
    return standings
