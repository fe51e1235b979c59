"""A field the API refuses is named in the reader's language: marshmallow's own English, and the
import files' line errors, had been set inside the Chinese message as they were."""

from __future__ import annotations

import pytest

from hazard_reporter.errors import AtLine, ValidationFailed, Words, detail_in


@pytest.mark.parametrize(
    ("body", "zh", "en"),
    [
        (
            {"phone": 13800138000, "password": "long enough 1"},
            "字段“phone”无效：不是文本",
            "Field 'phone' is not valid: Not a valid string.",
        ),
        (
            {"phone": "13800138000", "password": "long enough 1", "nickname": "x"},
            "字段“nickname”无效：不是可接受的字段",
            "Field 'nickname' is not valid: Unknown field.",
        ),
        (
            {"phone": "13800138000", "password": "long enough 1", "name": "名" * 101},
            "字段“name”无效：长度超过上限 100",
            "Field 'name' is not valid: Longer than maximum length 100.",
        ),
    ],
    ids=["type", "unknown", "length"],
)
def test_a_field_the_api_refuses_is_explained_in_the_readers_language(client, body, zh, en):
    for language, said in (("zh", zh), ("en", en)):
        answer = client.post(
            "/api/v1/auth/signup", json=body, headers={"Accept-Language": language}
        )
        assert answer.status_code == 422
        assert answer.get_json()["error"]["message"] == said


def test_a_report_giving_lat_without_lon_says_so_in_each_language(client):
    for language, said in (
        ("zh", "字段“lon”无效：lat 与 lon 须同时给出"),
        ("en", "Field 'lon' is not valid: lat and lon go together"),
    ):
        answer = client.post(
            "/api/v1/reports",
            data={"sector": "other", "description": "d", "lat": "31.46"},
            headers={"Accept-Language": language},
        )
        assert answer.status_code == 422
        assert answer.get_json()["error"]["message"] == said


@pytest.mark.parametrize(
    ("detail", "zh", "en"),
    [
        ("Must be greater than or equal to 1 and less than or equal to 6.", "须 ≥ 1 且 ≤ 6", None),
        ("Must be less than 90.", "须 < 90", None),
        ("Must be one of: red, orange.", "须为其中之一：red, orange", None),
        ("Length must be between 1 and 200.", "长度须在 1 到 200 之间", None),
        ("不能为空 / must not be empty", "不能为空", "must not be empty"),
        ("510703", "510703", "510703"),  # a value is shown as it is
        (Words("甲", "A"), "甲", "A"),
        (AtLine(4, Words("甲", "A")), "第 4 行：甲", "line 4: A"),
    ],
)
def test_details_are_said_in_the_language_asked(detail, zh, en):
    assert detail_in(detail, "zh") == zh
    assert detail_in(detail, "en") == (en if en is not None else str(detail))
    assert ValidationFailed(field="f", detail=detail).message("zh") == f"字段“f”无效：{zh}"
