"""Field checks shared by every record format.

The rules (from the issues that asked for them): a record is bad when a field is missing or
not a string, when both responses are empty, when chosen is identical to rejected, or when
its JSON is broken. One empty response is valid: silent refusals exist in the data (4
hh-rlhf pairs). Chat messages must be dicts with string ``role`` and ``content``, and the role
one of :data:`~rewardkit.data.records.CHAT_ROLES` (``system``, ``user``, ``assistant``): an
unknown or empty role is refused, not rendered as a made-up speaker (``"Wizard: …"``) or
passed to a chat template that rejects it. A margin, weight or ranking score must be a finite
number (a 401-digit integer is not: it has no float).

Whatever a record's format, :func:`check_values` refuses (naming the field) values no reader
should pass on: lists or objects nested deeper than :data:`MAX_NESTING` levels (Python's
recursion would give out further on), text holding a lone surrogate (a JSON ``"\\ud800"``
escape; text that cannot be encoded as UTF-8 cannot be tokenized or hashed), and integers
longer than Python converts (:class:`OversizedInteger`).

The helpers raise :class:`RecordProblem`, which knows the field but not the place; the
reader adds ``file:line`` and either raises :class:`~rewardkit.errors.BadRecordError` or
counts the record as skipped.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from rewardkit.data.records import CHAT_ROLES, Message, Prompt

MISSING = object()

MAX_NESTING = 100
"""Levels of lists and objects one record may nest, the record itself being level 1: chat
messages need 3, and deeper values would reach Python's recursion limit in ``json``."""

_SURROGATE = re.compile("[\ud800-\udfff]")


class RecordProblem(Exception):
    """Why one record cannot be used.

    Args:
        problem: what is wrong, short and free of record values (it is also the skip reason).
        field: the record field involved, if any.
        hint: how to fix it, if there is more to say than "fix the record".
    """

    def __init__(self, problem: str, *, field: str | None = None, hint: str | None = None):
        self.problem = problem
        self.field = field
        self.hint = hint
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """``field 'x': problem``: the text that skipped records are counted by."""
        return f"field '{self.field}': {self.problem}" if self.field else self.problem


class OversizedInteger:
    """Stands in for a JSON integer with more digits than Python converts to ``int``
    (``sys.get_int_max_str_digits()``, 4300 by default), so that one record is refused
    (by :func:`check_values`) instead of the whole file."""

    def __init__(self, digits: int):
        self.digits = digits


def type_name(value: Any) -> str:
    if isinstance(value, OversizedInteger):
        return "int"
    return "null" if value is None else type(value).__name__


def escaped(text: str, limit: int = 40) -> str:
    """``text`` fit for a one-line message: control characters, line separators and lone
    surrogates written as JSON escapes, cut to ``limit`` characters."""
    shown = json.dumps(text[:limit])[1:-1]
    return shown + "…" if len(text) > limit else shown


def is_unicode_text(text: str) -> bool:
    """False when ``text`` holds a lone surrogate, i.e. cannot be encoded as UTF-8."""
    return text.isascii() or _SURROGATE.search(text) is None


