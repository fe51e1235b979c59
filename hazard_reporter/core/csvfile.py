"""Reading the CSV files admins import (units, routing rules, regions)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from flask import Request

from hazard_reporter.errors import ValidationFailed

_SAVE_AS_UTF8 = "save it as CSV UTF-8 (Excel: 另存为 → CSV UTF-8 (逗号分隔))"


def csv_text(data: bytes) -> str:
    """The text of a CSV file: UTF-8, with or without a byte-order mark. Anything else raises
    ValidationFailed saying how to save it (Excel on Chinese Windows writes GBK by default, which
    read as UTF-8 would store every name garbled)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationFailed(field="csv", detail=f"the file is UTF-16; {_SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidationFailed(
            field="csv", detail=f"line {line}: not UTF-8 text (GBK?); {_SAVE_AS_UTF8}"
        ) from None


def csv_body(request: Request) -> str:
    """The CSV an import request carries: its body (``text/csv``), or the one file of a form
    (``curl -F file=@units.csv``)."""
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if len(files) != 1:
            raise ValidationFailed(
                field="csv",
                detail=f"a form must carry exactly one file, not {len(files)}; "
                "or send the CSV itself as the body (Content-Type: text/csv)",
            )
        return csv_text(files[0].read())
    return csv_text(request.get_data())


def csv_rows(text: str, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV text whose header names at least ``columns``, each with the line it
    starts on: cells of short rows read as empty, cells beyond the header dropped, rows with
    every cell empty (Excel's trailing ",,,,") skipped. A file without such a header, or text
    that is not CSV, raises ValidationFailed naming its line."""
    if "\x00" in text:  # Python's csv reads it, PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationFailed(field="csv", detail=f"line {line}: NUL character (U+0000)")
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
        raise ValidationFailed(field="csv", detail=f"line {reader.line_num}: {exc}") from None
    if header is None:
        raise ValidationFailed(
            field="csv", detail=f"the file is empty; its first line must be the header {expected}"
        )
    return rows


def _check_header(header: list[str], columns: Sequence[str], line: int, expected: str) -> None:
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        raise ValidationFailed(
            field="csv", detail=f"line {line}: column {twice[0]} is in the header twice"
        )
    missing = [name for name in columns if name not in header]
    if missing:
        raise ValidationFailed(
            field="csv",
            detail=f"line {line}: no column {', '.join(missing)} (the header must be {expected})",
        )
