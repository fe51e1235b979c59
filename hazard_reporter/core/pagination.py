"""Opaque cursors for keyset pagination ("everything after this id", or after this row's sort
key as a JSON list)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hazard_reporter.errors import ValidationFailed


def encode_id_cursor(prefix: str, item_id: int) -> str:
    """An opaque cursor that resumes a listing after ``item_id`` (``prefix`` names the list)."""
    return base64.urlsafe_b64encode(f"{prefix}:{item_id}".encode()).rstrip(b"=").decode()


def decode_id_cursor(prefix: str, cursor: str) -> int:
    """The id inside a cursor of this list; ValidationFailed when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, value = raw.split(":", 1)
        number = int(value)
        # Beyond any id, and beyond what the database can compare.
        if found != prefix or not 0 < number < 2**63:
            raise ValueError
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid() from None


def _invalid() -> ValidationFailed:
    return ValidationFailed(field="cursor", detail="无效的分页游标 / invalid cursor")


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} in a cursor")  # Infinity, NaN: no row's key


def encode_json_cursor(values: list[Any]) -> str:
    """An opaque cursor holding a row's sort key (numbers and strings)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def decode_json_cursor(cursor: str, length: int) -> list[Any]:
    """The ``length`` values of a cursor made by ``encode_json_cursor``; ValidationFailed for
    anything else. Integers beyond what the database can compare are refused, as are floats
    (no sort key here is one), so that a crafted cursor is a 422, never a 500."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw, parse_constant=_no_constant, parse_float=_no_constant)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise _invalid() from None
    if not isinstance(values, list) or len(values) != length:
        raise _invalid()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _invalid()
        if isinstance(value, int) and not -(2**63) < value < 2**63:
            raise _invalid()
    return values
