"""The committee's files read back as a person or a program would: CSV, XLSX, the PDF list and
certificates (through poppler's pdftotext, pdffonts and pdftoppm)."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from PIL import Image
from reportlab.pdfbase import pdfmetrics

from hazard_reporter.awards import exports
from hazard_reporter.awards.exports import AwardRow, Certificate, ExportMeta
from hazard_reporter.core import pdf
from hazard_reporter.core.pdf import FontMissing, cjk_font, missing_glyphs
from tests.conftest import requires_cjk_font

POPPLER = ("pdftotext", "pdffonts", "pdftoppm")
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in POPPLER),
    reason="poppler-utils (pdftotext, pdffonts, pdftoppm) is not installed: "
    "apt-get install -y poppler-utils",
)

NAMES = [
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄晓明",
    "周杰",
    "吴刚",
    "徐丽",
    "孙浩",
    "马超",
    "朱琳",
    "胡军",
    "郭靖",
    "何欢",
    "高翔",
    "林峰",
    "罗兰",
    "郑爽",
    "梁晨",
    "谢娟",
    "宋佳",
    "唐宁",
    "韩梅梅",
    "冯涛",
    "欧阳娜娜",
    "职工 #37",
    "职工 #52",
]
REGIONS = ["涪城区", "游仙区", "安州区", "三台县", "江油市", "北川羌族自治县"]
OUTCOMES = [
    "红色（重大风险）隐患，已验收；避免了一次燃气爆炸",
    "橙色（较大风险）隐患，已验收；深基坑临边防护缺失",
    "黄色（一般风险）隐患，已验收",
    "红色（重大风险）隐患，已验收；地下室液化气钢瓶已清理",
    "蓝色（低风险）隐患，已验收",
]
LEVELS = ["特别贡献", "优先推荐", "及时表扬", None]
META = ExportMeta(
    title="2026年6月 安全生产月 隐患随手拍 表彰名单",
    period="2026-06-01 至 2026-06-30",
    region="绵阳市",
    generated_at=datetime(2026, 6, 30, 8, 0, tzinfo=UTC),
)


def make_rows(count: int = 30) -> list[AwardRow]:
    """Ranked rows with ties (points repeat, ranks are 1, 2, 2, 4 …), one or two reports each."""
    points = [300 - 10 * (i // 3 * 2 + (i % 3 == 2)) for i in range(count)]
    first: dict[int, int] = {}
    rows: list[AwardRow] = []
    for i, p in enumerate(points):
        rank = first.setdefault(p, i + 1)  # points never rise: a tie keeps the first rank
        ids = (100 + 2 * i,) if i % 2 else (100 + 2 * i, 101 + 2 * i)
        reasons = tuple(
            f"报告 #{n}：{OUTCOMES[(i + k) % len(OUTCOMES)]}" for k, n in enumerate(ids)
        )
        rows.append(
            AwardRow(
                rank=rank,
                reporter=NAMES[i % len(NAMES)] if i < len(NAMES) else f"职工 #{1000 + i}",
                region=REGIONS[i % len(REGIONS)],
                points=p,
                report_ids=ids,
                reasons=reasons,
                level=LEVELS[i % len(LEVELS)],
            )
        )
    return rows


ROWS = make_rows()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120)


def pdf_text(data: bytes, tmp_path, *mode: str) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return run("pdftotext", *mode, "-enc", "UTF-8", str(path), "-").stdout


def squeeze(text: str) -> str:
    """Text without any whitespace: wrapped lines read as one."""
    return re.sub(r"\s+", "", text)


def assert_fonts_embedded(data: bytes, tmp_path) -> None:
    """Every font is embedded TrueType, the CJK font among them; no Type 3, none missing."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = run("pdffonts", str(path)).stdout.splitlines()[2:]
    row = re.compile(r"^(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$")
    fonts = [row.match(line) for line in out]
    assert fonts and all(fonts), out
    face = pdfmetrics.getFont(cjk_font()).face.name.decode()
    assert any(face in f.group(1) for f in fonts), out
    for f in fonts:
        assert f.group(4) == "yes", f"font not embedded: {f.group(0)}"
        assert "Type 3" not in f.group(2) and "TrueType" in f.group(2), f.group(0)


