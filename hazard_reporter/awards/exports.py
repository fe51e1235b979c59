"""The committee's files: the ranked award list as CSV, XLSX and PDF, and printable certificates.

Pure functions of plain rows: no database, no request. Every text a person reads is Chinese, and
every PDF embeds a TrueType CJK font (``hazard_reporter.core.pdf``) so it prints the same anywhere.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from hazard_reporter.core.pdf import cjk_font, numbered_canvas
from hazard_reporter.errors import ExportTooLarge

HEADERS = ("名次", "职工", "地区", "积分", "报告编号", "事由", "表彰等级")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_BOM = "\ufeff"
CSV_FLUSH_BYTES = 64 * 1024  # one chunk per ~64 KB: streamed, without a write per row
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CELL = 32_767
WIDTH_SAMPLE = 1_000  # column widths come from the first rows; the rest stream through
DEFAULT_TZ = "Asia/Shanghai"

# Spreadsheet programs run a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters print as boxes in a PDF and are illegal in XLSX; newlines are kept.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class AwardRow:
    """One reporter's line in the ranked list; ties share a rank (1, 2, 2, 4)."""

    rank: int
    reporter: str  # the name where the reporter agreed to be named, else e.g. "职工 #37"
    region: str  # e.g. "涪城区"
    points: int
    report_ids: tuple[int, ...]
    reasons: tuple[str, ...]  # e.g. "报告 #12：红色（重大风险）隐患，已验收；避免了一次燃气爆炸"
    level: str | None = None  # "及时表扬" | "优先推荐" | "特别贡献"
    reporter_id: int | None = None  # whom a commendation from this row is for


@dataclass(frozen=True)
class ExportMeta:
    """What the list is: its title, period, region and when it was made."""

    title: str  # e.g. "2026年6月 安全生产月 隐患随手拍 表彰名单"
    period: str  # e.g. "2026-06-01 至 2026-06-30"
    region: str  # e.g. "绵阳市"
    generated_at: datetime
    tz: str = DEFAULT_TZ  # the zone generated_at is shown in


@dataclass(frozen=True)
class Certificate:
    """One commended reporter's certificate (荣誉证书)."""

    reporter: str
    level: str
    reason: str
    points: int
    issuer: str  # the union's name, e.g. "绵阳市总工会"
    issued_on: date


# --- shared ------------------------------------------------------------------------------------


def report_ids_text(ids: Sequence[int]) -> str:
    """Report numbers as the files show them: ``12、15、233``."""
    return "、".join(str(i) for i in ids)


def reasons_text(reasons: Sequence[str]) -> str:
    """One reason per line (a reason may itself contain "；")."""
    return "\n".join(reasons)


def display_width(text: str) -> int:
    """Width in Latin character cells: CJK (wide and full-width) characters count double."""
    return max(
        (
            sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)
            for line in text.split("\n")
        ),
        default=0,
    )


def _clean(text: str) -> str:
    """Text without control characters (newlines kept)."""
    return _CONTROL.sub("", text)


def _generated(meta: ExportMeta) -> str:
    """``generated_at`` in the export's zone, to the minute."""
    moment = meta.generated_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(meta.tz))
    return moment.strftime("%Y-%m-%d %H:%M")


def _cells(row: AwardRow) -> tuple[int, str, str, int, str, str, str]:
    """A row's values in HEADERS order."""
    return (
        row.rank,
        row.reporter,
        row.region,
        row.points,
        report_ids_text(row.report_ids),
        reasons_text(row.reasons),
        row.level or "",
    )


# --- CSV ---------------------------------------------------------------------------------------


def _csv_safe(value: int | str) -> int | str:
    """Neutralise text a spreadsheet would run as a formula, by a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(rows: Iterable[AwardRow], meta: ExportMeta) -> Iterator[bytes]:
    """The list as UTF-8 CSV with a BOM (for Excel), the Chinese header row first, streamed."""
    # ``meta`` is not written: a CSV holds only the header and the rows, so it sorts and filters
    # cleanly; the title, period and region belong in the file name and the XLSX/PDF.
    del meta
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(CSV_BOM)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([_csv_safe(value) for value in _cells(row)])
        if buffer.tell() >= CSV_FLUSH_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------

_WIDTH_LIMITS = (6, 30, 20, 8, 24, 60, 12)  # per column, in character cells
_TITLE_FONT = Font(bold=True, size=14)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")


def _xlsx_text(value: str) -> str:
    """Text Excel accepts: no illegal characters, within the cell limit."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value if len(value) <= EXCEL_MAX_CELL else value[: EXCEL_MAX_CELL - 1] + "…"


