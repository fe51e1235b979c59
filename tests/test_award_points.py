"""The fairness rules of credit and points, as a pure function."""

from datetime import UTC, datetime, timedelta

import pytest

from hazard_reporter.awards.points import (
    ACCIDENT_PREVENTED_BONUS,
    MAJOR_HAZARD_BONUS,
    POINTS_BY_COLOUR,
    Cluster,
    ClusterMember,
    credit_for,
    rank,
    report_points,
)

T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


def member(report_id, reporter_id, minutes=0, held=False):
    return ClusterMember(report_id, reporter_id, T0 + timedelta(minutes=minutes), held)


def cluster(report_id, *members, severity="orange", major=None, prevented=False):
    return Cluster(
        report_id, severity, major, prevented, "避免了爆炸" if prevented else None, tuple(members)
    )


@pytest.mark.parametrize(
    ("severity", "major", "prevented", "expected"),
    [
        ("blue", None, False, 5),
        ("yellow", "general", False, 15),
        ("orange", None, False, 30),
        ("red", "major", False, 70),
        ("red", "major", True, 170),
        ("yellow", None, True, 115),
    ],
)
def test_points_scale_with_colour_and_bonuses(severity, major, prevented, expected):
    assert report_points(severity, major, prevented) == expected
    assert expected == POINTS_BY_COLOUR[severity] + (
        MAJOR_HAZARD_BONUS if major == "major" else 0
    ) + (ACCIDENT_PREVENTED_BONUS if prevented else 0)


def test_only_the_first_reporter_of_a_cluster_gets_the_credit_once():
    hazard = cluster(
        10, member(10, 7, minutes=30), member(11, 8, minutes=5), member(12, 9, minutes=60)
    )
    credit = credit_for(hazard)
    assert credit.reporter_id == 8 and credit.points == POINTS_BY_COLOUR["orange"]
    assert "3 人报告，首报" in credit.reason
    standings = rank([hazard])
    assert [(s.reporter_id, s.points) for s in standings] == [(8, 30)]


def test_a_held_first_report_earns_nobody_anything_until_cleared():
    assert credit_for(cluster(10, member(10, 7, held=True), member(11, 8, minutes=5))) is None
    assert (
        credit_for(cluster(10, member(10, 7), member(11, 8, minutes=5, held=True))).reporter_id == 7
    )


def test_unclaimed_anonymous_first_report_earns_nobody_anything():
    assert credit_for(cluster(10, member(10, None), member(11, 8, minutes=5))) is None


def test_ties_share_a_rank():
    clusters = [
        cluster(1, member(1, 100), severity="red"),
        cluster(2, member(2, 200), severity="orange"),
        cluster(3, member(3, 300), severity="orange"),
        cluster(4, member(4, 400), severity="blue"),
        cluster(5, member(5, 100), severity="blue"),
    ]
    assert [(s.rank, s.reporter_id, s.points) for s in rank(clusters)] == [
        (1, 100, 55),
        (2, 200, 30),
        (2, 300, 30),
        (4, 400, 5),
    ]


def test_prevented_accident_names_the_account_in_the_reason():
    credit = credit_for(cluster(5, member(5, 1), severity="red", major="major", prevented=True))
    assert "避免了事故（避免了爆炸）" in credit.reason and "重大事故隐患" in credit.reason
