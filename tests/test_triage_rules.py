"""Triage rules: example reports as workers type them, and the properties every assessment keeps."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hazard_reporter.sectors.models import Sector
from hazard_reporter.triage.engine import (
    LEVELS,
    SECTORS,
    Assessment,
    Facts,
    RulesError,
    assess,
    default_rules,
    load_rules,
)

SHANGHAI = timezone(timedelta(hours=8))
AFTERNOON = datetime(2024, 5, 1, 14, 30, tzinfo=SHANGHAI)
NIGHT = datetime(2024, 5, 2, 2, 15, tzinfo=SHANGHAI)
CJK = re.compile(r"[\u4e00-\u9fff]")
RULES_FILE = Path(__file__).parents[1] / "hazard_reporter" / "triage" / "rules.toml"


def rank(severity: str) -> int:
    return LEVELS.index(severity)


def check(sector: str, description: str, **facts) -> Assessment:
    return assess(Facts(sector, description, **facts), default_rules())


# (sector, description, colour, code of the deciding reason). No local time: crowded venues'
# indicators keep their full level (busy and quiet hours are tested further down).
EXAMPLES = [
    # 建筑施工
    ("construction", "基坑边堆土太多，深基坑边坡有裂缝", "red", "indicator:construction.deep_excavation"),
    ("construction", "deep excavation next to the road, no shoring, soil cracking", "red",
     "indicator:construction.deep_excavation"),
    ("construction", "3号楼高支模架子有变形", "red", "indicator:construction.high_formwork"),
    ("construction", "工人在5楼临边作业没系安全带", "red", "indicator:construction.fall_protection"),
    ("construction", "guy on the roof edge working without a harness!!", "red",
     "indicator:construction.fall_protection"),
    ("construction", "电梯井洞口无盖板", "red", "indicator:construction.fall_protection"),
    ("construction", "5楼 no guardrail 临边", "red", "indicator:construction.fall_protection"),
    ("construction", "塔吊有点歪了，限位好像也坏了", "red", "indicator:construction.crane_fault"),
    ("construction", "Tower crane limit switch not working", "red",
     "indicator:construction.crane_fault"),
    ("construction", "外墙脚手架晃得厉害 连墙件被拆了", "red", "indicator:construction.scaffold_failure"),
    ("construction", "scafolding missing toe boards", "orange", "indicator:construction.scaffold"),
    ("construction", "工地门口积水，路滑", "yellow", "base:construction"),
    # 危险化学品
    ("hazardous_chemicals", "2号储罐法兰泄漏，地上一滩", "red", "indicator:hazardous_chemicals.leak"),
    ("hazardous_chemicals", "tank farm pipe is leaking acid", "red",
     "indicator:hazardous_chemicals.leak"),
    ("hazardous_chemicals", "tank 有点漏", "red", "indicator:hazardous_chemicals.leak"),
    ("hazardous_chemicals", "车间里有刺鼻气味，好几个人头晕恶心", "red",
     "indicator:hazardous_chemicals.toxic_gas"),
    ("hazardous_chemicals", "罐区旁边有人电焊 没有作业票", "red",
     "indicator:hazardous_chemicals.hot_work_unpermitted"),
    ("hazardous_chemicals", "welding next to the solvent store", "orange",
     "indicator:hazardous_chemicals.hot_work"),
    ("hazardous_chemicals", "仓库里氧化剂和易燃液体混放", "red",
     "indicator:hazardous_chemicals.mixed_storage"),
    ("hazardous_chemicals", "可燃气体报警器坏了好几天没人修", "red",
     "indicator:hazardous_chemicals.safety_system_disabled"),
    ("hazardous_chemicals", "厂区道路标线不清楚", "orange", "base:hazardous_chemicals"),
    # 城市燃气管网
    ("gas_network", "地下室食堂有燃气味", "red", "indicator:gas_network.leak"),
    ("gas_network", "小区路边一直漏气，能听到嘶嘶声", "red", "indicator:gas_network.leak"),
    ("gas_network", "我家楼下煤气泄露了", "red", "indicator:gas_network.leak"),
    ("gas_network", "Strong smell of gas near the meter box", "red", "indicator:gas_network.leak"),
    ("gas_network", "楼道gas leak了 快来", "red", "indicator:gas_network.leak"),
    ("gas_network", "饭店把液化气罐放在地下室用", "red", "indicator:gas_network.lpg_enclosed"),
    ("gas_network", "LPG cylinders stored in the basement kitchen", "red",
     "indicator:gas_network.lpg_enclosed"),
    ("gas_network", "楼下商户私接燃气管道", "orange", "indicator:gas_network.illegal_connection"),
    ("gas_network", "gas pipe on the wall is badly corroded", "orange",
     "indicator:gas_network.pipe_corrosion"),
    ("gas_network", "燃气公司的警示牌掉了", "orange", "base:gas_network"),
    # 人员密集场所
    ("crowded_venue", "商场安全出口被锁了", "red", "indicator:crowded_venue.exit_blocked"),
    ("crowded_venue", "KTV疏散通道堆满杂物", "red", "indicator:crowded_venue.exit_blocked"),
    ("crowded_venue", "emergency exit blocked with boxes at the supermarket", "red",
     "indicator:crowded_venue.exit_blocked"),
    ("crowded_venue", "安全出口 LOCKED!!", "red", "indicator:crowded_venue.exit_blocked"),
    ("crowded_venue", "消防通道被车堵死了", "red", "indicator:crowded_venue.fire_lane_blocked"),
    ("crowded_venue", "体育馆门口人太多 挤不动", "red", "indicator:crowded_venue.overcrowded"),
    ("crowded_venue", "mall is way overcrowded, people pushing", "red",
     "indicator:crowded_venue.overcrowded"),
    ("crowded_venue", "防火门一直用木楔子顶着常开", "orange", "indicator:crowded_venue.fire_door"),
    ("crowded_venue", "灭火器都过期了", "orange", "indicator:crowded_venue.fire_equipment"),
    ("crowded_venue", "商场B1层的餐厅用液化气罐", "red", "indicator:gas_network.lpg_enclosed"),
    ("crowded_venue", "商场里地板有点滑", "yellow", "base:crowded_venue"),
    # 交通运输
    ("transport", "公司那辆货车刹车不灵，还让跑长途", "red", "indicator:transport.brake_failure"),
    ("transport", "bus brakes failing on the downhill route", "red",
     "indicator:transport.brake_failure"),
    ("transport", "大巴超员，过道里都站满人", "red", "indicator:transport.passenger_overload"),
    ("transport", "司机连续开了一夜车 疲劳驾驶", "orange", "indicator:transport.fatigue"),
    ("transport", "渣土车严重超载", "orange", "indicator:transport.overload"),
    ("transport", "hazmat tanker parked in the residential area overnight", "orange",
     "indicator:transport.dangerous_goods"),
    ("transport", "车队停车场照明不足", "yellow", "base:transport"),
    # 矿山采掘
    ("mining", "工作面瓦斯浓度超限了还在干", "red", "indicator:mining.gas"),
    ("mining", "methane readings high at the face", "red", "indicator:mining.gas"),
    ("mining", "巷道出水量增大，有挂红", "red", "indicator:mining.water_inrush"),
    ("mining", "3号巷道顶板掉渣，怕冒顶", "red", "indicator:mining.roof_fall"),
    ("mining", "局扇停了半天也没人管 no ventilation", "red", "indicator:mining.ventilation"),
    ("mining", "矿区道路坑洼", "orange", "base:mining"),
    # 民爆器材
    ("explosives", "爆破员把雷管放在宿舍里", "red", "indicator:explosives.improper_storage"),
    ("explosives", "detonators left unattended in the van", "red",
     "indicator:explosives.improper_storage"),
    ("explosives", "有人私存炸药在家里", "red", "indicator:explosives.private_storage"),
    ("explosives", "民爆仓库围墙有点破", "orange", "base:explosives"),
    # "三合一"场所
    ("three_in_one", "服装厂楼上就是宿舍，晚上住人", "red", "indicator:three_in_one.people_sleeping"),
    ("three_in_one", "workers sleep in the warehouse above the paint store", "red",
     "indicator:three_in_one.people_sleeping"),
    ("three_in_one", "一楼门店，电瓶车推进屋充电", "orange", "indicator:three_in_one.ebike_charging"),
    ("three_in_one", "小作坊窗户都装了防盗窗", "orange", "indicator:three_in_one.barred_windows"),
    ("three_in_one", "门口招牌松了", "yellow", "base:three_in_one"),
    # 其他
    ("other", "配电箱没门，电线裸露", "orange", "indicator:other.electrical"),
    ("other", "my coworker got an electric shock from the drill", "orange",
     "indicator:other.electrical"),
    ("other", "车间后面冒烟了！", "red", "indicator:other.fire"),
    ("other", "仓库那边 smoke coming out of the roof", "red", "indicator:other.fire"),
    ("other", "清理化粪池没有检测就下去了", "orange", "indicator:other.confined_space"),
    ("other", "餐馆后厨燃气味很重", "red", "indicator:gas_network.leak"),
    ("other", "厕所地面很滑", "blue", "base:other"),
]  # fmt: skip


@pytest.mark.parametrize(("sector", "description", "colour", "code"), EXAMPLES)
def test_example_report_gets_its_colour_and_deciding_reason(sector, description, colour, code):
    result = check(sector, description)
    assert (result.severity, result.reasons[0].code) == (colour, code), result.reasons
    assert result.reasons[-1].code.startswith("base:") or result.reasons[0].code.startswith("base:")


def test_examples_cover_every_sector_and_every_indicator():
    assert {row[0] for row in EXAMPLES} == set(SECTORS)
    assert len(EXAMPLES) >= 40
    codes = {row[3] for row in EXAMPLES}
    assert {i.code for i in default_rules().indicators} <= codes


@pytest.mark.parametrize(("sector", "description", "colour", "code"), EXAMPLES)
def test_deciding_reason_quotes_the_matched_words(sector, description, colour, code):
    first = check(sector, description).reasons[0]
    if code.startswith("indicator:"):
        quoted = re.findall(r"“([^”]+)”", first.zh)
        assert quoted and all(word in description.lower() for word in quoted)


# --- immediate danger ------------------------------------------------------------------------


@pytest.mark.parametrize("sector", SECTORS)
def test_immediate_danger_alone_makes_any_report_red(sector):
    result = check(sector, "你们快来看看", immediate_danger=True)
    assert result.severity == "red"
    if rank(default_rules().base[sector]) < rank("red"):
        assert result.reasons[0].code == "immediate_danger"
    assert "立即通知值班检查员" in result.reasons[0].zh


def test_indicator_stays_the_deciding_reason_when_danger_is_also_flagged():
    result = check("gas_network", "地下室燃气泄漏", immediate_danger=True)
    codes = [r.code for r in result.reasons]
    assert result.severity == "red"
    assert codes == ["indicator:gas_network.leak", "immediate_danger", "base:gas_network"]


# --- independent reports (cluster size) ------------------------------------------------------


@pytest.mark.parametrize(
    ("sector", "description", "reports", "colour", "first"),
    [
        ("other", "厕所地面很滑", 1, "blue", "base:other"),
        ("other", "厕所地面很滑", 3, "yellow", "cluster"),
        ("other", "厕所地面很滑", 9, "yellow", "cluster"),
        ("other", "厕所地面很滑", 10, "orange", "cluster"),
        ("construction", "scaffolding missing toe boards", 3, "red", "cluster"),
        ("construction", "工地门口积水", 10, "red", "cluster"),
        ("gas_network", "燃气味很重", 10, "red", "indicator:gas_network.leak"),
        ("other", "厕所地面很滑", 0, "blue", "base:other"),
        ("other", "厕所地面很滑", -5, "blue", "base:other"),
    ],
)
def test_independent_reports_raise_the_colour(sector, description, reports, colour, first):
    result = check(sector, description, independent_reports=reports)
    assert (result.severity, result.reasons[0].code) == (colour, first)
    assert ("cluster" in [r.code for r in result.reasons]) == (reports >= 3)


def test_cluster_reason_says_when_the_colour_is_already_the_highest():
    reasons = {r.code: r for r in check("mining", "瓦斯超限", independent_reports=12).reasons}
    assert "12名报告人" in reasons["cluster"].zh and "已是最高等级" in reasons["cluster"].zh
    assert "already at the highest level" in reasons["cluster"].en


# --- busy hours of crowded venues ------------------------------------------------------------


def test_plain_crowded_venue_report_is_orange_in_busy_hours():
    result = check("crowded_venue", "商场里地板有点滑", local_time=AFTERNOON)
    assert result.severity == "orange"
    assert [r.code for r in result.reasons] == ["crowded_hours", "base:crowded_venue"]
    assert "14:30" in result.reasons[0].zh and "10:00–22:00" in result.reasons[0].zh


def test_plain_crowded_venue_report_stays_yellow_at_night():
    result = check("crowded_venue", "商场里地板有点滑", local_time=NIGHT)
    assert result.severity == "yellow"
    assert [r.code for r in result.reasons] == ["base:crowded_venue"]


@pytest.mark.parametrize(
    "description",
    ["安全出口被锁了", "emergency exit chained shut", "消防通道堵死了", "人员拥挤，超员严重"],
)
def test_exits_and_overcrowding_stay_red_in_busy_hours_and_drop_to_orange_at_night(description):
    busy = check("crowded_venue", description, local_time=AFTERNOON)
    night = check("crowded_venue", description, local_time=NIGHT)
    assert busy.severity == "red" and night.severity == "orange"
    assert busy.reasons[0].code == night.reasons[0].code
    assert "crowded_hours" in [r.code for r in busy.reasons]
    assert "营业高峰时段外" in night.reasons[0].zh and "outside busy hours" in night.reasons[0].en


def test_busy_hours_include_the_start_and_exclude_the_end():
    def colour(hour: int, minute: int) -> str:
        when = datetime(2024, 5, 1, hour, minute, tzinfo=SHANGHAI)
        return check("crowded_venue", "地板滑", local_time=when).severity

    assert [colour(9, 59), colour(10, 0), colour(21, 59), colour(22, 0)] == [
        "yellow",
        "orange",
        "orange",
        "yellow",
    ]


def test_without_a_local_time_indicators_keep_their_level_and_no_floor_applies():
    assert check("crowded_venue", "安全出口被锁了").severity == "red"
    assert check("crowded_venue", "地板滑").severity == "yellow"


def test_busy_hours_only_apply_to_crowded_venues():
    # People sleep in three-in-one premises: a locked exit there is red at any hour.
    assert check("three_in_one", "安全出口被锁了", local_time=NIGHT).severity == "red"
    assert check("three_in_one", "门口招牌松了", local_time=AFTERNOON).severity == "yellow"


def test_immediate_danger_at_night_is_still_red():
    result = check("crowded_venue", "安全出口被锁了", local_time=NIGHT, immediate_danger=True)
    assert result.severity == "red" and result.reasons[0].code == "immediate_danger"


def test_busy_window_may_run_past_midnight():
    text = RULES_FILE.read_text(encoding="utf-8").replace(
        'windows = [["10:00", "22:00"]]', 'windows = [["20:00", "02:00"]]'
    )
    rules = load_rules(text)
    for hour, colour in [(19, "yellow"), (23, "orange"), (1, "orange"), (2, "yellow")]:
        when = datetime(2024, 5, 1, hour, 0, tzinfo=SHANGHAI)
        assert assess(Facts("crowded_venue", "地板滑", local_time=when), rules).severity == colour


# --- negation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sector", "description"),
    [
        ("gas_network", "没有燃气味"),
        ("gas_network", "无燃气味，只是表箱门坏了"),
        ("gas_network", "未发现漏气"),
        ("gas_network", "不存在燃气泄漏"),
        ("gas_network", "检查过了，没有闻到煤气味"),
        ("gas_network", "没有发现明显的燃气泄漏"),
        ("gas_network", "No gas smell, the meter box door is broken"),
        ("gas_network", "checked: not any smell of gas"),
        ("gas_network", "there is no gas leak, just a faded sign"),
        ("gas_network", "without gas smell"),
        ("gas_network", "I don't smell gas"),
        ("crowded_venue", "安全出口没有上锁，畅通"),
        ("mining", "今天没有瓦斯超限"),
        ("other", "没有冒烟，也没有火苗"),
    ],
)
def test_negated_keywords_do_not_count(sector, description):
    result = check(sector, description)
    assert result.reasons[0].code == f"base:{sector}", result.reasons
    assert not any(r.code.startswith("indicator:") for r in result.reasons)


@pytest.mark.parametrize(
    "description",
    [
        "没有燃气味，但是漏气",  # a negation ends at the clause
        "no gas smell but gas leaking from the valve",  # each keyword is checked on its own
        "the casino smells of gas",  # "no" inside a word is not a negation
        "燃气味没有散",  # a negation after the keyword is not understood (a documented limit)
    ],
)
def test_negation_is_local_to_the_keyword(description):
    assert check("gas_network", description).reasons[0].code == "indicator:gas_network.leak"


# --- reasons and score -----------------------------------------------------------------------


def assert_bilingual(result: Assessment) -> None:
    assert result.reasons
    for reason in result.reasons:
        assert reason.code and CJK.search(reason.zh), reason
        assert reason.en.isascii() and re.search(r"[A-Za-z]", reason.en), reason


@pytest.mark.parametrize(("sector", "description", "colour", "code"), EXAMPLES)
def test_reasons_are_never_empty_and_bilingual(sector, description, colour, code):
    for when in (None, AFTERNOON, NIGHT):
        for reports in (1, 3, 10):
            assert_bilingual(
                check(sector, description, local_time=when, independent_reports=reports)
            )


def test_score_is_monotone_with_severity():
    results = [
        check(sector, description, local_time=when, independent_reports=reports, immediate_danger=d)
        for sector, description, _, _ in EXAMPLES
        for when in (None, AFTERNOON, NIGHT)
        for reports in (1, 3, 10)
        for d in (False, True)
    ]
    for lower, higher in pairwise(LEVELS):
        top = max(r.score for r in results if r.severity == lower)
        bottom = min(r.score for r in results if r.severity == higher)
        assert top < bottom, (lower, higher)
    assert all(0 <= r.score <= 100 for r in results)


def test_unknown_sector_is_treated_as_other():
    result = check("shipyard", "电线裸露")
    assert result.severity == "orange"
    assert result.reasons[-1].code == "base:other" and "按“其他”处理" in result.reasons[-1].zh


def test_full_width_letters_and_curly_apostrophes_are_understood():
    assert check("gas_network", "ＧＡＳ ＬＥＡＫ").severity == "red"
    assert check("gas_network", "I don’t smell gas").severity == "orange"


def test_a_long_description_is_assessed_in_well_under_a_millisecond():
    text = ("二楼车间地面油污很多，some boxes near the door，旁边有配电箱，燃气味，" * 60)[:2000]
    rules = default_rules()
    for sector in SECTORS:
        facts = Facts(sector, text, local_time=AFTERNOON, independent_reports=3)
        best = min(_duration(lambda f=facts: assess(f, rules)) for _ in range(20))
        assert best < 0.001, (sector, best)


def _duration(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


# --- the app's entry point -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sector", "colour"),
    [
        (Sector.GAS_NETWORK, "orange"),
        (Sector.HAZARDOUS_CHEMICALS, "orange"),
        (Sector.MINING, "orange"),
        (Sector.EXPLOSIVES, "orange"),
        (Sector.CONSTRUCTION, "yellow"),
        (Sector.CROWDED_VENUE, "yellow"),
        (Sector.THREE_IN_ONE, "yellow"),
        (Sector.TRANSPORT, "yellow"),
        (Sector.OTHER, "blue"),
    ],
)
def test_shipped_base_levels_and_the_danger_flag(sector, colour):
    assert assess(Facts(sector.value, ""), default_rules()).severity == colour
    assert assess(Facts(sector.value, "", immediate_danger=True), default_rules()).severity == "red"


def test_a_gas_leak_in_the_description_is_red():
    assert assess(Facts("gas_network", "漏气"), default_rules()).severity == "red"


def test_default_rules_are_parsed_once_and_match_the_file():
    assert default_rules() is default_rules()
    from_path = load_rules(RULES_FILE)
    assert from_path.base == default_rules().base
    assert [i.code for i in from_path.indicators] == [i.code for i in default_rules().indicators]
    assert load_rules(str(RULES_FILE)).base == default_rules().base


# --- validating a rules file -----------------------------------------------------------------


def minimal_rules(indicator: str = "", extra: str = "") -> str:
    sectors = "\n".join(f'[sectors.{s}]\nbase = "yellow"\n' for s in SECTORS)
    indicator = indicator or (
        '[[sectors.gas_network.indicators]]\nid = "leak"\nlevel = "red"\nlabel_zh = "燃气泄漏"\n'
        'label_en = "gas leak"\nzh = ["燃气泄漏"]\nen = ["gas leak*"]\n'
    )
    return f"version = 1\n{extra}\n{sectors}\n{indicator}"


def test_minimal_rules_file_is_valid():
    rules = load_rules(minimal_rules())
    assert assess(Facts("gas_network", "gas leaking"), rules).severity == "red"
    assert assess(Facts("gas_network", "没有燃气泄漏"), rules).severity == "red"  # no [negation]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (minimal_rules().replace('level = "red"', 'level = "purple"'),
         r"indicator gas_network\.leak level: 'purple' is not a level; expected one of: blue"),
        (minimal_rules().replace('base = "yellow"', 'base = "amber"', 1),
         r"\[sectors\.construction\] base: 'amber' is not a level"),
        (minimal_rules(extra='[sectors.shipyard]\nbase = "red"\n'),
         r"unknown sector 'shipyard' in \[sectors\.shipyard\]; expected one of: construction"),
        (minimal_rules().replace('zh = ["燃气泄漏"]\nen = ["gas leak*"]', "zh = []\nen = []"),
         r"indicator gas_network\.leak has no keywords"),
        (minimal_rules().replace('zh = ["燃气泄漏"]', 'zh = ["燃气泄漏", "  "]'),
         r"indicator gas_network\.leak zh: keyword #2 is empty"),
        (minimal_rules().replace('en = ["gas leak*"]', 'en = ["gas 泄漏"]'),
         r"indicator gas_network\.leak en: 'gas 泄漏' must be English letters"),
        (minimal_rules().replace('zh = ["燃气泄漏"]', 'zh = ["gas"]'),
         r"indicator gas_network\.leak zh: 'gas' has no Chinese characters"),
        (minimal_rules().replace('en = ["gas leak*"]', 'en = ["gas leak*"]\nkeywords = ["x"]'),
         r"indicator gas_network\.leak: unknown key 'keywords'"),
        (minimal_rules().replace('en = ["gas leak*"]', 'en = ["gas leak*"]\nalso_in = ["mall"]'),
         r"indicator gas_network\.leak also_in: unknown sector 'mall'"),
        (minimal_rules().replace('en = ["gas leak*"]', 'en = ["gas leak*"]\nwith_zh = []'),
         r"indicator gas_network\.leak has empty with_zh/with_en"),
        (minimal_rules().replace('level = "red"', 'level = "orange"\noff_hours_level = "red"'),
         r"indicator gas_network\.leak: off_hours_level 'red' is above level 'orange'"),
        (minimal_rules().replace('id = "leak"', 'id = "Gas Leak"'),
         r"\[\[sectors\.gas_network\.indicators\]\] #1: id must be lower-case"),
        (minimal_rules() + minimal_rules().split("[sectors.other]")[1].split("\n", 2)[2],
         r"indicator 'indicator:gas_network\.leak' is defined twice"),
        (minimal_rules().replace('[sectors.mining]\nbase = "yellow"\n', ""),
         r"sector 'mining' is missing"),
        (minimal_rules(extra="[cluster]\nsteps = [{ min_reports = 3, raise = 2 },"
                             " { min_reports = 10, raise = 1 }]\n"),
         r"\[cluster\] step #2: raise must not shrink"),
        (minimal_rules(extra="[cluster]\nsteps = [{ min_reports = 1, raise = 1 }]\n"),
         r"\[cluster\] step #1: min_reports must be a whole number >= 2"),
        (minimal_rules(extra='[busy_hours]\nsectors = ["crowded_venue"]\nwindows = [["10:00", "25:00"]]\n'),
         r"\[busy_hours\] window #1: '25:00' is not a time"),
        (minimal_rules(extra='[immediate_danger]\nlevel = "crimson"\n'),
         r"\[immediate_danger\] level: 'crimson' is not a level"),
        (minimal_rules(extra="version = 2\n").replace("version = 1\n", ""),
         r"version = 2 is not supported"),
        ("[sectors\nbase = ", r"not valid TOML"),
    ],
)  # fmt: skip
def test_load_rules_refuses_a_bad_file_naming_the_bad_entry(text, message):
    with pytest.raises(RulesError, match=message):
        load_rules(text)


def test_load_rules_reports_a_missing_file(tmp_path):
    with pytest.raises(RulesError, match=r"cannot read the rules file .*missing\.toml"):
        load_rules(tmp_path / "missing.toml")


# --- properties ------------------------------------------------------------------------------

KEYWORDS = sorted(
    {w.replace("*", "") for i in default_rules().indicators for w in i.keywords + i.with_keywords}
)
NEGATIONS = ["没有", "无", "未发现", "不存在", "no ", "not ", "without "]
words = st.sampled_from(KEYWORDS + NEGATIONS + ["，", "。", " ", "的", "and", "地下室"])
descriptions = st.one_of(st.text(max_size=300), st.lists(words, max_size=12).map("".join))
local_times = st.none() | st.datetimes(timezones=st.just(SHANGHAI)) | st.datetimes()
sectors = st.sampled_from(SECTORS) | st.text(max_size=20)
facts = st.builds(
    Facts,
    sector=sectors,
    description=descriptions,
    immediate_danger=st.booleans(),
    independent_reports=st.integers(min_value=-10, max_value=10_000),
    local_time=local_times,
)


@settings(max_examples=300, deadline=None)
@given(facts)
def test_assess_never_raises_and_always_explains_itself(given_facts):
    result = assess(given_facts, default_rules())
    assert result.severity in LEVELS and 0 <= result.score <= 100
    assert_bilingual(result)


@settings(max_examples=300, deadline=None)
@given(facts, st.sampled_from(KEYWORDS))
def test_adding_a_keyword_never_lowers_the_colour(given_facts, keyword):
    before = assess(given_facts, default_rules())
    more = Facts(
        given_facts.sector,
        f"{given_facts.description}。{keyword}",
        given_facts.immediate_danger,
        given_facts.independent_reports,
        given_facts.local_time,
    )
    assert rank(assess(more, default_rules()).severity) >= rank(before.severity)


@settings(max_examples=200, deadline=None)
@given(facts)
def test_immediate_danger_never_lowers_the_colour(given_facts):
    calm = Facts(given_facts.sector, given_facts.description, False,
                 given_facts.independent_reports, given_facts.local_time)  # fmt: skip
    alarmed = Facts(given_facts.sector, given_facts.description, True,
                    given_facts.independent_reports, given_facts.local_time)  # fmt: skip
    rules = default_rules()
    assert rank(assess(alarmed, rules).severity) >= rank(assess(calm, rules).severity)
    assert assess(alarmed, rules).severity == "red"


@settings(max_examples=200, deadline=None)
@given(facts, st.integers(min_value=0, max_value=50))
def test_more_independent_reports_never_lower_the_colour(given_facts, more):
    fewer = assess(given_facts, default_rules())
    grown = Facts(
        given_facts.sector,
        given_facts.description,
        given_facts.immediate_danger,
        given_facts.independent_reports + more,
        given_facts.local_time,
    )
    assert rank(assess(grown, default_rules()).severity) >= rank(fewer.severity)
