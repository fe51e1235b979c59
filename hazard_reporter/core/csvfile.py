"""Reading the CSV files admins import (units, routing rules, regions)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from flask import Request

from hazard_reporter.errors import AtLine, ValidationFailed, Words

_SAVE_AS_UTF8 = Words(
    "请另存为 CSV UTF-8（Excel：另存为 → CSV UTF-8 (逗号分隔)）",
    "save it as CSV UTF-8 (Excel: 另存为 → CSV UTF-8 (逗号分隔))",
)


def csv_text(data: bytes) -> str:
    """The text of a CSV file: UTF-8, with or without a byte-order mark. Anything else raises
    ValidationFailed saying how to save it (Excel on Chinese Windows writes GBK by default, which
    read as UTF-8 would store every name garbled)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        said = Words(
            f"文件是 UTF-16 编码；{_SAVE_AS_UTF8.zh}", f"the file is UTF-16; {_SAVE_AS_UTF8}"
        )
        raise ValidationFailed(field="csv", detail=said)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        said = Words(
            f"不是 UTF-8 文本（GBK？）；{_SAVE_AS_UTF8.zh}",
            f"not UTF-8 text (GBK?); {_SAVE_AS_UTF8}",
        )
        raise ValidationFailed(field="csv", detail=AtLine(line, said)) from None


def csv_body(request: Request) -> str:
    """The CSV an import request carries: its body (``text/csv``), or the one file of a form
    (``curl -F file=@units.csv``)."""
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if len(files) != 1:
            said = Words(
                f"表单须恰好带一个文件，而不是 {len(files)} 个；"
                "也可把 CSV 本身作为请求体发送（Content-Type: text/csv）",
                f"a form must carry exactly one file, not {len(files)}; "
                "or send the CSV itself as the body (Content-Type: text/csv)",
            )
            raise ValidationFailed(field="csv", detail=said)
        return csv_text(files[0].read())
    return csv_text(request.get_data())


def csv_rows(text: str, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV text whose header names at least ``columns``, each with the line it
    starts on: cells of short rows read as empty, cells beyond the header dropped, rows with
    every cell empty (Excel's trailing ",,,,") skipped. A file without such a header, or text
    that is not CSV, raises ValidationFailed naming its line."""
    if "\x00" in text:  # Python's csv reads it, PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        said = Words("含 NUL 字符（U+0000）", "NUL character (U+0000)")
        raise ValidationFailed(field="csv", detail=AtLine(line, said))
    expected = ",".join(columns)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    try:
        while True:
            line = reader.line_num + 1  # where the next record starts (blank lines count)
            record = next(reader, None)
            if record is None:
                break
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                _check_header(header, columns, line, expected)
                continue
            cells = dict(zip(header, record, strict=False))
            rows.append((line, {name: cells.get(name, "") for name in header}))
    except csv.Error as exc:
        said = Words(f"不是有效的 CSV（{exc}）", f"not valid CSV ({exc})")
        raise ValidationFailed(field="csv", detail=AtLine(reader.line_num, said)) from None
    if header is None:
        said = Words(
            f"文件是空的；第一行须为表头 {expected}",
            f"the file is empty; its first line must be the header {expected}",
        )
        raise ValidationFailed(field="csv", detail=said)
    return rows


def _check_header(header: list[str], columns: Sequence[str], line: int, expected: str) -> None:
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        said = Words(f"表头中 {twice[0]} 列出现了两次", f"column {twice[0]} is in the header twice")
        raise ValidationFailed(field="csv", detail=AtLine(line, said))
    missing = [name for name in columns if name not in header]
    if missing:
        named = ", ".join(missing)
        said = Words(
            f"缺少 {named} 列（表头须为 {expected}）",
            f"no column {named} (the header must be {expected})",
        )
        raise ValidationFailed(field="csv", detail=AtLine(line, said))
