"""Field checks shared by every record format.

The rules (from the issue that asked for them): a record is bad when a field is missing or
not a string, when both responses are empty, when chosen is identical to rejected, or when
its JSON is broken. One empty response is valid: silent refusals exist in the data (4
hh-rlhf pairs). Chat messages must be dicts with string ``role`` and ``content``; a margin or
weight must be a finite number.

The helpers raise :class:`RecordProblem`, which knows the field but not the place; the
reader adds ``file:line`` and either raises :class:`~rewardkit.errors.BadRecordError` or
counts the record as skipped.
"""

from __future__ import annotations

import math
from typing import Any

from rewardkit.data.records import Message, Prompt

MISSING = object()


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


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


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
    return value


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordProblem(f"is not a finite number (got {type_name(value)})", field=field)
    return float(value)


def optional_weight(record: dict[str, Any]) -> float:
    weight = optional_number(record, "weight", 1.0)
    if weight < 0:
        raise RecordProblem("is negative", field="weight", hint="use a weight >= 0")
    return weight


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