def check_values(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` unchanged, or :class:`RecordProblem` naming the top-level field whose value
    nests deeper than :data:`MAX_NESTING`, holds a lone surrogate, or holds an
    :class:`OversizedInteger`."""
    for key, value in record.items():
        if isinstance(key, str) and not is_unicode_text(key):
            problem: RecordProblem | None = _lone_surrogate()
        else:
            problem = _value_problem(value)
        if problem is not None:
            raise RecordProblem(problem.problem, field=escaped(str(key)), hint=problem.hint)
    return record


def too_deep(field: str | None = None) -> RecordProblem:
    """The problem of a value nested deeper than :data:`MAX_NESTING` levels."""
    return RecordProblem(
        f"nests lists or objects deeper than {MAX_NESTING} levels",
        field=field,
        hint="a record needs only a few levels; chat messages need 3",
    )


def _lone_surrogate() -> RecordProblem:
    return RecordProblem(
        "holds a lone surrogate, which is not valid Unicode",
        hint="such text cannot be encoded as UTF-8, tokenized or hashed; remove its "
        "\\ud800-\\udfff escape or complete the surrogate pair",
    )


def _value_problem(value: Any) -> RecordProblem | None:
    """The problem of the first bad value inside ``value`` (a field of a record, so at level
    2), or None. Iterative, so that the check itself cannot recurse too deep; strings are
    checked as they are met, only containers are stacked (most fields are plain text)."""
    stack = [(value, 2)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not is_unicode_text(value):
                return _lone_surrogate()
        elif isinstance(value, OversizedInteger):
            return RecordProblem(
                f"holds an integer of {value.digits} digits, more than the "
                f"{sys.get_int_max_str_digits()} Python reads",
                hint="write such a number as a string",
            )
        elif isinstance(value, (list, tuple, dict)):
            if depth > MAX_NESTING:
                return too_deep()
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, str):
                    if not is_unicode_text(child):
                        return _lone_surrogate()
                elif isinstance(child, (list, tuple, dict, OversizedInteger)):
                    stack.append((child, depth + 1))
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)  # keys are text
    return None


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the largest float (about 1.8e308)
        return None
    return number if math.isfinite(number) else None


def number_kind(value: Any) -> str:
    """What a value that is not a finite number is, for "(got …)" in a message."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "an integer too large for a float"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else "an infinite number"
    return type_name(value)


def get_field(record: dict[str, Any], field: str) -> Any:
    """The value of a required field; ``None`` counts as missing."""
    value = record.get(field, MISSING)
    if value is MISSING or value is None:
        raise RecordProblem("is missing", field=field)
    return value


def require_text(record: dict[str, Any], field: str) -> str:
    value = get_field(record, field)
    if not isinstance(value, str):
        raise RecordProblem(f"is not a string (got {type_name(value)})", field=field)
    return value


def check_messages(value: Any, field: str) -> list[Message]:
    """A non-empty list of ``{"role": str, "content": str}`` dicts, returned unchanged."""
    if not isinstance(value, list) or not value:
        raise RecordProblem("is not a non-empty list of chat messages", field=field)
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise RecordProblem(
                f"message {i} is not a dict (got {type_name(message)})",
                field=field,
                hint='write each message as {"role": ..., "content": ...}',
            )
        for key in ("role", "content"):
            if not isinstance(message.get(key), str):
                raise RecordProblem(
                    f"message {i} has no string '{key}'",
                    field=field,
                    hint='write each message as {"role": ..., "content": ...}',
                )
        for key, extra in message.items():
            if not _is_json_value(extra):
                raise RecordProblem(
                    f"message {i} holds a {type_name(extra)} under '{escaped(str(key))}'",
                    field=field,
                    hint="messages hold text, numbers, lists and dicts only (as in JSON); "
                    "drop that key or write it as text",
                )
        if message["role"] not in CHAT_ROLES:
            empty = not message["role"].strip()
            raise RecordProblem(
                f"message {i} has {'an empty' if empty else 'an unknown'} role",
                field=field,
                hint=("" if empty else f'got "{escaped(message["role"])}"; ')
                + f"use {', '.join(CHAT_ROLES[:-1])} or {CHAT_ROLES[-1]}, in lowercase",
            )
    return value


def _is_json_value(value: Any) -> bool:
    """Whether ``value`` is made of JSON's types only (prompts are hashed as JSON), as a
    parquet file's bytes or timestamps are not."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not (item is None or isinstance(item, (str, bool, int, float))):
            return False
    return True


def require_prompt(record: dict[str, Any], field: str = "prompt") -> Prompt:
    """Prompt text, or chat messages."""
    value = get_field(record, field)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return check_messages(value, field)
    raise RecordProblem(
        f"is not a string or a list of messages (got {type_name(value)})", field=field
    )


def optional_number(record: dict[str, Any], field: str, default: float) -> float:
    value = record.get(field)
    if value is None:
        return default
    number = finite_number(value)
    if number is None:
        raise RecordProblem(f"is not a finite number (got {number_kind(value)})", field=field)
    return number


def optional_weight(record: dict[str, Any]) -> float:
    weight = optional_number(record, "weight", 1.0)
    if weight < 0:
        raise RecordProblem("is negative", field="weight", hint="use a weight >= 0")
    return weight


def optional_label(record: dict[str, Any]) -> float | None:
    """A soft label P(chosen ≻ rejected), a number in [0, 1], or None when absent."""
    if record.get("label") is None:
        return None
    label = optional_number(record, "label", 1.0)
    if not 0.0 <= label <= 1.0:
        raise RecordProblem(
            f"is {label}, outside [0, 1]",
            field="label",
            hint="label is P(chosen ≻ rejected), a probability",
        )
    return label


def optional_bool(record: dict[str, Any], field: str) -> bool:
    value = record.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RecordProblem(f"is not true/false (got {type_name(value)})", field=field)
    return value


def optional_text(record: dict[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is None or isinstance(value, str):
        return value
    raise RecordProblem(f"is not a string (got {type_name(value)})", field=field)


def optional_id(record: dict[str, Any], field: str = "id") -> str | None:
    """Ids may be strings or integers; they are kept as strings."""
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordProblem(f"is not a string or integer (got {type_name(value)})", field=field)
    return str(value)


def check_responses(
    chosen: str, rejected: str, *, fields: tuple[str, str] = ("chosen", "rejected")
) -> None:
    """Both empty, or identical, is bad; one empty response (a silent refusal) is fine."""
    if not chosen.strip() and not rejected.strip():
        raise RecordProblem(
            f"both responses ('{fields[0]}' and '{fields[1]}') are empty",
            hint="at most one response may be empty",
        )
    if chosen == rejected:
        raise RecordProblem(
            f"'{fields[0]}' is identical to '{fields[1]}'",
            hint="a pair needs two different responses",
        )
