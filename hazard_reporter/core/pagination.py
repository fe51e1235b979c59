"""Opaque id cursors for keyset pagination ("everything after this id")."""

from __future__ import annotations

import base64
import binascii

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
        raise ValidationFailed(field="cursor", detail="无效的分页游标 / invalid cursor") from None
