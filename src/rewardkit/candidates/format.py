"""The one candidates format shared by ``sample``, ``bon`` and ``label-pairs``.

One JSON object per line:

=================  ===========================================================================
field              meaning
=================  ===========================================================================
prompt             text, or chat messages ``[{"role", "content"}, ...]`` (required)
responses          list of response texts, at least one (required)
id                 a stable identifier (default: ``file:line``)
other keys         kept as they are (``sample`` writes ``seed`` and ``finish_reasons``;
                   ``bon`` adds ``rewards``, ``ranks``, ...)
=================  ===========================================================================

Bad records stop the read with one line naming ``file:line`` and the field, or are skipped
and counted with ``on_bad_record="skip"``, as :mod:`rewardkit.data.readers` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rewardkit.data.records import Prompt
from rewardkit.data.sources import open_records
from rewardkit.data.validation import (
    RecordProblem,
    get_field,
    optional_id,
    require_prompt,
    type_name,
)
from rewardkit.data.writers import write_jsonl
from rewardkit.errors import BadRecordError, UserError

CORE_FIELDS = ("id", "prompt", "responses")


@dataclass
class CandidateSet:
    """One prompt and its candidate responses; ``where`` is the ``file:line`` it was read at."""

    prompt: Prompt
    responses: list[str]
    id: str
    extra: dict[str, Any] = field(default_factory=dict)
    where: str = ""

    def to_json(self, **more) -> dict[str, Any]:
        return {
            "id": self.id,
            "prompt": self.prompt,
            "responses": self.responses,
            **self.extra,
            **more,
        }


def parse_candidates(record: dict[str, Any], where: str) -> CandidateSet:
    prompt = require_prompt(record)
    responses = get_field(record, "responses")
    if not isinstance(responses, list) or not responses:
        raise RecordProblem(
            f"is not a non-empty list of texts (got {type_name(responses)})", field="responses"
        )
    for i, response in enumerate(responses):
        if not isinstance(response, str):
            raise RecordProblem(
                f"response {i} is not a string (got {type_name(response)})", field="responses"
            )
    ident = optional_id(record) or where
    extra = {k: v for k, v in record.items() if k not in CORE_FIELDS}
    return CandidateSet(prompt, list(responses), ident, extra, where)


def read_candidates(
    path: str | os.PathLike[str],
    *,
    on_bad_record: str = "error",
) -> tuple[list[CandidateSet], list[tuple[str, str]]]:
    """Candidate sets of ``path`` and the ``(where, reason)`` of each skipped record."""
    if on_bad_record not in ("error", "skip"):
        raise UserError(f"unknown --on-bad-record {on_bad_record!r}; use error or skip")
    sets, skipped = [], []
    for where, record in open_records(str(path)):
        try:
            if isinstance(record, RecordProblem):
                raise record
            sets.append(parse_candidates(record, where))
        except RecordProblem as problem:
            if on_bad_record == "error":
                hint = f" ({problem.hint})" if problem.hint else ""
                raise BadRecordError(
                    f"{problem.problem}{hint}; a candidates record is "
                    '{"prompt", "responses": [...]}; fix it or pass --on-bad-record skip',
                    where=where,
                    field=problem.field,
                ) from None
            skipped.append((where, problem.reason))
    if not sets:
        raise UserError("holds no usable candidates record", where=str(path))
    return sets, skipped


def write_candidates(path: str | os.PathLike[str], rows: list[dict[str, Any]]) -> int:
    """Write candidate rows (dicts) as JSON lines, atomically."""
    return write_jsonl(path, rows)
