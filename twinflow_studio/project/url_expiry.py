"""The bounds of a Batch target's ``url_expiry_s`` option, checked by ``--validate`` and
again when the target starts (the engine imports these)."""

from __future__ import annotations

from typing import Any

# A job needs its URLs for at least a minute; SigV4 refuses more than 7 days.
MIN_URL_EXPIRY_S = 60
MAX_URL_EXPIRY_S = 7 * 24 * 3600
DEFAULT_URL_EXPIRY_S = 24 * 3600


def url_expiry_value(raw: Any) -> int | None:
    """The option as whole seconds, or None when it is not acceptable."""
    value = raw
    if isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if MIN_URL_EXPIRY_S <= value <= MAX_URL_EXPIRY_S else None


def url_expiry_problem(raw: Any) -> str:
    return (
        f"must be a whole number of seconds from {MIN_URL_EXPIRY_S} to {MAX_URL_EXPIRY_S} "
        f"(7 days, the longest a presigned URL can live), found {raw!r}"
    )
