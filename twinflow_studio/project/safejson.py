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
import stat
from typing import Any

from twinflow_studio.project.errors import TwinFileError

MAX_FILE_BYTES = 64 * 1024 * 1024
# Real projects nest a handful of levels (params holding priors, layout holding groups).
MAX_DEPTH = 64
# Integers a JSON reader elsewhere (orjson, Gremlin, a database) still holds exactly enough.
MAX_INT = 2**63 - 1


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
        doc = json.loads(
            text,
            parse_constant=lambda name: _Refused(f"{name} is not a JSON number"),
            parse_float=_float,
            parse_int=_int,
        )
    except json.JSONDecodeError as exc:
        raise TwinFileError(
            file, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise TwinFileError(file, f"is nested too deeply (at most {MAX_DEPTH} levels)") from None
    problem = find_problem(doc)
    if problem is not None:
        raise TwinFileError(file, problem)
    return doc


def find_problem(doc: Any) -> str | None:
    """``"<json path>: <what is wrong>"`` for the first value a project may not hold."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{path or '(top level)'}: nested more than {MAX_DEPTH} levels deep"
        if isinstance(value, str):
            reason = string_problem(value)
            if reason:
                return f"{path or '(top level)'}: {reason}"
        elif isinstance(value, _Refused):
            return f"{path or '(top level)'}: {value.reason}"
        elif isinstance(value, dict):
            for key, item in value.items():
                reason = string_problem(key)
                if reason:
                    return f"{path or '(top level)'}: a key {reason}"
                stack.append((item, _join(path, key), depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((item, f"{path}[{i}]", depth + 1))
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{path or '(top level)'}: {value} is not a finite number"
    return None


def string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not text"
    return None


def _float(token: str) -> float | _Refused:
    value = float(token)
    if not math.isfinite(value):
        return _Refused(f"{token[:40]} is out of the range of a number")
    return value


def _int(token: str) -> int | _Refused:
    # Checked on the text: Python refuses to even build an int from over 4300 digits.
    if len(token.lstrip("-")) > 19 or abs(value := int(token)) > MAX_INT:
        shown = token if len(token) <= 40 else f"{token[:20]}... ({len(token)} digits)"
        return _Refused(f"the integer {shown} is out of range (at most 64 bits)")
    return value


def _join(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=True)[:60]}]"


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
