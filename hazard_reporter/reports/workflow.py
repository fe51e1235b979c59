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


def allowed_next(current: Status | str) -> tuple[Status, ...]:
    """The statuses that may follow ``current``."""
    return TRANSITIONS[Status(current)]


def check_transition(current: Status | str, target: Status | str) -> None:
    """Raise IllegalTransition (409, naming the allowed next statuses) unless the move is legal."""
    current, target = Status(current), Status(target)
    allowed = allowed_next(current)
    if target not in allowed:
        raise IllegalTransition(
            current=current.value,
            target=target.value,
            allowed=", ".join(s.value for s in allowed) or "—",
        )