def assert_renders(data: bytes, tmp_path, pages: int) -> None:
    """pdftoppm draws every page without a complaint, and draws something on each."""
    path = tmp_path / "render.pdf"
    path.write_bytes(data)
    result = run("pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page"))
    assert result.stderr == ""
    images = sorted(tmp_path.glob("page*.png"))
    assert len(images) == pages
    for image in images:
        with Image.open(image) as im:
            lo, _hi = im.convert("L").getextrema()
            assert lo < 128  # dark ink on the page, not an empty sheet


def all_text(rows: list[AwardRow]) -> str:
    return (
        "".join(r.reporter + r.region + "".join(r.reasons) + (r.level or "") for r in rows)
        + "".join(exports.HEADERS)
        + META.title
        + META.period
        + META.region
    )


def test_rows_have_ties_sharing_a_rank():
    assert [r.rank for r in ROWS[:6]] == [1, 1, 3, 4, 4, 6]
    assert len(ROWS) == 30 and len({r.reporter for r in ROWS}) == 30


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_starts_with_the_bom_and_parses_back_to_the_same_values():
    data = b"".join(exports.csv_chunks(ROWS, META))
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0] == ["名次", "职工", "地区", "积分", "报告编号", "事由", "表彰等级"]
    assert len(parsed) == len(ROWS) + 1
    for row, line in zip(ROWS, parsed[1:], strict=True):
        assert line == [
            str(row.rank),
            row.reporter,
            row.region,
            str(row.points),
            "、".join(str(i) for i in row.report_ids),
            "\n".join(row.reasons),
            row.level or "",
        ]


def test_csv_streams_in_chunks_and_the_first_holds_the_header():
    chunks = exports.csv_chunks(iter(make_rows(5000)), META)
    first = next(chunks)
    assert first.startswith("\ufeff名次,职工".encode())
    rest = list(chunks)
    assert len(rest) > 1  # not one big body at the end


def test_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas():
    row = AwardRow(1, '=HYPERLINK("http://x")', "@SUM(A1)", 10, (1,), ("-2+3",), "+1")
    [_, line] = list(csv.reader(io.StringIO(b"".join(exports.csv_chunks([row], META)).decode())))
    assert line[1] == '\'=HYPERLINK("http://x")' and line[2] == "'@SUM(A1)"
    assert line[5] == "'-2+3" and line[6] == "'+1" and line[3] == "10"


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_holds_the_names_reasons_and_points_as_numbers_under_chinese_headers():
    wb = load_workbook(io.BytesIO(exports.xlsx_bytes(ROWS, META)))
    ws = wb["表彰名单"]
    assert ws["A1"].value == META.title
    assert "绵阳市" in ws["A2"].value and "2026-06-01 至 2026-06-30" in ws["A2"].value
    assert "2026-06-30 16:00" in ws["A2"].value  # generated_at shown in Beijing time
    assert [c.value for c in ws[3]] == list(exports.HEADERS)
    body = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(body) == len(ROWS)
    for row, values in zip(ROWS, body, strict=True):
        rank, name, region, points, ids, reasons, level = values
        assert (name, region, reasons, level) == (
            row.reporter,
            row.region,
            "\n".join(row.reasons),
            row.level,
        )
        assert type(points) is int and points == row.points
        assert type(rank) is int and rank == row.rank
        assert ids == "、".join(str(i) for i in row.report_ids)
    assert ws.freeze_panes == "A4"
    assert ws.auto_filter.ref == f"A3:G{3 + len(ROWS)}"


def test_xlsx_column_widths_count_cjk_characters_double():
    ws = load_workbook(io.BytesIO(exports.xlsx_bytes(ROWS, META)))["表彰名单"]
    widths = {c: ws.column_dimensions[c].width for c in "ABCDEFG"}
    longest_reason = max(exports.display_width(r) for row in ROWS for r in row.reasons)
    assert widths["F"] == min(longest_reason + 2, 60)  # 事由: the widest, capped
    assert widths["B"] >= exports.display_width("欧阳娜娜") + 2 == 10
    assert widths["A"] == 6  # "名次": two CJK characters, four cells, plus padding
    assert all(w and w >= 6 for w in widths.values())


