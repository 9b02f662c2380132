"""Type-safe getters and value conversions shared by the parsers. Reads no settings."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

# 9999-12-31: the largest timestamp a datetime (and PostgreSQL) will hold comfortably.
MAX_EPOCH = 253402300799


class BadBody(ValueError):
    """A response body that is not the JSON document that was expected."""


def decode_json(body: bytes) -> Any:
    """Decode a response body, raising :class:`BadBody` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"not JSON: {str(exc)[:80]}") from None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def clean_text(value: Any) -> str | None:
    """A string without NUL characters (PostgreSQL rejects them) or lone surrogates (not
    encodable as UTF-8); None for non-strings."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 2**63:
        return int(value)
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            return None
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def to_utc(value: Any) -> datetime | None:
    """A Unix timestamp (int or float seconds) as an aware UTC datetime."""
    seconds = as_float(value)
    if seconds is None or not 0 <= seconds <= MAX_EPOCH:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_edited(value: Any) -> tuple[bool, datetime | None]:
    """Reddit's ``edited``: false, true, or the edit time as a float."""
    if value is True:
        return True, None
    when = to_utc(value)
    return (when is not None), when


def now_utc() -> datetime:
    return datetime.now(tz=UTC)
