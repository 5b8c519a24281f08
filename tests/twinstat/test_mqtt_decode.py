"""The batch JSON decoder (Arrow's reader) gives the table the per-message decoder (orjson)
gives, for well-formed batches and for every payload that makes the batch fall back."""

from __future__ import annotations

import json
import random

import pytest

from twinflow_studio.twinstat.mqtt_decode import Decoder, Received

PARAMS = {
    "columns": {
        "temp": "reading.t",
        "seq": {"field": "seq", "type": "int"},
        "name": {"field": "name", "type": "str"},
        "ok": {"field": "ok", "type": "bool"},
    },
    "timestamp": "ts",
}


def batch(payloads: list[bytes]) -> list[Received]:
    return [
        Received(i + 1, 1, f"plant/d{i % 3}", p, False, 1_700_000_000_000_000_000 + i)
        for i, p in enumerate(payloads)
    ]


def both(payloads: list[bytes], params: dict = PARAMS):
    fast, slow = Decoder(params), Decoder(params)
    slow._schema = None  # the per-message path only: the reference
    return fast, fast.table(batch(payloads)), slow.table(batch(payloads))


def good(i: int) -> bytes:
    doc = {"seq": i, "reading": {"t": 20 + i / 8}, "name": f"n{i}", "ok": i % 2 == 0, "ts": 1e9 + i}
    return json.dumps(doc).encode()


def test_a_well_formed_batch_takes_the_arrow_path_and_matches() -> None:
    rng = random.Random(7)
    payloads = [good(i) for i in range(200)]
    # Random doubles, epoch milliseconds, a null parent, missing fields, extra fields.
    payloads += [
        json.dumps({"seq": i, "reading": {"t": rng.uniform(-1e6, 1e6)}, "ts": 1.7e12 + i}).encode()
        for i in range(200)
    ]
    payloads += [b'{"reading": null}', b'{"x": [1, {"y": 2}]}', b'{"seq": 5, "reading": {}}']
    payloads += [b'{"name": "\\u00e9t\\u00e9", "ok": false, "reading": {"t": 3}}']
    decoder, fast, slow = both(payloads)
    assert decoder._json_columns(batch(payloads)) is not None
    assert fast.equals(slow)
    assert decoder.bad == 0


@pytest.mark.parametrize(
    "odd",
    [
        b'{"reading": {"t": "21.5"}}',  # a numeric string where a float is mapped
        b'{"seq": 1.5}',  # a float where an int is mapped
        b'{"seq": 2.0}',
        b'{"name": 5}',  # a number where a string is mapped
        b'{"name": 1.50}',
        b'{"name": {"a": 1}}',  # an object where a string is mapped
        b'{"ok": 1}',  # a number where a bool is mapped
        b'{"reading": {"t": true}}',
        b'{"reading": 5}',  # a value where a parent is expected
        b'{"seq": 1, "seq": 2}',  # a repeated key: the last one wins
        b'{"reading": {"t": NaN}}',  # not JSON
        b'{"reading": {"t": Infinity}}',
        b'{"seq": 99999999999999999999}',
        b'{"ts": "2026-01-02T03:04:05Z"}',  # an ISO time
        b'{"ts": true}',
        b'{"ts": 1e300}',
        b'{"seq": 1}{"seq": 2}',  # two objects in one payload
        b"",
        b" ",
        b"[1, 2]",
        b"42",
        b"not json",
        b'{"name": "a\nb"}',  # a line break inside a payload
        b'{"name": "\\ud800"}',  # a lone surrogate
        b'{"name": "\xff"}',  # not UTF-8
        b'  {"seq": 3}',
    ],
)
def test_a_batch_with_an_odd_payload_gives_the_per_message_table(odd: bytes) -> None:
    payloads = [good(1), odd, good(2)]
    decoder, fast, slow = both(payloads)
    # The per-message path may fail on what no path can store (an int beyond int64).
    assert fast.equals(slow)
    assert fast.num_rows == 3


def test_mappings_arrow_cannot_express_use_the_per_message_path() -> None:
    params = {"columns": {"a": "x", "b": "x.y"}}  # x both a value and a parent
    assert Decoder(params)._schema is None
    params = {"columns": {"a": "x", "b": {"field": "x", "type": "int"}}}
    assert Decoder(params)._schema is None
    payloads = [b'{"x": 1}', b'{"x": {"y": 2}}']
    _, fast, slow = both(payloads, {"columns": {"a": "x", "b": "x.y"}})
    assert fast.equals(slow)
