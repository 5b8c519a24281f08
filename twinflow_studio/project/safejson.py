"""Reading a `.twin` file that may be hostile: bounded, regular files only, plain JSON only.

A project that was merely opened is untrusted input. Whatever it holds, reading it ends in a
``Project`` or in one ``TwinFileError`` naming the file and the JSON path of the fault: never
a traceback, a hang (a FIFO, ``/dev/zero``), unbounded memory, or a value that crashes a
later step (NaN, infinities, integers beyond 64 bits, lone surrogates, NUL characters, nesting
deep enough to exhaust the interpreter's stack in a later recursive walk).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from typing import Any

from twinflow_studio.project.errors import TwinFileError

MAX_FILE_BYTES = 64 * 1024 * 1024
# Real projects nest a handful of levels (params holding priors, layout holding groups).
MAX_DEPTH = 64
# Integers a JSON reader elsewhere (orjson, Gremlin, a database) still holds exactly enough.
MAX_INT = 2**63 - 1


_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class _Refused:
    """Stands in for a JSON token refused while parsing, until its path is known."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def read_bounded(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them."""
    file = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise TwinFileError(file, "no such file") from None
    except IsADirectoryError:
        raise TwinFileError(file, "is a folder, not a .twin file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise TwinFileError(file, f"cannot be read: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise TwinFileError(file, "is a folder, not a .twin file")
        if not stat.S_ISREG(info.st_mode):
            raise TwinFileError(file, f"is not a regular file (it is a {_file_type(info.st_mode)})")
        if info.st_size > limit:
            raise TwinFileError(
                file, f"is {info.st_size} bytes; a .twin file holds at most {limit}"
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # the file grew while being read
            raise TwinFileError(file, f"holds more than {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise TwinFileError(file, f"cannot be read: {_reason(exc)}") from None
    finally:
        os.close(fd)


def parse(text: str, file: str) -> Any:
    """``json.loads`` that refuses what JSON does not allow or our layers cannot hold,
    naming the JSON path of the first such value."""
    try:
        # Numbers are left to the C parser (fast); out-of-range ones are found by the walk.
        doc = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise TwinFileError(
            file, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise TwinFileError(file, f"is nested too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError:
        # Python refuses to build an int from over 4300 digits; parse again, slowly, to
        # name where (only a broken file takes this path).
        doc = _parse_checking_integers(text, file)
    # Lone surrogates and NUL can only come from \u escapes in text decoded from UTF-8:
    # without one, no string needs a look.
    problem = find_problem(doc, check_strings=_SUSPECT_ESCAPE.search(text) is not None)
    if problem is not None:
        raise TwinFileError(file, problem)
    return doc


def _parse_checking_integers(text: str, file: str) -> Any:
    try:
        return json.loads(text, parse_constant=_constant, parse_int=_int)
    except (ValueError, RecursionError) as exc:
        raise TwinFileError(file, f"is not valid JSON: {exc}") from None


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def find_problem(doc: Any, check_strings: bool = True) -> str | None:
    """``"<json path>: <what is wrong>"`` for the first value a project may not hold."""
    # Containers wait on a stack with their trail (parent trail, key): a path is only spelled
    # on failure. Scalars are checked in place, which keeps the walk cheap for big projects.
    stack: list[tuple[Any, Any, int]] = []
    reason = _scalar_problem(doc, check_strings)
    if reason:
        return f"(top level): {reason}"
    if type(doc) is dict or type(doc) is list:
        stack.append((doc, None, 0))
    pop, push = stack.pop, stack.append
    while stack:
        value, trail, depth = pop()
        if depth >= MAX_DEPTH and value:
            return f"{_spell(trail)}: nested more than {MAX_DEPTH} levels deep"
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            if check_strings and type(key) is str:
                key_problem = string_problem(key)
                if key_problem:
                    return f"{_spell(trail)}: a key {key_problem}"
            kind = type(item)
            if kind is dict or kind is list:
                push((item, (trail, key), depth + 1))
            elif not (kind is str and not check_strings or kind is bool or item is None):
                reason = _scalar_problem(item, check_strings)
                if reason:
                    return f"{_spell((trail, key))}: {reason}"
    return None


def _scalar_problem(value: Any, check_strings: bool) -> str | None:
    kind = type(value)
    if kind is str:
        return string_problem(value) if check_strings else None
    if kind is float:
        return None if math.isfinite(value) else f"a number out of range ({value})"
    if kind is int:
        return None if -MAX_INT <= value <= MAX_INT else _too_big(value)
    if kind is _Refused:
        return value.reason
    return None


def _spell(trail: Any) -> str:
    keys: list[str | int] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = ""
    for key in reversed(keys):
        if isinstance(key, int):
            path += f"[{key}]"
        elif key.isidentifier():
            path += f".{key}" if path else key
        else:
            path += f"[{json.dumps(key, ensure_ascii=True)[:60]}]"
    return path or "(top level)"


def _too_big(value: int) -> str:
    return f"an integer of {len(str(abs(value)))} digits is out of range (at most 64 bits)"


def string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not text"
    return None


def _int(token: str) -> int | _Refused:
    # Checked on the text: Python refuses to even build an int from over 4300 digits.
    if len(token.lstrip("-")) > 19 or abs(value := int(token)) > MAX_INT:
        shown = token if len(token) <= 40 else f"{token[:20]}... ({len(token)} digits)"
        return _Refused(f"the integer {shown} is out of range (at most 64 bits)")
    return value


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
