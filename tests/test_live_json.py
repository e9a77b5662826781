"""sources/live_http.decode_json: orjson's speed with the standard parser's answers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seldon_doctor.sources.live_http import decode_json

INT64 = st.integers(-(2**63), 2**64 - 1)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 and 1.0 are not the same here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_every_value_an_api_server_can_send_reads_as_the_standard_parser_reads_it(
    value: Any, ascii_only: bool, indent: int | None
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    assert _same(decode_json(body), json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN, "b": Infinity}',  # orjson refuses; the standard parser takes them
        b'{"a": 1e400}',
        b'"\\ud800"',  # a lone surrogate
        b'\xef\xbb\xbf{"a": 1}',  # a byte-order mark
        b'{"a": 1, "a": 2}',  # the last duplicate wins in both
        '{"a": "é"}'.encode("utf-16"),
    ],
)
def test_what_orjson_refuses_the_standard_parser_decides(body: bytes) -> None:
    assert repr(decode_json(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", [b'{"items": [1, 2', b"", b"\xff\xfe\x00", b"[" * 5000])
def test_what_neither_takes_fails_as_the_standard_parser_fails(body: bytes) -> None:
    with pytest.raises(Exception) as standard:
        json.loads(body)
    with pytest.raises(type(standard.value)):
        decode_json(body)