def test_display_width_counts_cjk_double():
    assert exports.display_width("职工 #37") == 8
    assert exports.display_width("涪城区") == 6
    assert exports.display_width("ab\n（重大风险）") == 12


def test_xlsx_keeps_formula_like_text_as_text_and_drops_illegal_characters():
    row = AwardRow(1, "=1+2", "涪城区\x07", 5, (1,), ("报告 #1：x",), None)
    ws = load_workbook(io.BytesIO(exports.xlsx_bytes([row], META))).active
    assert ws["B4"].value == "=1+2" and ws["B4"].data_type == "s"
    assert ws["C4"].value == "涪城区" and ws["G4"].value is None


# --- PDF ---------------------------------------------------------------------------------------


@requires_cjk_font
def test_every_character_of_the_lists_is_in_the_embedded_font():
    assert (
        missing_glyphs(all_text(ROWS) + "荣誉证书第页共同志：特发此证，以资鼓励。", cjk_font())
        == set()
    )


@requires_cjk_font
@needs_poppler
def test_list_pdf_reads_back_with_names_reasons_and_points_exactly(tmp_path):
    data = exports.list_pdf(ROWS, META)
    text = pdf_text(data, tmp_path, "-layout")
    assert META.title in text and "2026-06-01 至 2026-06-30" in text
    lines = text.splitlines()
    for row in ROWS:
        [line] = [
            ln
            for ln in lines
            if re.search(rf"(^|\s){re.escape(row.reporter)}(\s|$)", ln) and row.reasons[0] in ln
        ]
        tokens = line.split()
        assert tokens[0] == str(row.rank) and str(row.points) in tokens
        assert row.region in tokens
        for reason in row.reasons:
            assert reason in text
    assert_fonts_embedded(data, tmp_path)


@requires_cjk_font
@needs_poppler
def test_list_pdf_repeats_the_header_and_numbers_every_page(tmp_path):
    data = exports.list_pdf(make_rows(200), META)
    pages = pdf_text(data, tmp_path, "-layout").split("\f")[:-1]
    assert len(pages) > 2
    for n, page in enumerate(pages, start=1):
        assert re.search(r"名次\s+职工\s+地区\s+积分\s+报告编号\s+事由\s+表彰等级", page)
        assert re.search(rf"第\s*{n}\s*页\s*/\s*共\s*{len(pages)}\s*页", page)
    assert_renders(data, tmp_path, len(pages))


@requires_cjk_font
@needs_poppler
def test_list_pdf_wraps_a_long_reason_without_losing_a_character(tmp_path):
    long_reason = "报告 #7：" + "施工现场深基坑无临边防护且夜间无警示灯，" * 6 + "已验收"
    row = AwardRow(1, "李娜", "涪城区", 90, (7,), (long_reason,), "优先推荐")
    raw = pdf_text(exports.list_pdf([row], META), tmp_path, "-raw")
    assert squeeze(long_reason) in squeeze(raw)


@requires_cjk_font
@needs_poppler
def test_empty_list_pdf_says_so(tmp_path):
    text = pdf_text(exports.list_pdf([], META), tmp_path, "-layout")
    assert "本期无符合条件的表彰记录" in text and "名次" in text


@requires_cjk_font
@needs_poppler
def test_list_pdf_renders_without_missing_glyphs(tmp_path):
    data = exports.list_pdf(ROWS, META)
    pages = pdf_text(data, tmp_path).count("\f")
    assert_fonts_embedded(data, tmp_path)
    assert_renders(data, tmp_path, pages)


def certificates(rows: list[AwardRow]) -> list[Certificate]:
    return [
        Certificate(
            reporter=r.reporter,
            level=r.level or "及时表扬",
            reason="；".join(r.reasons),
            points=r.points,
            issuer="绵阳市总工会",
            issued_on=date(2026, 6, 30),
        )
        for r in rows
    ]


