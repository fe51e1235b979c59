"""The daily duty report (值班日报): what came in during the window closing 15:30 local time.

Pure: plain lines in, a report out, rendered as JSON, as text to paste into a WeChat group, or as
a PDF. A day's window is (day-1 15:30, day 15:30] in Asia/Shanghai: a report submitted exactly at
15:30 belongs to that day's report, one a second later to the next day's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from hazard_reporter.core.pdf import cjk_font, numbered_canvas
from hazard_reporter.reports.models import Severity, Status
from hazard_reporter.sectors.models import Sector

DUTY_TZ = "Asia/Shanghai"
DUTY_CLOSE = time(15, 30)
COLOURS: tuple[str, ...] = tuple(s.value for s in Severity)  # red, orange, yellow, blue
SECTORS: tuple[str, ...] = tuple(s.value for s in Sector)
COLOUR_ZH = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
STATUS_ZH = {
    Status.SUBMITTED: "待研判",
    Status.TRIAGED: "已研判",
    Status.FORWARDED: "已转办",
    Status.ACKNOWLEDGED: "已签收",
    Status.RECTIFYING: "整改中",
    Status.RECTIFIED: "已整改",
    Status.VERIFIED: "已验收",
    Status.REJECTED: "未采纳",
    Status.DUPLICATE: "已合并",
}
ZERO_REPORT = "无事报平安"
SHORT_DESCRIPTION = 40  # characters of a red report's description in the text
TEXT_MAX_REDS = 30  # a WeChat message stays readable; JSON and PDF list every red report
_SPACE = re.compile(r"\s+")


def duty_window(
    day: date, tz: str = DUTY_TZ, close: time = DUTY_CLOSE
) -> tuple[datetime, datetime]:
    """The window (day-1 close, day close] in ``tz``, as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day - timedelta(days=1), close, tzinfo=zone)
    end = datetime.combine(day, close, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class ReportLine:
    """The facts of one report the duty report needs."""

    id: int
    sector: str
    severity: str
    region_code: str | None
    description: str
    submitted_at: datetime  # aware
    status: str
    overdue: bool


@dataclass(frozen=True)
class DutyReport:
    """One region's duty report for one day."""

    region_code: str
    region_name: str
    day: date
    window_start: datetime  # exclusive, aware UTC
    window_end: datetime  # inclusive, aware UTC
    new_by_colour: dict[str, int]  # red/orange/yellow/blue, all four keys always
    new_by_sector: dict[str, int]  # all nine sector keys always
    reds: tuple[ReportLine, ...]  # every red one, oldest first
    overdue: int  # open reports of the region past a deadline
    total_new: int
    tz: str = DUTY_TZ  # the zone the window is shown in

    @property
    def is_zero(self) -> bool:
        """Nothing new and nothing overdue: the explicit zero report (无事报平安)."""
        return self.total_new == 0 and self.overdue == 0


def build(
    region_code: str,
    region_name: str,
    day: date,
    lines_in_window: Iterable[ReportLine],
    overdue_count: int,
    *,
    tz: str = DUTY_TZ,
    close: time = DUTY_CLOSE,
) -> DutyReport:
    """The report from the window's lines: duplicates and lines outside the window don't count."""
    start, end = duty_window(day, tz, close)
    by_colour = dict.fromkeys(COLOURS, 0)
    by_sector = dict.fromkeys(SECTORS, 0)
    reds: list[ReportLine] = []
    total = 0
    for line in lines_in_window:
        # A duplicate is merged into another report, which is counted in its own right.
        if line.status == Status.DUPLICATE or not start < line.submitted_at <= end:
            continue
        colour = Severity(line.severity).value  # an unknown colour is a bug: fail loudly
        by_colour[colour] += 1
        by_sector[line.sector if line.sector in by_sector else Sector.OTHER.value] += 1
        if colour == Severity.RED:
            reds.append(line)
        total += 1
    reds.sort(key=lambda line: (line.submitted_at, line.id))
    return DutyReport(
        region_code=region_code,
        region_name=region_name,
        day=day,
        window_start=start,
        window_end=end,
        new_by_colour=by_colour,
        new_by_sector=by_sector,
        reds=tuple(reds),
        overdue=overdue_count,
        total_new=total,
        tz=tz,
    )


# --- JSON ------------------------------------------------------------------------------------


def _line_json(line: ReportLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "sector": line.sector,
        "severity": line.severity,
        "region_code": line.region_code,
        "description": line.description,
        "submitted_at": line.submitted_at.isoformat(),
        "status": line.status,
        "overdue": line.overdue,
    }


def as_json(report: DutyReport) -> dict[str, Any]:
    """The report as JSON-ready values (times in ISO 8601 UTC)."""
    return {
        "region_code": report.region_code,
        "region_name": report.region_name,
        "day": report.day.isoformat(),
        "window_start": report.window_start.isoformat(),
        "window_end": report.window_end.isoformat(),
        "tz": report.tz,
        "total_new": report.total_new,
        "new_by_colour": dict(report.new_by_colour),
        "new_by_sector": dict(report.new_by_sector),
        "overdue": report.overdue,
        "is_zero": report.is_zero,
        "reds": [_line_json(line) for line in report.reds],
    }


def from_json(data: dict[str, Any]) -> DutyReport:
    """The report back from ``as_json``'s values."""
    return DutyReport(
        region_code=data["region_code"],
        region_name=data["region_name"],
        day=date.fromisoformat(data["day"]),
        window_start=datetime.fromisoformat(data["window_start"]),
        window_end=datetime.fromisoformat(data["window_end"]),
        new_by_colour=dict(data["new_by_colour"]),
        new_by_sector=dict(data["new_by_sector"]),
        reds=tuple(
            ReportLine(**{**line, "submitted_at": datetime.fromisoformat(line["submitted_at"])})
            for line in data["reds"]
        ),
        overdue=data["overdue"],
        total_new=data["total_new"],
        tz=data.get("tz", DUTY_TZ),
    )


# --- text ------------------------------------------------------------------------------------


def chinese_date(day: date) -> str:
    """``2026年6月1日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def _local(report: DutyReport, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(report.tz))


def heading(report: DutyReport) -> str:
    """``【隐患随手拍值班日报】绵阳市 2026年6月1日（截至15:30）``."""
    close = _local(report, report.window_end)
    return (
        f"【隐患随手拍值班日报】{report.region_name} {chinese_date(report.day)}"
        f"（截至{close:%H:%M}）"
    )


def window_text(report: DutyReport) -> str:
    """``统计时段：5月31日15:30 至 6月1日15:30``."""
    start, end = _local(report, report.window_start), _local(report, report.window_end)
    return (
        f"统计时段：{start.month}月{start.day}日{start:%H:%M} 至 "
        f"{end.month}月{end.day}日{end:%H:%M}"
    )


def sector_label(key: str) -> str:
    """A sector's Chinese label (the key itself when unknown)."""
    try:
        return Sector(key).label_zh
    except ValueError:
        return key


def status_label(status: str) -> str:
    """A status in Chinese (the key itself when unknown)."""
    try:
        return STATUS_ZH[Status(status)]
    except ValueError:
        return status


def short(text: str, limit: int = SHORT_DESCRIPTION) -> str:
    """One line of at most ``limit`` characters, "…" marking a cut."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def colour_counts_text(report: DutyReport) -> str:
    """``新增隐患 12 起：红 1、橙 3、黄 5、蓝 3``."""
    counts = "、".join(f"{COLOUR_ZH[c]} {report.new_by_colour[c]}" for c in COLOURS)
    return f"新增隐患 {report.total_new} 起：{counts}"


def red_line_text(line: ReportLine) -> str:
    """``#12 城市燃气管网：地下室液化气钢瓶漏气（已转办）``."""
    flag = "，已超期" if line.overdue else ""
    return (
        f"#{line.id} {sector_label(line.sector)}：{short(line.description)}"
        f"（{status_label(line.status)}{flag}）"
    )


def as_text(report: DutyReport) -> str:
    """The report as plain Chinese text to paste into a WeChat group."""
    lines = [heading(report), window_text(report)]
    if report.is_zero:
        lines += [
            f"★★★ {ZERO_REPORT} ★★★",
            "本时段无新增隐患报告，无超期未办结隐患。",
        ]
        return "\n".join(lines)
    lines.append(colour_counts_text(report))
    sectors = [
        f"{sector_label(key)} {count}" for key, count in report.new_by_sector.items() if count
    ]
    if sectors:
        lines.append("按行业：" + "、".join(sectors))
    reds = report.reds
    if reds:
        lines.append(f"红色（重大风险）隐患 {len(reds)} 起：")
        lines += [red_line_text(line) for line in reds[:TEXT_MAX_REDS]]
        if len(reds) > TEXT_MAX_REDS:
            lines.append(f"……另有 {len(reds) - TEXT_MAX_REDS} 起红色隐患，详见系统或 PDF 日报。")
    else:
        lines.append("红色（重大风险）隐患：无")
    lines.append(f"超期未办结隐患：{report.overdue} 起")
    return "\n".join(lines)


# --- PDF -------------------------------------------------------------------------------------

_MARGIN = 15 * mm
_TINTS = {
    "red": colors.HexColor("#F8D0D0"),
    "orange": colors.HexColor("#FBE0C3"),
    "yellow": colors.HexColor("#FFF4B8"),
    "blue": colors.HexColor("#CFE2F8"),
}
_GRID: list[tuple[Any, ...]] = [
    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
]


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("cell", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "cell": base,
        "centre": ParagraphStyle("centre", base, alignment=TA_CENTER),
        "title": ParagraphStyle("title", base, fontSize=15, leading=21, alignment=TA_CENTER),
        "meta": ParagraphStyle("meta", base, fontSize=10, leading=14, alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", base, fontSize=11, leading=16, spaceBefore=6, spaceAfter=3),
        "zero": ParagraphStyle(
            "zero", base, fontSize=28, leading=40, alignment=TA_CENTER, textColor="#1B7F3B"
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _section(report: DutyReport, font: str, styles: dict[str, ParagraphStyle]) -> list[Any]:
    """One region's part of the PDF."""
    width = A4[0] - 2 * _MARGIN
    cell, centre = styles["cell"], styles["centre"]
    story: list[Any] = [
        _p(heading(report), styles["title"]),
        _p(window_text(report), styles["meta"]),
    ]
    if report.is_zero:
        story += [Spacer(1, 12 * mm), _p(ZERO_REPORT, styles["zero"])]
        story.append(_p("本时段无新增隐患报告，无超期未办结隐患。", centre))
        return story

    story.append(_p(f"一、新增隐患 {report.total_new} 起", styles["h2"]))
    colour_table = Table(
        [
            [_p(f"{Severity(c).label_zh}", centre) for c in COLOURS] + [_p("合计", centre)],
            [_p(str(report.new_by_colour[c]), centre) for c in COLOURS]
            + [_p(str(report.total_new), centre)],
        ],
        colWidths=[width / 5] * 5,
    )
    colour_style = [("FONTNAME", (0, 0), (-1, -1), font), *_GRID]
    colour_style += [("BACKGROUND", (i, 0), (i, 0), _TINTS[c]) for i, c in enumerate(COLOURS)]
    colour_table.setStyle(TableStyle(colour_style))
    story.append(colour_table)

    story.append(_p("二、按行业", styles["h2"]))
    sector_table = Table(
        [
            [_p(sector_label(s), centre) for s in SECTORS],
            [_p(str(report.new_by_sector[s]), centre) for s in SECTORS],
        ],
        colWidths=[width / len(SECTORS)] * len(SECTORS),
    )
    sector_table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), *_GRID]))
    story.append(sector_table)

    story.append(_p(f"三、红色（重大风险）隐患 {len(report.reds)} 起", styles["h2"]))
    if report.reds:
        rows: list[list[Any]] = [
            [_p(h, centre) for h in ("编号", "行业", "隐患描述", "提交时间", "状态")]
        ]
        for line in report.reds:
            status = status_label(line.status) + ("（超期）" if line.overdue else "")
            rows.append(
                [
                    _p(f"#{line.id}", cell),
                    _p(sector_label(line.sector), cell),
                    _p(short(line.description, 200), cell),
                    _p(f"{_local(report, line.submitted_at):%m-%d %H:%M}", cell),
                    _p(status, cell),
                ]
            )
        widths = [16 * mm, 26 * mm, None, 24 * mm, 22 * mm]
        fixed = sum(w for w in widths if w is not None)
        red_table = Table(
            rows, colWidths=[w if w is not None else width - fixed for w in widths], repeatRows=1
        )
        red_table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), *_GRID]))
        story.append(red_table)
    else:
        story.append(_p("无", cell))

    story.append(_p(f"四、超期未办结隐患：{report.overdue} 起", styles["h2"]))
    return story


def as_pdf(reports: list[DutyReport]) -> bytes:
    """The reports as one A4 PDF, a section (starting a page) per region."""
    font = cjk_font()
    styles = _styles(font)
    story: list[Any] = []
    for i, report in enumerate(reports):
        if i:
            story.append(PageBreak())
        story += _section(report, font, styles)
    if not reports:
        story.append(_p("没有可生成日报的地区。", styles["meta"]))
    day = chinese_date(reports[0].day) if reports else ""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=f"隐患随手拍值班日报 {day}".strip(),
        creator="hazard_reporter",
        initialFontName=font,
    )
    doc.build(story, canvasmaker=numbered_canvas(font, footer=f"隐患随手拍值班日报 {day}"))
    return buffer.getvalue()