def column_widths(rows: Sequence[AwardRow]) -> list[int]:
    """Column widths for HEADERS from the header and ``rows``, CJK counting double, capped."""
    widths = [display_width(h) for h in HEADERS]
    for row in rows:
        for i, value in enumerate(_cells(row)):
            widths[i] = max(widths[i], display_width(str(value)))
    return [min(w + 2, limit) for w, limit in zip(widths, _WIDTH_LIMITS, strict=True)]


class _CellMaker:
    """Cells of one sheet in a few fixed styles, made fast enough for 100 000 rows."""

    def __init__(self, ws: WriteOnlyWorksheet):
        self.ws = ws
        self._styles: dict[tuple[tuple[str, int], ...], Any] = {}

    def _styled(self, cell: WriteOnlyCell, **style: Any) -> WriteOnlyCell:
        # By identity: hashing openpyxl's style objects is what made styling slow.
        key = tuple(sorted((name, id(value)) for name, value in style.items()))
        if key not in self._styles:
            for name, value in style.items():
                setattr(cell, name, value)
            self._styles[key] = copy(cell._style)
        else:
            # Setting each style attribute hashes it into the workbook's lists: once per style
            # is enough, then the cell takes a copy of the resolved indices.
            cell._style = copy(self._styles[key])
        return cell

    def text(self, value: str, **style: Any) -> WriteOnlyCell:
        """A cell that always holds text: a leading "=" stays text, never a formula."""
        cell = WriteOnlyCell(self.ws, value=_xlsx_text(value))
        cell.data_type = "s"
        return self._styled(cell, alignment=style.pop("alignment", _TOP), **style)

    def number(self, value: int) -> WriteOnlyCell:
        """A numeric cell, top-aligned like its wrapped neighbours."""
        return self._styled(WriteOnlyCell(self.ws, value=value), alignment=_TOP)


def xlsx_bytes(rows: Iterable[AwardRow], meta: ExportMeta) -> bytes:
    """The list as an XLSX workbook: title rows, a frozen Chinese header, numbers as numbers."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("表彰名单")
    iterator = iter(rows)
    sample = list(islice(iterator, WIDTH_SAMPLE))
    # A write-only sheet takes its layout before the first row.
    for i, width in enumerate(column_widths(sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4

    make = _CellMaker(ws)
    ws.append([make.text(meta.title, font=_TITLE_FONT)])
    ws.append(
        [make.text(f"地区：{meta.region}　时段：{meta.period}　生成时间：{_generated(meta)}")]
    )
    ws.append([make.text(name, font=_HEADER_FONT, fill=_HEADER_FILL) for name in HEADERS])

    limit = EXCEL_MAX_ROWS - 3
    count = 0
    for row in chain(sample, iterator):
        count += 1
        if count > limit:
            raise ExportTooLarge(limit=limit)
        rank, reporter, region, points, ids, reasons, level = _cells(row)
        ws.append(
            [
                make.number(rank),
                make.text(reporter),
                make.text(region),
                make.number(points),
                make.text(ids, alignment=_WRAP),
                make.text(reasons, alignment=_WRAP),
                make.text(level) if level else None,
            ]
        )
    ws.auto_filter.ref = f"A3:{get_column_letter(len(HEADERS))}{3 + count}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- PDF: the list -----------------------------------------------------------------------------

_MARGIN = 15 * mm
_LIST_COLUMNS_MM = (12, 30, 30, 14, 26, None, 22)  # 事由 takes what is left


def _para(text: str) -> str:
    """Plain text as paragraph markup: escaped, newlines as line breaks."""
    return escape(_clean(text)).replace("\n", "<br/>")


def _list_styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("cell", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", base, fontSize=16, leading=22, alignment=TA_CENTER),
        "meta": ParagraphStyle("meta", base, fontSize=10, leading=14, alignment=TA_CENTER),
        "cell": base,
        "number": ParagraphStyle("number", base, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", base, alignment=TA_CENTER),
    }


def list_pdf(rows: Iterable[AwardRow], meta: ExportMeta) -> bytes:
    """The list as a landscape A4 PDF table: header repeated on every page, pages numbered."""
    font = cjk_font()
    styles = _list_styles(font)
    page = landscape(A4)
    usable = page[0] - 2 * _MARGIN
    fixed = sum(w * mm for w in _LIST_COLUMNS_MM if w is not None)
    widths = [w * mm if w is not None else usable - fixed for w in _LIST_COLUMNS_MM]

    data: list[list[Any]] = [[Paragraph(h, styles["head"]) for h in HEADERS]]
    for row in rows:
        rank, reporter, region, points, ids, reasons, level = _cells(row)
        data.append(
            [
                Paragraph(str(rank), styles["number"]),
                Paragraph(_para(reporter), styles["cell"]),
                Paragraph(_para(region), styles["cell"]),
                Paragraph(str(points), styles["number"]),
                Paragraph(_para(ids), styles["cell"]),
                Paragraph(_para(reasons), styles["cell"]),
                Paragraph(_para(level), styles["cell"]),
            ]
        )
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),  # else Helvetica is referenced, not embedded
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F7FA")]),
    ]
    if len(data) == 1:
        data.append([Paragraph("本期无符合条件的表彰记录。", styles["head"])] + [""] * 6)
        commands.append(("SPAN", (0, 1), (-1, 1)))
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(commands))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=page,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=meta.title,
        subject=f"{meta.region} {meta.period}",
        creator="hazard_reporter",
        initialFontName=font,
    )
    story = [
        Paragraph(_para(meta.title), styles["title"]),
        Paragraph(
            _para(f"地区：{meta.region}　时段：{meta.period}　生成时间：{_generated(meta)}"),
            styles["meta"],
        ),
        Spacer(1, 4 * mm),
        table,
    ]
    doc.build(story, canvasmaker=numbered_canvas(font, footer=_clean(meta.title)))
    return buffer.getvalue()


# --- PDF: certificates -------------------------------------------------------------------------

_RED = colors.HexColor("#B22222")
_GOLD = colors.HexColor("#C9A227")
_MAX_REASON = 600  # characters; a longer reason is cut so the page stays one page


def chinese_date(day: date) -> str:
    """``2026年6月30日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def _sentence(text: str) -> str:
    """Text without trailing punctuation, to end it with the certificate's own."""
    return _clean(text).strip().rstrip("。；;，,.").replace("\n", "；")


