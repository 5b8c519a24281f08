"""The canonical JSON behind every project version and cache key: the fast path must give
exactly the text ``json.dumps`` gives with the canonical arguments, or every stored version
and cache key would change."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinflow_studio.project.hashing import canonical_json, hash_value


def reference(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_same_text_as_json_dumps(value: object) -> None:
    assert canonical_json(value) == reference(value)
    try:
        expected = hashlib.sha256(reference(value).encode("utf-8")).hexdigest()
    except UnicodeEncodeError:  # a lone surrogate: refused when hashed, on every path
        with pytest.raises(UnicodeEncodeError):
            hash_value(value)
    else:
        assert hash_value(value) == expected


def test_keys_that_are_not_strings_are_written_as_json_dumps_writes_them() -> None:
    for value in ({2: "b", 1: "a"}, {1.5: [math.inf, -0.0, 1e-05, 1e16]}, {True: None}):
        assert canonical_json(value) == reference(value)


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70))
def test_numbers_of_every_size_are_written_as_python_writes_them(x: float, n: int) -> None:
    for value in (x, -x, x * 1e-12, x * 1e12, n, [x, n], {"x": x, "n": n}):
        assert canonical_json(value) == reference(value)


def test_keys_sort_by_code_point_and_odd_text_stays_as_json_dumps_writes_it() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "é": 3, "z": 4, "": 5, "A": [("t", "\x00\x7f\u2028")]}
    assert canonical_json(value) == reference(value)
    lone = {"s": "\ud800"}  # a lone surrogate: written by json, refused when hashed
    assert canonical_json(lone) == reference(lone)
    with pytest.raises(UnicodeEncodeError):
        hash_value(lone)


def test_subclasses_are_written_as_json_dumps_writes_them() -> None:
    from enum import Enum

    class State(str, Enum):
        DONE = "done"

    class Tagged(dict):
        pass

    value = {"state": State.DONE, "d": Tagged(b=1, a=True)}
    assert canonical_json(value) == reference(value)


def test_a_cycle_is_refused_with_a_value_error() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="Circular reference"):
        canonical_json({"a": cycle})


def test_an_object_json_cannot_encode_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        hash_value({"a": {1, 2}})
