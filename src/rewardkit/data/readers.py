"""Read preference data from a file (or ``hf:NAME[:split]``) into :class:`PreferencePair` s.

>>> pairs, report = read_pairs("train.jsonl")                       # doctest: +SKIP
>>> print(report.summary())                                         # doctest: +SKIP
train.jsonl: 2312 pairs from 2312 records (hh-rlhf), 0 skipped

File kinds are described in :mod:`rewardkit.data.sources`, record formats in
:mod:`rewardkit.data.formats` (and :mod:`rewardkit.data.votes`). With ``format="auto"`` the
format of a file is sniffed from its first good record and then held for the whole file.

Bad records (rules in :mod:`rewardkit.data.validation`): with ``on_bad_record="error"`` the
first one raises :class:`BadRecordError`, one line naming ``file:line``, the field and the
fix; with ``"skip"`` each is skipped and listed in :attr:`LoadReport.skipped` with its
reason. Nothing is dropped silently. A file with no usable record at all is a
:class:`UserError` in both modes.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Union

from rewardkit.data.formats import FORMATS, PARSERS, sniff_format
from rewardkit.data.records import PreferencePair, ScoredItem
from rewardkit.data.sources import open_records
from rewardkit.data.validation import RecordProblem
from rewardkit.data.votes import VoteTally, parse_vote
from rewardkit.errors import BadRecordError, UserError

ON_BAD_RECORD = ("error", "skip")

Item = Union[PreferencePair, ScoredItem]


@dataclass
class SkippedRecord:
    """A record left out in ``on_bad_record="skip"`` mode: where it was and why."""

    where: str
    reason: str


@dataclass
class LoadReport:
    """What reading one file gave: counts, the resolved format, and every skipped record."""

    path: str
    format: str
    n_records: int = 0
    n_pairs: int = 0
    n_items: int = 0
    skipped: list[SkippedRecord] = field(default_factory=list)
    both_bad_votes: int = 0  # votes format: "both bad" votes, left out of the pairs
    both_bad_items: int = 0  # votes format: items where "both bad" led (no pair)

    def skipped_by_reason(self) -> dict[str, int]:
        """``{reason: count}``, most frequent first."""
        return dict(Counter(s.reason for s in self.skipped).most_common())

    def summary(self) -> str:
        """One line, e.g. ``data.jsonl: 998 pairs from 1000 records (explicit), 2 skipped
        (2× field 'chosen': is missing)``."""
        made = f"{self.n_pairs} pairs"
        if self.n_items:
            made += f" and {self.n_items} single responses"
        text = (
            f"{self.path}: {made} from {self.n_records} records ({self.format}), "
            f"{len(self.skipped)} skipped"
        )
        if self.skipped:
            reasons = "; ".join(f"{n}× {reason}" for reason, n in self.skipped_by_reason().items())
            text += f" ({reasons})"
        if self.both_bad_votes:
            text += (
                f"; {self.both_bad_votes} both-bad votes left out "
                f"({self.both_bad_items} items where both bad led, no pair)"
            )
        return text


def read_pairs(
    path: str | os.PathLike[str], *, format: str = "auto", on_bad_record: str = "error"
) -> tuple[list[PreferencePair], LoadReport]:
    """Preference pairs from ``path`` (any format but ``single``), and a :class:`LoadReport`.

    Args:
        path: a ``.jsonl``, ``.jsonl.gz``, ``.json``, ``.json.gz``, ``.csv`` or ``.parquet``
            file, or ``hf:NAME[:split]``.
        format: ``"auto"`` (sniff), or one of :data:`FORMATS` except ``"single"``.
        on_bad_record: ``"error"`` (raise :class:`BadRecordError`) or ``"skip"``.
    """
    if format == "single":
        raise UserError(
            "--format single gives responses to score, not pairs to train on; "
            "choose another --format"
        )
    items, report = _read(path, format, on_bad_record, pairs_only=True)
    return items, report  # type: ignore[return-value]  # pairs_only guarantees pairs


def read_items(
    path: str | os.PathLike[str], *, format: str = "auto", on_bad_record: str = "error"
) -> tuple[list[Item], LoadReport]:
    """Everything :func:`read_pairs` reads, plus single ``{"prompt", "response"}`` records
    (format ``single``, read as :class:`ScoredItem`): the input of scoring."""
    return _read(path, format, on_bad_record, pairs_only=False)


def _read(
    path: str | os.PathLike[str], format: str, on_bad_record: str, *, pairs_only: bool
) -> tuple[list[Item], LoadReport]:
    if format != "auto" and format not in FORMATS:
        raise UserError(f"unknown --format {format!r}; use auto or one of {', '.join(FORMATS)}")
    if on_bad_record not in ON_BAD_RECORD:
        raise UserError(f"unknown --on-bad-record {on_bad_record!r}; use error or skip")
    name = str(path)
    report = LoadReport(path=name, format=format)
    resolved = None if format == "auto" else format
    items: list[Item] = []
    tally = VoteTally()
    for where, record in open_records(name):
        report.n_records += 1
        try:
            if isinstance(record, RecordProblem):
                raise record
            record_format = resolved or sniff_format(record)
            if record_format == "single" and pairs_only:
                raise _single_records_error(name)
            if record_format == "votes":
                tally.add(parse_vote(record, where))
            else:
                items.extend(PARSERS[record_format](record, where))
            resolved = record_format
        except RecordProblem as problem:
            if on_bad_record == "error":
                raise bad_record_error(problem, where, resolved) from None
            report.skipped.append(SkippedRecord(where=where, reason=problem.reason))
    items.extend(tally.pairs())
    report.both_bad_votes, report.both_bad_items = tally.both_bad_votes, tally.both_bad_items
    report.format = resolved or "unknown"
    report.n_pairs = sum(isinstance(item, PreferencePair) for item in items)
    report.n_items = len(items) - report.n_pairs
    if report.n_records == 0:
        raise UserError("holds no records; pass a file with at least one record", where=name)
    if not items:
        raise UserError(
            f"no usable records: all {report.n_records} were bad ({report.summary()})", where=name
        )
    return items, report


def bad_record_error(problem: RecordProblem, where: str, format: str | None) -> BadRecordError:
    """The one line a bad record becomes: where, field, problem, hint and the fix."""
    message = problem.problem
    if problem.hint:
        message += f" ({problem.hint})"
    if format:
        message += f" [format {format}]"
    message += "; fix the record, or pass --on-bad-record skip to skip such records"
    return BadRecordError(message, where=where, field=problem.field)


def _single_records_error(name: str) -> UserError:
    return UserError(
        'holds single {"prompt", "response"} records, which can be scored but not trained on; '
        "pass a file of pairs (explicit, implicit, hh-rlhf, rankings or votes)",
        where=name,
    )