@requires_cjk_font
@needs_poppler
def test_certificates_one_page_each_with_name_reason_level_points_issuer_and_date(tmp_path):
    certs = certificates(ROWS[:8])
    data = exports.certificates_pdf(certs)
    pages = pdf_text(data, tmp_path, "-layout").split("\f")[:-1]
    assert len(pages) == len(certs)
    for cert, page in zip(certs, pages, strict=True):
        lines = [line.strip() for line in page.splitlines()]
        assert "荣誉证书" in lines and f"{cert.reporter} 同志：" in lines
        assert "绵阳市总工会" in lines and "2026年6月30日" in lines
        flat = squeeze(page)  # the body wraps; the words must all be there, in order
        assert squeeze(cert.reason) in flat
        assert f"特授予“{cert.level}”表彰，记{cert.points}分" in flat
    assert_fonts_embedded(data, tmp_path)
    assert_renders(data, tmp_path, len(certs))


@requires_cjk_font
@needs_poppler
def test_a_very_long_reason_still_fits_one_certificate(tmp_path):
    reason = "；".join(
        f"报告 #{n}：红色（重大风险）隐患，已验收；避免了一次燃气爆炸" for n in range(12)
    )
    cert = Certificate("王芳", "特别贡献", reason, 480, "绵阳市总工会", date(2026, 6, 30))
    data = exports.certificates_pdf([cert])
    text = pdf_text(data, tmp_path, "-raw")
    assert text.count("\f") == 1
    assert squeeze(reason) in squeeze(text)


@requires_cjk_font
@needs_poppler
def test_no_certificates_gives_a_page_that_says_so(tmp_path):
    text = pdf_text(exports.certificates_pdf([]), tmp_path)
    assert "本期无可颁发的荣誉证书" in text


# --- scale -------------------------------------------------------------------------------------


def test_twenty_thousand_rows_export_to_xlsx_and_csv():
    rows = make_rows(20_000)
    wb = load_workbook(io.BytesIO(exports.xlsx_bytes(iter(rows), META)), read_only=True)
    ws = wb["表彰名单"]
    last = list(ws.iter_rows(min_row=3 + 20_000, values_only=True))
    assert last[0][1] == rows[-1].reporter and last[0][3] == rows[-1].points
    wb.close()
    data = b"".join(exports.csv_chunks(iter(rows), META))
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(parsed) == 20_001 and parsed[-1][1] == rows[-1].reporter


# --- the font ----------------------------------------------------------------------------------


@requires_cjk_font
def test_cjk_font_registers_once_and_returns_the_same_name():
    assert cjk_font() == cjk_font()


def test_a_configured_font_that_does_not_exist_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HAZARD_CJK_FONT", str(tmp_path / "nope.ttc"))
    with pytest.raises(FontMissing, match="fonts-wqy-microhei") as error:
        cjk_font()
    assert "nope.ttc" in str(error.value)


def test_a_configured_font_without_chinese_is_refused(monkeypatch):
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.exists(latin):
        pytest.skip("fonts-dejavu-core is not installed")
    monkeypatch.setenv("HAZARD_CJK_FONT", latin)
    with pytest.raises(FontMissing, match="no Chinese glyphs"):
        cjk_font()


def test_no_known_font_names_the_debian_package(monkeypatch):
    monkeypatch.delenv("HAZARD_CJK_FONT", raising=False)
    monkeypatch.setattr(pdf, "KNOWN_FONTS", ())
    with pytest.raises(FontMissing, match="apt-get install -y fonts-wqy-microhei"):
        cjk_font()
    assert issubclass(FontMissing, RuntimeError)


@requires_cjk_font
def test_the_font_can_be_chosen_by_the_app_setting(app, monkeypatch, tmp_path):
    monkeypatch.delenv("HAZARD_CJK_FONT", raising=False)
    app.config["CJK_FONT"] = str(tmp_path / "configured.ttc")
    with app.app_context(), pytest.raises(FontMissing, match=r"configured\.ttc"):
        cjk_font()
    wqy = pdf.KNOWN_FONTS[0].path
    if os.path.exists(wqy):
        app.config["CJK_FONT"] = f"{wqy}#0"
        with app.app_context():
            assert cjk_font() == "HazardCJK-wqy-microhei-0"
