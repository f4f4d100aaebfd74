"""Per-vote rows → one preference pair per item, by majority vote.

=============  ============================================================
field          meaning
=============  ============================================================
item_id        groups the votes of one comparison (string or integer)
prompt         text or chat messages (the same in every vote of the item)
response_a     first response (the same in every vote of the item)
response_b     second response (the same in every vote of the item)
choice         ``"a"``, ``"b"`` or ``"tie"`` (case-insensitive)
annotator      who voted (optional)
subset         task family (optional; taken from the item's first vote)
=============  ============================================================

The winner is the choice with the most votes. When ``"tie"`` has the most votes, or no
choice has strictly more votes than every other (say 1 a, 1 b, 1 tie), the pair is a tie
(``tie=True``, chosen = response_a). The counts are kept in ``extra["votes"] = {"a": n,
"b": n, "tie": n}``, the annotators comma-joined in vote order in ``annotator``. A pair's
``id`` is its item_id and its ``source`` the ``file:line`` of the item's first vote.

A vote row that is bad (missing field, unknown choice, both responses empty, a prompt or
response that differs from the item's first vote, ...) is a bad record like any other; the
item's other votes still count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.data.validation import (
    RecordProblem,
    check_responses,
    get_field,
    optional_id,
    optional_text,
    require_prompt,
    require_text,
)

CHOICES = ("a", "b", "tie")


@dataclass
class Vote:
    item_id: str
    prompt: Prompt
    response_a: str
    response_b: str
    choice: str
    annotator: str | None
    subset: str | None
    where: str


def parse_vote(record: dict[str, Any], where: str) -> Vote:
    get_field(record, "item_id")
    item_id = optional_id(record, "item_id")
    prompt = require_prompt(record)
    response_a, response_b = require_text(record, "response_a"), require_text(record, "response_b")
    check_responses(response_a, response_b, fields=("response_a", "response_b"))
    choice = require_text(record, "choice").strip().lower()
    if choice not in CHOICES:
        raise RecordProblem("is not 'a', 'b' or 'tie'", field="choice")
    return Vote(
        item_id=str(item_id),
        prompt=prompt,
        response_a=response_a,
        response_b=response_b,
        choice=choice,
        annotator=optional_text(record, "annotator"),
        subset=optional_text(record, "subset"),
        where=where,
    )


@dataclass
class _Item:
    first: Vote
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHOICES, 0))
    annotators: list[str] = field(default_factory=list)


class VoteTally:
    """Collects votes (in any order) and turns each item into one pair."""

    def __init__(self) -> None:
        self._items: dict[str, _Item] = {}

    def add(self, vote: Vote) -> None:
        item = self._items.get(vote.item_id)
        if item is None:
            item = self._items[vote.item_id] = _Item(first=vote)
        for name in ("prompt", "response_a", "response_b"):
            if getattr(vote, name) != getattr(item.first, name):
                raise RecordProblem(
                    f"differs from the first vote of its item_id ({item.first.where})",
                    field=name,
                    hint="every vote of one item must show the same prompt and responses",
                )
        item.counts[vote.choice] += 1
        if vote.annotator:
            item.annotators.append(vote.annotator)

    def pairs(self) -> list[PreferencePair]:
        return [_majority_pair(item_id, item) for item_id, item in self._items.items()]


def _majority_pair(item_id: str, item: _Item) -> PreferencePair:
    top = max(item.counts.values())
    leaders = [choice for choice in CHOICES if item.counts[choice] == top]
    winner = leaders[0] if len(leaders) == 1 else "tie"
    first = item.first
    chosen, rejected = first.response_a, first.response_b
    if winner == "b":
        chosen, rejected = rejected, chosen
    return PreferencePair(
        prompt=first.prompt,
        chosen=chosen,
        rejected=rejected,
        tie=winner == "tie",
        subset=first.subset,
        annotator=",".join(item.annotators) or None,
        id=item_id,
        source=first.where,
        extra={"votes": dict(item.counts)},
    )
