"""Reading a request body: nesting depth counted before parsing, every bad body a RequestError."""

import json
import time

import pytest

from rewardkit.serve.body import (
    MAX_DEPTH,
    check_content_type,
    lone_surrogate_field,
    nesting_depth,
    parse_json,
)
from rewardkit.serve.schemas import RequestError


@pytest.mark.parametrize(
    "body",
    [
        b"1",
        b"[]",
        b'{"query": ["a", "b"]}',
        b'{"items": [{"prompt": [{"role": "user"}]}]}',
        b'["[[[[", "{{{{"]',  # brackets inside strings do not count
        b'["a \\" [[[", "\\\\", [[]]]',  # an escaped quote does not end its string
    ],
)
def test_nesting_depth_of_json_is_its_depth(body):
    assert nesting_depth(body) == _depth_of(json.loads(body))


@pytest.mark.parametrize(
    "body, depth",
    [
        (b"[[]][[[]]]", 3),  # the deepest point, not the number of opens
        (b'["unterminated [[[[', 1),  # the rest of an unterminated string is a string
        (b"]][[[", 1),  # json.loads stops at a stray close: only the valid prefix matters
    ],
)
def test_nesting_depth_of_broken_json(body, depth):
    assert nesting_depth(body) == depth


def _depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth_of, value), default=0)
    return 0


def test_nesting_depth_is_linear_on_hostile_bodies():
    """Two megabytes of escaped quotes in an unterminated string, and two megabytes of
    brackets: each counted in well under a second (a backtracking scan would take minutes)."""
    for body in (b'"' + b'\\"' * 1_000_000, b"[]" * 1_000_000 + b"[" * 100):
        started = time.perf_counter()
        nesting_depth(body)
        assert time.perf_counter() - started < 1.0


def error_of(body: bytes) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse_json(body)
    return caught.value


def test_deep_nesting_refused_before_parsing():
    """5,000 levels would make json.loads raise RecursionError; MAX_DEPTH + 1 is refused,
    MAX_DEPTH parses."""
    error = error_of(b"[" * 5000 + b"]" * 5000)
    assert (error.status, error.code) == (422, "too_deep")
    assert error_of(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)).code == "too_deep"
    assert _depth_of(parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)) == MAX_DEPTH


def test_huge_integer_is_422_not_a_value_error():
    """Python refuses to read an int of more than 4,300 digits (a ValueError that is not a
    JSONDecodeError); 4,300 digits still parse."""
    error = error_of(b'{"labels": [' + b"7" * 5001 + b"]}")
    assert (error.status, error.code) == (422, "number_too_long")
    assert "5001 digits" in error.message
    assert parse_json(b"[-" + b"7" * 4300 + b"]")[0] < 0


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"NaN", "NaN is not JSON"),
        (b'{"a": -Infinity}', "-Infinity is not JSON"),
        (b'"\xed\xa0\x80"', "not UTF-8"),  # a surrogate encoded in UTF-8 bytes
        (b"\xef\xbb\xbf{}", "BOM"),
        (b'{"a": 1', "Expecting"),
    ],
)
def test_not_json(body, reason):
    error = error_of(body)
    assert (error.status, error.code) == (422, "invalid_json")
    assert reason in error.message


@pytest.mark.parametrize(
    "body, field",
    [
        (rb'{"query": ["ok", "a \ud800"]}', "query[1]"),
        (rb'{"prompt": [{"role": "user", "content": "\uDFFF"}]}', "prompt[0].content"),
        (rb'{"items": [{"\udc00": 1}]}', "items[0]"),  # a key is named by its object
        (rb'"\ud800"', None),
    ],
)
def test_lone_surrogate_names_its_field(body, field):
    error = error_of(body)
    assert (error.status, error.code, error.field) == (422, "invalid_unicode", field)


def test_surrogate_pairs_are_text():
    """An escaped pair is one character (JSON's way to write U+1F600), not a lone surrogate."""
    assert parse_json(rb'{"query": ["\ud83d\ude00", "\\ud800"]}') == {
        "query": ["\U0001f600", "\\ud800"]
    }
    assert lone_surrogate_field({"a": ["x", {"b": "\U0001f600"}]}) is None


@pytest.mark.parametrize(
    "content_type, ok",
    [
        (None, True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("", False),
    ],
)
def test_content_type(content_type, ok):
    if ok:
        check_content_type(content_type)
    else:
        with pytest.raises(RequestError) as caught:
            check_content_type(content_type)
        assert (caught.value.status, caught.value.code) == (415, "unsupported_media_type")
