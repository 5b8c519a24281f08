"""Which Linux capabilities a container node may ask back after the engine drops them all.

Containers run with ``cap_drop=["ALL"]``; a node that really needs one lists it in its
``cap_add`` parameter. Only capabilities of Docker's own default set are grantable, less
MKNOD (a device node is never a valid output, and a container has no use for one); what
could reach the host (SYS_ADMIN, SYS_MODULE, DAC_READ_SEARCH, NET_ADMIN, ...) never is.
"""

from __future__ import annotations

from typing import Any

GRANTABLE_CAPS = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def cap_add_problems(value: Any) -> list[tuple[str, str]]:
    """(field suffix, reason) for each bad entry of a ``cap_add`` parameter."""
    if value in (None, []):
        return []
    if not isinstance(value, list):
        return [("", f"must be a list of capability names, found {type(value).__name__}")]
    out = []
    for i, item in enumerate(value):
        name = item.upper().removeprefix("CAP_") if isinstance(item, str) else None
        if name not in GRANTABLE_CAPS:
            out.append(
                (
                    f"[{i}]",
                    f"{item!r} cannot be granted (allowed: {', '.join(sorted(GRANTABLE_CAPS))})",
                )
            )
    return out


def normalized_caps(value: Any) -> list[str]:
    """The capability names Docker takes; call after ``cap_add_problems`` found none."""
    return sorted({str(item).upper().removeprefix("CAP_") for item in value or []})