def _fit(text: str, style: ParagraphStyle, width: float, height: float) -> Paragraph:
    """The paragraph at the largest size from the style's down to 10 pt that fits the box."""
    size = style.fontSize
    while True:
        fitted = ParagraphStyle(
            "fit", style, fontSize=size, leading=size * 1.6, firstLineIndent=2 * size
        )
        paragraph = Paragraph(text, fitted)
        _w, h = paragraph.wrap(width, height)
        if h <= height or size <= 10:
            return paragraph
        size -= 1


def _certificate_page(canvas: Canvas, cert: Certificate, font: str) -> None:
    width, height = landscape(A4)
    canvas.setStrokeColor(_RED)
    canvas.setLineWidth(4)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setStrokeColor(_GOLD)
    canvas.setLineWidth(1.2)
    canvas.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    canvas.setFillColor(_RED)
    canvas.setFont(font, 44)
    canvas.drawCentredString(width / 2, height - 52 * mm, "荣誉证书")

    left, right = 40 * mm, width - 40 * mm
    canvas.setFillColor(colors.black)
    canvas.setFont(font, 22)
    canvas.drawString(left, height - 78 * mm, f"{_clean(cert.reporter)} 同志：")

    reason = _sentence(cert.reason)
    if len(reason) > _MAX_REASON:
        reason = reason[: _MAX_REASON - 1] + "…"
    body = (
        f"在隐患随手拍活动中，您及时发现并报告安全隐患：{escape(reason)}。"
        f"经审核，特授予“{escape(_clean(cert.level))}”表彰，记 {cert.points} 分。"
        "特发此证，以资鼓励。"
    )
    style = ParagraphStyle("body", fontName=font, fontSize=18, wordWrap="CJK")
    top, bottom = height - 86 * mm, 62 * mm
    paragraph = _fit(body, style, right - left, top - bottom)
    _w, h = paragraph.wrap(right - left, top - bottom)
    paragraph.drawOn(canvas, left, top - h)

    canvas.setFont(font, 18)
    canvas.drawRightString(right, 44 * mm, _clean(cert.issuer))
    canvas.drawRightString(right, 34 * mm, chinese_date(cert.issued_on))
    canvas.showPage()


def certificates_pdf(certificates: Iterable[Certificate]) -> bytes:
    """One landscape A4 certificate (荣誉证书) per commended reporter, as a single PDF."""
    font = cjk_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(A4), initialFontName=font)
    canvas.setTitle("荣誉证书")
    canvas.setCreator("hazard_reporter")
    pages = 0
    for cert in certificates:
        _certificate_page(canvas, cert, font)
        pages += 1
    if not pages:  # a valid file that says so, rather than an error or a blank page
        width, height = landscape(A4)
        canvas.setFont(font, 18)
        canvas.drawCentredString(width / 2, height / 2, "本期无可颁发的荣誉证书。")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
