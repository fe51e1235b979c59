"""The daily duty report (值班日报): its window, counts, text, JSON and PDF, the database query
and the ``flask duty-report`` command."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hazard_reporter.duty import report as duty
from hazard_reporter.duty.cli import duty_report_command
from hazard_reporter.duty.report import DutyReport, ReportLine, build, duty_window
from hazard_reporter.duty.services import duty_reports
from hazard_reporter.errors import UnknownRegion
from hazard_reporter.extensions import db
from hazard_reporter.reports.models import Report
from hazard_reporter.sectors.models import Sector
from tests.conftest import requires_cjk_font
from tests.fixtures import make_jpeg
from tests.test_inspection_flow import give_channels
from tests.test_reports_api import post_report

needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) is not installed: apt-get install -y poppler-utils",
)

DAY = date(2026, 6, 1)
START = datetime(2026, 5, 31, 7, 30, tzinfo=UTC)  # 2026-05-31 15:30 Beijing time
END = datetime(2026, 6, 1, 7, 30, tzinfo=UTC)  # 2026-06-01 15:30 Beijing time
SECTORS = [s.value for s in Sector]
COLOURS = ["red", "orange", "yellow", "blue"]


def line(
    id: int,
    at: datetime,
    *,
    severity: str = "yellow",
    sector: str = "construction",
    status: str = "submitted",
    description: str = "脚手架连墙件缺失",
    overdue: bool = False,
) -> ReportLine:
    return ReportLine(
        id=id,
        sector=sector,
        severity=severity,
        region_code="510703",
        description=description,
        submitted_at=at,
        status=status,
        overdue=overdue,
    )


def busy_lines(count: int = 120, seed: int = 7) -> list[ReportLine]:
    """A busy day: every colour, sector and status, some duplicates, all inside the window."""
    rng = random.Random(seed)
    statuses = ["submitted", "triaged", "forwarded", "rejected", "duplicate", "verified"]
    return [
        line(
            i,
            START + timedelta(seconds=rng.randint(1, 86400)),
            severity=rng.choice(COLOURS),
            sector=rng.choice(SECTORS),
            status=rng.choice(statuses),
            description=f"第{i}处："
            + "地下室存放液化石油气钢瓶，通风不良，有明显燃气味" * rng.randint(1, 3),
        )
        for i in range(1, count + 1)
    ]


# --- the window --------------------------------------------------------------------------------


def test_window_closes_at_1530_beijing_time_in_utc():
    assert duty_window(DAY) == (START, END)
    start, end = duty_window(DAY)
    assert start.tzinfo is UTC and end.tzinfo is UTC


@pytest.mark.parametrize(
    ("tz", "close", "expected"),
    [
        ("Asia/Shanghai", time(8, 0), (datetime(2026, 5, 31, 0, 0), datetime(2026, 6, 1, 0, 0))),
        ("Asia/Urumqi", time(15, 30), (datetime(2026, 5, 31, 9, 30), datetime(2026, 6, 1, 9, 30))),
        ("UTC", time(0, 0), (datetime(2026, 5, 31), datetime(2026, 6, 1))),
    ],
)
def test_window_in_other_zones_and_closing_times(tz, close, expected):
    start, end = duty_window(DAY, tz=tz, close=close)
    assert (start, end) == tuple(e.replace(tzinfo=UTC) for e in expected)


@pytest.mark.parametrize(
    ("at", "counted"),
    [
        (START, False),  # 5-31 15:30:00 belongs to the day before
        (START + timedelta(microseconds=1), True),
        (START + timedelta(seconds=1), True),
        (END - timedelta(seconds=1), True),
        (END, True),  # 6-01 15:30:00 is the last moment of this window
        (END + timedelta(microseconds=1), False),
        (END + timedelta(seconds=1), False),
    ],
)
def test_window_starts_after_and_ends_at_1530_exactly(at, counted):
    report = build("510703", "涪城区", DAY, [line(1, at)], 0)
    assert report.total_new == (1 if counted else 0)


def test_a_time_given_in_beijing_time_is_placed_by_its_instant():
    at = datetime(2026, 6, 1, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    later = datetime(2026, 6, 1, 15, 30, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert build("510703", "涪城区", DAY, [line(1, at), line(2, later)], 0).total_new == 1


# --- counting ----------------------------------------------------------------------------------


def test_zero_report_says_all_is_well_with_the_region_name():
    report = build("510700", "绵阳市", DAY, [], 0)
    assert report.is_zero
    assert report.new_by_colour == dict.fromkeys(COLOURS, 0)
    assert report.new_by_sector == dict.fromkeys(SECTORS, 0)
    text = duty.as_text(report)
    assert text.splitlines()[0] == "【隐患随手拍值班日报】绵阳市 2026年6月1日（截至15:30）"
    assert "无事报平安" in text and "绵阳市" in text
    assert "统计时段：5月31日15:30 至 6月1日15:30" in text


def test_overdue_alone_is_not_a_zero_report():
    report = build("510700", "绵阳市", DAY, [], 3)
    assert not report.is_zero
    text = duty.as_text(report)
    assert "无事报平安" not in text
    assert "超期未办结隐患：3 起" in text and "新增隐患 0 起" in text


def test_busy_day_counts_equal_a_direct_count():
    lines = busy_lines()
    report = build("510703", "涪城区", DAY, lines, 4)
    counted = [ln for ln in lines if ln.status != "duplicate"]
    assert report.total_new == len(counted) < len(lines)
    assert report.new_by_colour == {c: Counter(ln.severity for ln in counted)[c] for c in COLOURS}
    assert report.new_by_sector == {s: Counter(ln.sector for ln in counted)[s] for s in SECTORS}
    assert sum(report.new_by_colour.values()) == sum(report.new_by_sector.values())
    assert [r.id for r in report.reds] == [
        ln.id
        for ln in sorted(counted, key=lambda ln: (ln.submitted_at, ln.id))
        if ln.severity == "red"
    ]
    assert report.overdue == 4 and not report.is_zero


def test_duplicates_are_not_new_but_rejected_reports_are():
    lines = [
        line(1, END, status="duplicate", severity="red"),
        line(2, END, status="rejected", severity="red"),
    ]
    report = build("510703", "涪城区", DAY, lines, 0)
    assert report.total_new == 1 and [r.id for r in report.reds] == [2]


def test_an_unknown_sector_counts_as_other_and_an_unknown_colour_fails():
    report = build("510703", "涪城区", DAY, [line(1, END, sector="fishing")], 0)
    assert report.new_by_sector["other"] == 1 and len(report.new_by_sector) == 9
    with pytest.raises(ValueError):
        build("510703", "涪城区", DAY, [line(1, END, severity="purple")], 0)


# --- text --------------------------------------------------------------------------------------


def test_text_lists_each_red_report_on_one_short_line():
    long = "地下室违规存放液化石油气钢瓶十余个，\n现场有明显燃气味，通风不良，附近有明火作业，随时可能发生爆炸"
    lines = [
        line(12, END, severity="red", sector="gas_network", status="forwarded", description=long),
        line(13, END, severity="red", sector="construction", description="深基坑无临边防护"),
        line(14, END, severity="blue", sector="transport"),
    ]
    text = duty.as_text(build("510703", "涪城区", DAY, lines, 0))
    assert "新增隐患 3 起：红 2、橙 0、黄 0、蓝 1" in text
    assert "按行业：建筑施工 1、城市燃气管网 1、交通运输 1" in text
    assert "矿山采掘" not in text  # only sectors with reports
    [gas] = [ln for ln in text.splitlines() if ln.startswith("#12 ")]
    assert gas.startswith("#12 城市燃气管网：地下室违规存放液化石油气钢瓶十余个， 现场有明显燃气味")
    assert gas.endswith("…（已转办）")
    description = gas.split("：", 1)[1].rsplit("（", 1)[0]
    assert len(description) == 40
    assert "#13 建筑施工：深基坑无临边防护（待研判）" in text
    assert "超期未办结隐患：0 起" in text and "无事报平安" not in text


def test_text_stays_short_enough_for_a_chat_message_on_a_busy_day():
    lines = [line(i, END, severity="red", description="燃气泄漏" * 30) for i in range(1, 301)]
    text = duty.as_text(build("510000", "四川省", DAY, lines, 12))
    assert len(text) < 3000
    assert text.count("\n#") == duty.TEXT_MAX_REDS
    assert "另有 270 起红色隐患" in text
    assert all(len(ln) <= 80 for ln in text.splitlines())


# --- JSON --------------------------------------------------------------------------------------


def test_json_round_trips():
    report = build("510703", "涪城区", DAY, busy_lines(), 2)
    data = duty.as_json(report)
    again = json.loads(json.dumps(data, ensure_ascii=False))
    assert again == data
    assert duty.from_json(again) == report
    assert data["window_start"] == "2026-05-31T07:30:00+00:00"
    assert data["window_end"] == "2026-06-01T07:30:00+00:00"
    assert set(data["new_by_colour"]) == set(COLOURS) and len(data["new_by_sector"]) == 9
    assert data["is_zero"] is False and len(data["reds"]) == len(report.reds)


# --- PDF ---------------------------------------------------------------------------------------


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "duty.pdf"
    path.write_bytes(data)
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts and all(" yes " in f and "Type 3" not in f for f in fonts), fonts
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@requires_cjk_font
@needs_pdftotext
def test_pdf_has_a_section_per_region_with_its_name_and_counts(tmp_path):
    busy = build("510703", "涪城区", DAY, busy_lines(), 5)
    zero = build("510704", "游仙区", DAY, [], 0)
    text = pdf_text(duty.as_pdf([busy, zero]), tmp_path)
    pages = text.split("\f")
    assert "【隐患随手拍值班日报】涪城区 2026年6月1日（截至15:30）" in text
    assert f"一、新增隐患 {busy.total_new} 起" in text
    counts = " ".join(str(busy.new_by_colour[c]) for c in COLOURS) + f" {busy.total_new}"
    assert counts in " ".join(text.split())
    assert f"三、红色（重大风险）隐患 {len(busy.reds)} 起" in text
    for red in busy.reds:
        assert f"#{red.id}" in text
    assert "四、超期未办结隐患：5 起" in text
    [zero_page] = [p for p in pages if "游仙区" in p]
    assert "无事报平安" in zero_page and "涪城区" not in zero_page


@requires_cjk_font
@needs_pdftotext
def test_pdf_of_no_regions_is_still_a_document(tmp_path):
    assert "没有可生成日报的地区" in pdf_text(duty.as_pdf([]), tmp_path)


# --- from the database -------------------------------------------------------------------------


def add_report(
    region_code: str,
    at: datetime,
    *,
    severity: str = "yellow",
    sector: str = "construction",
    status: str = "submitted",
    overdue: bool = False,
    description: str = "施工现场临边防护缺失",
) -> int:
    report = Report(
        sector=sector,
        description=description,
        status=status,
        severity=severity,
        location_source="manual",
        region_code=region_code,
        submitted_at=at,
        request_fingerprint="0" * 64,
        overdue=overdue,
    )
    db.session.add(report)
    db.session.flush()
    return report.id


@pytest.fixture
def day_of_reports(app):
    """Reports around the 2026-06-01 window in 涪城区 and 游仙区 (both in 绵阳市, 四川省)."""
    with app.app_context():
        ids = {
            "red_fucheng": add_report(
                "510703",
                END,
                severity="red",
                sector="gas_network",
                description="地下室液化气钢瓶漏气",
            ),
            "yellow_fucheng": add_report("510703", START + timedelta(seconds=1)),
            "orange_youxian": add_report(
                "510704", END - timedelta(hours=3), severity="orange", sector="crowded_venue"
            ),
            "duplicate": add_report("510703", END, severity="red", status="duplicate"),
            "before": add_report("510703", START, severity="red"),
            "after": add_report("510703", END + timedelta(seconds=1), severity="red"),
            "city_level": add_report("510700", END - timedelta(hours=1), severity="blue"),
        }
        # Overdue (flag set, status open) counts whenever submitted; rectified or not flagged not.
        add_report("510703", START - timedelta(days=3), status="forwarded", overdue=True)
        add_report("510704", START - timedelta(days=9), status="rectifying", overdue=True)
        add_report("510704", START - timedelta(days=9), status="rectified", overdue=True)
        add_report("510704", START - timedelta(days=9), status="acknowledged", overdue=False)
        db.session.commit()
    return ids


def test_default_reports_are_the_province_then_its_cities_each_counting_its_subtree(
    app, day_of_reports
):
    with app.app_context():
        reports = duty_reports(db.session, day=DAY, tz="Asia/Shanghai")
    assert [(r.region_code, r.region_name) for r in reports] == [
        ("510000", "四川省"),
        ("510700", "绵阳市"),
    ]
    for report in reports:
        assert report.total_new == 4
        assert report.new_by_colour == {"red": 1, "orange": 1, "yellow": 1, "blue": 1}
        assert report.new_by_sector["gas_network"] == 1
        assert report.new_by_sector["crowded_venue"] == 1
        assert report.new_by_sector["construction"] == 2
        assert [r.id for r in report.reds] == [day_of_reports["red_fucheng"]]
        assert report.reds[0].description == "地下室液化气钢瓶漏气"
        assert report.overdue == 2
        assert (report.window_start, report.window_end) == (START, END)


def test_one_region_counts_only_its_subtree(app, day_of_reports):
    with app.app_context():
        [fucheng] = duty_reports(db.session, day=DAY, region_code="510703", tz="Asia/Shanghai")
        [youxian] = duty_reports(db.session, day=DAY, region_code="510704", tz="Asia/Shanghai")
        [anzhou] = duty_reports(db.session, day=DAY, region_code="510705", tz="Asia/Shanghai")
    assert (fucheng.region_name, fucheng.total_new, fucheng.overdue) == ("涪城区", 2, 1)
    assert (youxian.total_new, youxian.overdue) == (1, 1)
    assert youxian.new_by_colour["orange"] == 1 and not youxian.reds
    assert anzhou.is_zero and "无事报平安" in duty.as_text(anzhou)


def test_the_next_day_counts_the_report_a_second_after_1530(app, day_of_reports):
    with app.app_context():
        [report] = duty_reports(
            db.session, day=DAY + timedelta(days=1), region_code="510703", tz="Asia/Shanghai"
        )
    assert [r.id for r in report.reds] == [day_of_reports["after"]]


def test_an_unknown_region_is_refused(app):
    with app.app_context(), pytest.raises(UnknownRegion):
        duty_reports(db.session, day=DAY, region_code="999999", tz="Asia/Shanghai")


def test_a_report_posted_through_the_api_appears_on_its_day(app, client):
    response = post_report(
        client,
        region_code="510703",
        photos=[make_jpeg()],
        sector="gas_network",
        description="小区燃气管道被施工挖断，正在漏气",
    )
    assert response.status_code == 201, response.json
    report_id = response.json["id"]
    with app.app_context():
        report = db.session.get(Report, report_id)
        report.submitted_at = END - timedelta(minutes=5)
        db.session.commit()
        severity = report.severity
        [duty_day] = duty_reports(db.session, day=DAY, region_code="510700", tz="Asia/Shanghai")
        [other_day] = duty_reports(
            db.session, day=DAY - timedelta(days=1), region_code="510700", tz="Asia/Shanghai"
        )
    assert duty_day.total_new == 1 and duty_day.new_by_colour[severity] == 1
    assert duty_day.new_by_sector["gas_network"] == 1
    assert other_day.is_zero


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def cli(app):
    app.cli.add_command(duty_report_command)
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["duty-report", *args])

    return invoke


def test_command_prints_text_for_every_default_region(cli, day_of_reports):
    result = cli("--date", "2026-06-01")
    assert result.exit_code == 0, result.output
    assert "【隐患随手拍值班日报】四川省 2026年6月1日（截至15:30）" in result.output
    assert "【隐患随手拍值班日报】绵阳市 2026年6月1日（截至15:30）" in result.output
    assert f"#{day_of_reports['red_fucheng']} 城市燃气管网：地下室液化气钢瓶漏气" in result.output


def test_command_zero_report_for_a_quiet_region(cli, day_of_reports):
    result = cli("--date", "2026-06-01", "--region", "510722")
    assert result.exit_code == 0, result.output
    assert "三台县" in result.output and "无事报平安" in result.output


def test_command_json_is_a_list_of_reports(cli, day_of_reports):
    result = cli("--date", "2026-06-01", "--region", "510703", "--format", "json")
    assert result.exit_code == 0, result.output
    [data] = json.loads(result.output)
    assert data["region_name"] == "涪城区" and data["total_new"] == 2 and data["overdue"] == 1


@requires_cjk_font
@needs_pdftotext
def test_command_writes_a_pdf_to_the_output_file(cli, day_of_reports, tmp_path):
    out = tmp_path / "duty.pdf"
    result = cli("--date", "2026-06-01", "--format", "pdf", "--output", str(out))
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "四川省" in text and "绵阳市" in text and "一、新增隐患 4 起" in text


def test_command_writes_text_to_a_file(cli, day_of_reports, tmp_path):
    out = tmp_path / "duty.txt"
    result = cli("--date", "2026-06-01", "--region", "510704", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "游仙区" in out.read_text(encoding="utf-8")


def test_command_refuses_pdf_without_an_output_and_an_unknown_region(cli):
    result = cli("--format", "pdf")
    assert result.exit_code == 2 and "--output" in result.output
    result = cli("--date", "2026-06-01", "--region", "999999")
    assert result.exit_code == 1 and "999999" in result.output
    result = cli("--date", "2026-13-01")
    assert result.exit_code == 2


def test_command_defaults_to_today_in_beijing(cli):
    result = cli("--region", "510700")
    assert result.exit_code == 0, result.output
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert duty.chinese_date(today) in result.output


def test_duty_report_is_a_frozen_value():
    report = build("510703", "涪城区", DAY, [], 0)
    assert isinstance(report, DutyReport)
    with pytest.raises(AttributeError):
        report.total_new = 3  # type: ignore[misc]


# --- sending through the outbox ----------------------------------------------------------------


def duty_deliveries(app) -> list[tuple[str, str]]:
    """(day, title) of every duty report in the outbox."""
    from hazard_reporter.deliveries.models import Delivery

    with app.app_context():
        rows = db.session.scalars(
            select(Delivery).where(Delivery.kind == "duty.report").order_by(Delivery.id)
        ).all()
        found = [(d.payload["day"], d.payload["title"]) for d in rows]
        db.session.remove()
    return found


@pytest.fixture
def offices_listening(app):
    """Every union department can be reached (a duty report goes to the nearest one)."""
    from hazard_reporter.units.models import Unit

    with app.app_context():
        for unit in db.session.scalars(select(Unit).where(Unit.is_union_department.is_(True))):
            unit.channels = [{"type": "link"}]
        db.session.commit()
        db.session.remove()


def send_at(app, when: datetime) -> int:
    from hazard_reporter.duty.services import send_due_duty_reports

    with app.app_context():
        sent = send_due_duty_reports(db.session, now=when, tz="Asia/Shanghai")
        db.session.remove()
    return sent


def test_the_day_is_sent_once_a_few_minutes_after_1530_and_counts_a_late_commit(
    app, offices_listening
):
    # A report submitted at 15:29:58 is committed after its photos are stored: read at 15:30:00
    # it was missed by that day's report and counted by no other.
    assert send_at(app, END + timedelta(minutes=1)) == 0  # within the grace: not yet
    with app.app_context():
        late = add_report("510703", END - timedelta(seconds=2), severity="red")
        db.session.commit()
        db.session.remove()
    assert send_at(app, END + timedelta(minutes=4)) > 0
    assert send_at(app, END + timedelta(minutes=5)) == 0  # once a day
    days = {day for day, _ in duty_deliveries(app)}
    assert days == {DAY.isoformat()}
    with app.app_context():
        [fucheng] = duty_reports(db.session, day=DAY, region_code="510703", tz="Asia/Shanghai")
        assert [r.id for r in fucheng.reds] == [late]
        db.session.remove()


def test_a_day_no_process_sent_is_sent_late_the_next_day(app, offices_listening):
    assert send_at(app, END + timedelta(minutes=4)) > 0  # 06-01 sent
    sent_first = len(duty_deliveries(app))
    # Nothing ran from before 15:30 on 06-02 until the next morning.
    morning = END + timedelta(days=2) - timedelta(hours=7)  # 06-03 08:30 Beijing time
    caught_up = send_at(app, morning)
    assert caught_up == sent_first  # every region's 06-02
    late = duty_deliveries(app)[sent_first:]
    assert {day for day, _ in late} == {(DAY + timedelta(days=1)).isoformat()}
    assert all(title.startswith("【补发】") for _, title in late)
    assert send_at(app, morning + timedelta(minutes=1)) == 0


def test_a_new_installation_sends_no_day_from_before_it_ran(app, offices_listening):
    assert send_at(app, END + timedelta(days=3) - timedelta(hours=7)) == 0  # a morning: nothing
    assert {day for day, _ in duty_deliveries(app)} == set()


def test_a_day_sent_for_one_region_is_not_sent_late_for_another_that_had_no_office(
    app, offices_listening
):
    # A region whose office could not be reached gets no run for the day. The catch-up took such
    # a day for one no process sent: it counted it again at every pass, and once the office was
    # reachable again sent that region the day late (补发), though the day had been sent.
    from hazard_reporter.units.models import Unit

    with app.app_context():
        db.session.add(
            Unit(
                slug="my-zgh-lbb",
                name_zh="绵阳市总工会劳动保护部",
                region_code="510700",
                sectors=[],
                is_union_department=True,
                channels=[{"type": "link"}],
            )
        )
        db.session.commit()
        db.session.remove()
    assert send_at(app, END + timedelta(minutes=4)) == 2  # 06-01: the province and the city
    give_channels(app, "sc-zgh-lbb", [])
    assert send_at(app, END + timedelta(days=1, minutes=4)) == 1  # 06-02: the city alone
    sent = duty_deliveries(app)
    give_channels(app, "sc-zgh-lbb", [{"type": "link"}])
    morning = END + timedelta(days=2) - timedelta(hours=7)  # 06-03 08:30 Beijing time
    send_at(app, morning)
    assert duty_deliveries(app) == sent  # no 【补发】 of 06-02 for the province
