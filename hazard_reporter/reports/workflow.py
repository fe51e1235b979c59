"""The report's status machine, in one place: which status may follow which."""

from __future__ import annotations

from hazard_reporter.errors import IllegalTransition
from hazard_reporter.reports.models import Status

S = Status

# Every allowed move. Re-routing is forwarded → forwarded; a unit's "not ours" returns the report
# to triaged; reopening sends a rectification back to rectifying.
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    S.SUBMITTED: (S.TRIAGED, S.REJECTED, S.DUPLICATE),
    S.TRIAGED: (S.FORWARDED, S.REJECTED, S.DUPLICATE),
    S.FORWARDED: (S.FORWARDED, S.ACKNOWLEDGED, S.TRIAGED, S.REJECTED, S.DUPLICATE),
    S.ACKNOWLEDGED: (S.RECTIFYING, S.FORWARDED, S.TRIAGED),
    S.RECTIFYING: (S.RECTIFIED, S.FORWARDED),
    S.RECTIFIED: (S.VERIFIED, S.RECTIFYING),
    S.VERIFIED: (S.RECTIFYING,),
    S.REJECTED: (S.TRIAGED,),
    S.DUPLICATE: (S.TRIAGED,),
}

OPEN = frozenset({S.SUBMITTED, S.TRIAGED, S.FORWARDED, S.ACKNOWLEDGED, S.RECTIFYING, S.RECTIFIED})
WITH_UNIT = frozenset({S.FORWARDED, S.ACKNOWLEDGED, S.RECTIFYING})
# A unit holds the report until it is verified: its link and its staff work on these.
UNIT_HOLDS = WITH_UNIT | frozenset({S.RECTIFIED})


# Three different moves lead into "triaged", each from its own statuses: the inspector confirms the
# triage of a new report, a unit declines a report it holds ("not ours"), a rejected or merged
# report is taken up again. Each move into "triaged" names which it is, so that none stands in for
# another (confirming a triage must not take a report back from its unit).
INTO_TRIAGED: dict[str, frozenset[Status]] = {
    "triage": frozenset({S.SUBMITTED}),
    "decline": frozenset({S.FORWARDED, S.ACKNOWLEDGED}),
    "retriage": frozenset({S.REJECTED, S.DUPLICATE}),
}


def allowed_next(current: Status | str, *, move: str | None = None) -> tuple[Status, ...]:
    """The statuses that may follow ``current``; with ``move`` (a key of INTO_TRIAGED), "triaged"
    only if that move starts from ``current``."""
    current = Status(current)
    following = TRANSITIONS[current]
    if move is None:
        return following
    return tuple(s for s in following if s is not S.TRIAGED or current in INTO_TRIAGED[move])


def check_transition(
    current: Status | str, target: Status | str, *, move: str | None = None
) -> None:
    """Raise IllegalTransition (409, naming the allowed next statuses) unless the move is legal.
    A move into "triaged" must say which of INTO_TRIAGED it is."""
    current, target = Status(current), Status(target)
    if target is S.TRIAGED and move not in INTO_TRIAGED:
        raise ValueError(f"a move into triaged names one of {sorted(INTO_TRIAGED)}, not {move!r}")
    allowed = allowed_next(current, move=move)
    if target not in allowed:
        raise IllegalTransition(
            current=current.value,
            target=target.value,
            allowed=", ".join(s.value for s in allowed) or "—",
        )
