"""Reading the CSV files admins import (units, routing rules, regions)."""

from __future__ import annotations

import csv
import io

from hazard_reporter.errors import ValidationFailed


def csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV body (cells of short rows read as empty, cells beyond the header
    dropped); text that is not CSV raises ValidationFailed naming its line."""
    if "\x00" in text:  # Python's csv reads it, PostgreSQL cannot store it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValidationFailed(field="csv", detail=f"line {line}: NUL character (U+0000)")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows = []
    try:
        for row in reader:
            rows.append({key: value or "" for key, value in row.items() if key is not None})
    except csv.Error as exc:
        raise ValidationFailed(field="csv", detail=f"line {reader.line_num}: {exc}") from None
    return rows
