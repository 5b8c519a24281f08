"""Translate gremlinpython Bytecode into graphersal's script dialect.

gremlinpython's own ``Translator`` writes Groovy (single-quoted strings, ``[k: v]`` maps, ``1L``);
graphersal scripts want double-quoted strings, ``#{"k": v}`` maps, ``"T.id"`` keys in merge maps
and an explicit terminal (``.to_list()`` / ``.iterate()``). Only what Neptune also accepts is
translated: lambdas, bindings (script parameters) and strategy objects are refused with a message
naming the offending step, so a traversal that runs embedded also runs on the servers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from gremlin_python.process.traversal import Binding, Bytecode, P, TextP
from gremlin_python.structure.graph import Edge, Vertex, VertexProperty

from twinflow_studio.project.errors import TwinFlowError

# gremlinpython spells a few tokens with a trailing underscore to dodge Python keywords.
_ENUM_MEMBER_NAMES = {
    "list_": "list",
    "set_": "set",
    "global_": "global",
    "all_": "all",
    "any_": "any",
    "id_": "id",
    "on_create": "onCreate",
    "on_match": "onMatch",
    "out_v": "outV",
    "in_v": "inV",
}
_MAX_ARGS = 10
_STATEMENT_STARTS = frozenset({"V", "E", "addV", "addE", "mergeV", "mergeE", "inject"})


class TranslationError(TwinFlowError, ValueError):
    """A traversal uses something graphersal (or Neptune) cannot run from a script."""


# graphersal's script strings know the escapes \n \r \t \" \\ \uXXXX \UXXXXXXXX \xXX but
# not JSON's \b and \f (nor \/, which ``json.dumps`` never writes): a backspace or form feed
# written the JSON way made graphersal refuse the whole statement. Pairs are matched left to
# right so an escaped backslash followed by "b" is left alone.
_JSON_ONLY_ESCAPES = re.compile(r"\\([\\bf])")
_SCRIPT_ESCAPES = {"\\": "\\\\", "b": "\\u0008", "f": "\\u000c"}


def script_literal(value: Any) -> str:
    """``value`` (a string, or a list/map of strings and numbers) as graphersal script text.

    JSON text, except that the two JSON escapes graphersal does not read become ``\\uXXXX``.
    Every code point round-trips except lone surrogates, which no UTF-8 layer carries
    (the lineage schema escapes them before they get here: ``schema.store_text``)."""
    text = json.dumps(value, ensure_ascii=False)
    if "\\b" in text or "\\f" in text:
        text = _JSON_ONLY_ESCAPES.sub(lambda m: _SCRIPT_ESCAPES[m.group(1)], text)
    return text


def translate(bytecode: Bytecode) -> tuple[str, bool]:
    """The script for ``bytecode`` and whether it only runs for its side effects.

    A traversal ending in ``discard`` (what ``iterate()`` appends) becomes ``.iterate()``;
    anything else ends in ``.to_list()``. The batch shape ``g.inject(x).sideEffect(__.V()..)...``
    (every child starting a new traversal) becomes one statement per child, since graphersal
    limits how deeply one expression may nest and the statements mean the same thing.
    """
    steps = list(bytecode.step_instructions)
    side_effect_only = bool(steps) and steps[-1][0] == "discard" and len(steps[-1]) == 1
    if side_effect_only:
        steps = steps[:-1]
    source = _source(bytecode.source_instructions)
    if side_effect_only and _is_batch(steps):
        statements = [
            f"{source}{_steps(child.step_instructions)}.iterate();" for _, child in steps[1:]
        ]
        return "\n".join(statements), True
    terminal = ".iterate()" if side_effect_only else ".to_list()"
    return f"{source}{_steps(steps)}{terminal}", side_effect_only


def statement(child: Bytecode) -> str:
    """A child traversal that starts a traversal of its own (``__.mergeV(..)``) as a script
    statement run for its side effects."""
    return f"g{_steps(child.step_instructions)}.iterate();"


def _is_batch(steps: Sequence[Sequence[Any]]) -> bool:
    if len(steps) < 2 or steps[0][0] != "inject" or len(steps[0]) != 2:
        return False
    for step in steps[1:]:
        if step[0] != "sideEffect" or len(step) != 2 or not isinstance(step[1], Bytecode):
            return False
        child = step[1]
        if child.source_instructions or not child.step_instructions:
            return False
        if child.step_instructions[0][0] not in _STATEMENT_STARTS:
            return False
    return True


def _source(instructions: Iterable[Sequence[Any]]) -> str:
    text = "g"
    for name, *args in instructions:
        if name == "with":
            text += f".with({_args(args, 'with')})"
        else:
            raise TranslationError(
                f"source step '{name}' is not supported by the embedded backend "
                "(only g.with(key, value) is; strategies run server-side only)"
            )
    return text


def _steps(instructions: Iterable[Sequence[Any]]) -> str:
    parts = []
    for name, *args in instructions:
        if len(args) > _MAX_ARGS and all(_is_plain(arg) for arg in args):
            # Script functions take at most ten arguments; the variadic id/label/key steps
            # (V, E, out, hasLabel, values...) take one list instead.
            parts.append(f".{name}({_value(list(args), name)})")
        else:
            parts.append(f".{name}({_args(args, name)})")
    return "".join(parts)


def _is_plain(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool | Enum)


def _args(args: Sequence[Any], step: str) -> str:
    return ", ".join(_value(arg, step) for arg in args)


def _value(value: Any, step: str) -> str:
    if value is None:
        return "()"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _enum(value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TranslationError(f"step '{step}': {value!r} cannot be written in a script")
        return repr(value)
    if isinstance(value, str):
        return script_literal(value)
    if isinstance(value, Bytecode):
        return _child(value, step)
    if isinstance(value, TextP):
        return _predicate(value, "TextP", step)
    if isinstance(value, P):
        return _predicate(value, "P", step)
    if isinstance(value, dict):
        items = ", ".join(f"{_key(k, step)}: {_value(v, step)}" for k, v in value.items())
        return "#{" + items + "}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(_value(v, step) for v in value) + "]"
    if isinstance(value, Vertex | Edge | VertexProperty):
        return _value(value.id, step)
    if isinstance(value, Binding):
        raise TranslationError(
            f"step '{step}': bindings (script parameters) are not allowed; Neptune has none"
        )
    if callable(value):
        raise TranslationError(f"step '{step}': lambdas are not allowed (Neptune refuses them)")
    raise TranslationError(f"step '{step}': cannot translate a {type(value).__name__} value")


def _enum(value: Enum) -> str:
    member = _ENUM_MEMBER_NAMES.get(value.name, value.name)
    return f"{type(value).__name__}.{member}"


def _key(key: Any, step: str) -> str:
    # Merge maps name T.id / T.label / Direction.OUT as quoted token names in graphersal.
    if isinstance(key, Enum):
        return json.dumps(_enum(key))
    if isinstance(key, str):
        return script_literal(key)
    raise TranslationError(f"step '{step}': map keys must be strings or tokens, not {key!r}")


def _child(bytecode: Bytecode, step: str) -> str:
    sources = bytecode.source_instructions
    if sources and sources[0][0] == "CardinalityValueTraversal":
        cardinality, inner = sources[0][1], sources[0][2]
        return f"{_enum(cardinality)}({_value(inner, step)})"
    if sources:
        raise TranslationError(f"step '{step}': child traversals cannot have source steps")
    return "__" + _steps(bytecode.step_instructions)


def _predicate(predicate: P, kind: str, step: str) -> str:
    if predicate.operator in ("and", "or") and isinstance(predicate.value, P):
        left = _value(predicate.value, step)
        right = _value(predicate.other, step)
        return f"{left}.{predicate.operator}({right})"
    if predicate.operator in ("within", "without"):
        values = predicate.value
        if not isinstance(values, list | tuple | set):
            values = [values]
        return f"{kind}.{predicate.operator}({_value(list(values), step)})"
    if predicate.other is None:
        return f"{kind}.{predicate.operator}({_value(predicate.value, step)})"
    return (
        f"{kind}.{predicate.operator}({_value(predicate.value, step)}, "
        f"{_value(predicate.other, step)})"
    )
