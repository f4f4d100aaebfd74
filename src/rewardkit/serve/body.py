"""Reading a request body as JSON, so that every way a body can be wrong is a JSON 4xx.

Each check runs before anything that could fail worse on the input:

=====================  ======================================================================
the body               answer
=====================  ======================================================================
a non-JSON             415 ``unsupported_media_type`` (no ``Content-Type`` is read as JSON)
``Content-Type``
over the size limit    413 ``body_too_large``, from ``Content-Length`` or while streaming
nested deeper than     422 ``too_deep``, counted on the raw bytes *before* parsing:
``MAX_DEPTH``          ``json.loads`` recurses once per level and raises ``RecursionError``
                       near Python's recursion limit (a 500 if let through)
not UTF-8, not JSON,   422 ``invalid_json`` (RFC 8259: JSON between systems is UTF-8, and
NaN / Infinity         ``NaN`` is not JSON)
an integer Python      422 ``number_too_long``: ``int()`` refuses more than
cannot read            ``sys.get_int_max_str_digits()`` digits (4300) with a ``ValueError``
                       that is not a ``JSONDecodeError``
a lone surrogate       422 ``invalid_unicode`` naming the field: ``"\\ud800"`` is valid JSON
                       but not Unicode text; a tokenizer or the JSON encoder of the response
                       would fail on it later
=====================  ======================================================================
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
from fastapi import Request

from rewardkit.serve.schemas import RequestError, field_path

MAX_DEPTH = 64  # a valid request nests 5 levels ({"items": [{"prompt": [{"role"}]}]})

# A JSON string, or the unterminated rest of one: it cannot fail to match once it has its
# opening quote, so removing strings is linear whatever the body holds.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 opens, -1 (int8) closes
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHUNK = 1 << 20


class _NumberTooLong(ValueError):
    def __init__(self, digits: int):
        super().__init__(digits)
        self.digits = digits


async def read_json(request: Request, limit: int) -> Any:
    """The request's body parsed as JSON, or a :class:`RequestError`."""
    check_content_type(request.headers.get("content-type"))
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > limit:
        raise body_too_large(limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


def check_content_type(content_type: str | None) -> None:
    """JSON (``application/json``, ``application/*+json``) or no ``Content-Type`` at all."""
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    shown = media[:60] or "(empty)"
    raise RequestError(
        415,
        "unsupported_media_type",
        f"Content-Type {shown} is not JSON; send 'Content-Type: application/json' "
        "(curl: -H 'Content-Type: application/json')",
    )


def parse_json(body: bytes) -> Any:
    """``body`` as JSON, refusing deep nesting, non-UTF-8, NaN, unreadable integers and lone
    surrogates with a 422."""
    if nesting_depth(body) > MAX_DEPTH:
        raise RequestError(
            422,
            "too_deep",
            f"the body nests deeper than {MAX_DEPTH} levels of lists and objects; "
            "a request needs 5",
        )
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_int=_read_int, parse_constant=_refuse_constant)
    except _NumberTooLong as exc:
        raise RequestError(
            422,
            "number_too_long",
            f"a number in the body has {exc.digits} digits, more than Python reads; "
            "send it as a string",
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise RequestError(
            422, "invalid_json", f"the body is not valid JSON ({_why(exc)})"
        ) from None
    if _SURROGATE_ESCAPE.search(text):  # only an escape can make a lone surrogate
        field = lone_surrogate_field(data)
        if field is not None:
            where = f"'{field}'" if field else "the body"
            raise RequestError(
                422,
                "invalid_unicode",
                f"{where} holds a lone surrogate (an unpaired \\ud800-\\udfff escape), "
                "which is not Unicode text; send valid UTF-8",
                field or None,
            )
    return data


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (for JSON that is valid, its
    depth; for broken JSON a number that is never too small). Vectorized: a body of many
    megabytes costs milliseconds, and nothing recurses."""
    steps = np.frombuffer(_STRING.sub(b"", body).translate(_BRACKET_STEPS, _NOT_BRACKETS), np.int8)
    deepest = level = 0
    for start in range(0, len(steps), _CHUNK):
        levels = level + np.cumsum(steps[start : start + _CHUNK], dtype=np.int64)
        deepest, level = max(deepest, int(levels.max())), int(levels[-1])
    return deepest


def lone_surrogate_field(data: Any) -> str | None:
    """The path (``query[1]``; ``""`` for the body itself) of a string or key that holds a
    lone surrogate, or None. A key is reported by the object that holds it. Iterative: the
    depth was checked, but nothing here needs to recurse."""
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return field_path(path) or ""
        elif isinstance(value, list):
            stack.extend((item, path + (i,)) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return field_path(path) or ""
                stack.append((item, path + (key,)))
    return None


def body_too_large(limit: int) -> RequestError:
    return RequestError(
        413,
        "body_too_large",
        f"the body is over {limit} bytes (--max-items × --max-chars); split the request",
    )


def _read_int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # over sys.get_int_max_str_digits()
        raise _NumberTooLong(len(digits.lstrip("-"))) from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _why(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return str(exc)
