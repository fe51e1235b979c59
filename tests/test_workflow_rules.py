"""Pure decisions of the workflow: the status machine, deadlines per colour, and routing."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from hazard_reporter.errors import STATUS_NAMES, IllegalTransition, NotWithUnit
from hazard_reporter.reports.deadlines import (
    DeadlinePolicy,
    due_times,
    missed_deadlines,
    urgency_due,
)
from hazard_reporter.reports.models import Status
from hazard_reporter.reports.workflow import (
    INTO_TRIAGED,
    TRANSITIONS,
    allowed_next,
    check_transition,
)
from hazard_reporter.units.routing import Rule, UnitInfo, route

S = Status
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

HAPPY_PATH = [
    S.SUBMITTED,
    S.TRIAGED,
    S.FORWARDED,
    S.ACKNOWLEDGED,
    S.RECTIFYING,
    S.RECTIFIED,
    S.VERIFIED,
]


def test_the_designed_path_is_legal_step_by_step():
    for current, target in pairwise(HAPPY_PATH):
        check_transition(current, target, move="triage" if target is S.TRIAGED else None)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SUBMITTED, S.FORWARDED),
        (S.SUBMITTED, S.VERIFIED),
        (S.TRIAGED, S.ACKNOWLEDGED),
        (S.FORWARDED, S.VERIFIED),
        (S.VERIFIED, S.SUBMITTED),
        (S.REJECTED, S.FORWARDED),
        (S.DUPLICATE, S.VERIFIED),
        (S.RECTIFYING, S.ACKNOWLEDGED),
    ],
)
def test_illegal_moves_are_refused_naming_the_allowed_ones(current, target):
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, target)
    error = caught.value
    assert error.status == 409
    # named as the pages name them, in each language (the codes are the API's, in the body's
    # fields where a program reads them)
    for allowed in allowed_next(current):
        assert STATUS_NAMES[allowed.value][1] in error.message("en")
        assert STATUS_NAMES[allowed.value][0] in error.message("zh")
    assert f"“{STATUS_NAMES[current.value][0]}”" in error.message("zh")
    assert error.params["current"] == current.value and error.params["target"] == target.value


@pytest.mark.parametrize("move", sorted(INTO_TRIAGED))
def test_each_move_into_triaged_starts_only_from_its_own_statuses(move):
    # Confirming a triage, a unit's decline and taking a closed report up again all lead into
    # "triaged"; the desk's 确认研判 on a forwarded report had taken it back from its unit.
    for current in Status:
        if current in INTO_TRIAGED[move]:
            check_transition(current, S.TRIAGED, move=move)
            continue
        with pytest.raises(IllegalTransition) as caught:
            check_transition(current, S.TRIAGED, move=move)
        # what the refusal offers does not include the move just refused
        assert STATUS_NAMES["triaged"][0] not in caught.value.message("zh").split("允许的下一步")[1]


def test_a_move_into_triaged_must_say_which_it_is():
    with pytest.raises(ValueError, match="names one of"):
        check_transition(S.SUBMITTED, S.TRIAGED)


def test_every_status_has_a_way_on_and_side_exits_can_be_undone():
    assert set(TRANSITIONS) == set(Status)
    assert S.TRIAGED in allowed_next(S.REJECTED) and S.TRIAGED in allowed_next(S.DUPLICATE)


@pytest.mark.parametrize(
    ("colour", "ack_hours", "rectify_hours"),
    [("red", 1, 24), ("orange", 4, 72), ("yellow", 24, 7 * 24), ("blue", 72, 30 * 24)],
)
def test_default_deadlines_per_colour(colour, ack_hours, rectify_hours):
    due = due_times(colour, T0, DeadlinePolicy())
    assert due.acknowledge_due == T0 + timedelta(hours=ack_hours)
    assert due.rectify_due == T0 + timedelta(hours=rectify_hours)


def test_admin_can_change_deadlines():
    policy = DeadlinePolicy.from_config({"ACKNOWLEDGE_HOURS": {"red": 0.5}, "RECTIFY_HOURS": {}})
    assert due_times("red", T0, policy).acknowledge_due == T0 + timedelta(minutes=30)
    assert due_times("orange", T0, policy).acknowledge_due == T0 + timedelta(hours=4)


def test_missed_deadlines_acknowledge_first_then_rectify():
    due = due_times("red", T0, DeadlinePolicy())
    kwargs = {"acknowledge_due": due.acknowledge_due, "rectify_due": due.rectify_due}
    assert missed_deadlines(S.FORWARDED, now=T0 + timedelta(minutes=59), **kwargs) == []
    assert missed_deadlines(S.FORWARDED, now=T0 + timedelta(hours=2), **kwargs) == [
        ("acknowledge", due.acknowledge_due)
    ]
    assert missed_deadlines(S.ACKNOWLEDGED, now=T0 + timedelta(hours=2), **kwargs) == []
    assert missed_deadlines(S.RECTIFYING, now=T0 + timedelta(hours=25), **kwargs) == [
        ("rectify", due.rectify_due)
    ]
    # Never acknowledged and past both deadlines: both are missed.
    both = missed_deadlines(S.FORWARDED, now=T0 + timedelta(hours=25), **kwargs)
    assert [deadline for deadline, _ in both] == ["acknowledge", "rectify"]
    assert missed_deadlines(S.VERIFIED, now=T0 + timedelta(days=90), **kwargs) == []


def test_queue_urgency_follows_the_next_deadline():
    policy = DeadlinePolicy()
    due = due_times("orange", T0, policy)
    common = {
        "submitted_at": T0,
        "acknowledge_due": due.acknowledge_due,
        "rectify_due": due.rectify_due,
        "policy": policy,
    }
    assert urgency_due(S.SUBMITTED, "orange", **common) == T0 + timedelta(hours=4)
    assert urgency_due(S.FORWARDED, "orange", **common) == due.acknowledge_due
    assert urgency_due(S.RECTIFYING, "orange", **common) == due.rectify_due
    assert urgency_due(S.VERIFIED, "orange", **common) is None


UNITS = [
    UnitInfo(1, "510700", ("construction",)),
    UnitInfo(2, "510700", ("gas_network",)),
    UnitInfo(3, "510703", ("gas_network",)),
    UnitInfo(4, "510000", ("mining",)),
    UnitInfo(5, "510000", (), is_union_department=True),
    UnitInfo(6, "510700", (), is_union_department=True),
]
CHAIN = ["510703", "510700", "510000"]


@pytest.mark.parametrize(
    ("sector", "chain", "rules", "expected"),
    [
        ("gas_network", CHAIN, [], (3, "sector_unit")),  # the district's own gas unit
        ("construction", CHAIN, [], (1, "sector_unit")),  # falls back to the city
        ("mining", CHAIN, [], (4, "sector_unit")),  # up to the province
        ("transport", CHAIN, [], (6, "union_department")),  # nobody: nearest union department
        ("transport", [], [], (5, "union_department")),  # no region at all: any union department
        ("gas_network", CHAIN, [Rule("510703", "gas_network", 2)], (2, "rule")),
        ("construction", CHAIN, [Rule("510703", None, 4)], (4, "rule")),
        (
            "construction",
            CHAIN,
            [Rule("510700", "construction", 6), Rule("510703", None, 4)],
            (4, "rule"),
        ),  # the nearer region's rule wins
    ],
)
def test_routing_by_sector_and_region_up_the_hierarchy(sector, chain, rules, expected):
    chosen = route(sector, chain, rules, UNITS)
    assert (chosen.unit_id, chosen.reason) == expected


def test_no_unit_at_all_routes_nowhere():
    assert route("transport", CHAIN, [], [UnitInfo(1, "510703", ("gas_network",))]) is None


def test_a_unit_acting_out_of_turn_is_told_in_its_language():
    error = NotWithUnit(current="verified")
    assert error.status == 409 and error.code == "illegal_transition"
    assert error.message("zh") == "报告当前状态为“已验证”，责任单位现在不能对其操作。"
    assert error.message("en") == "The report is 'verified'; the unit cannot act on it now."
