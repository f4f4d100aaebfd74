"""Per-vote rows → one preference pair per item, by majority vote.

=============  ============================================================
field          meaning
=============  ============================================================
item_id        groups the votes of one comparison (string or integer)
prompt         text or chat messages (the same in every vote of the item)
response_a     first response (the same in every vote of the item)
response_b     second response (the same in every vote of the item)
choice         ``"a"``, ``"b"``, ``"tie"`` or ``"both_bad"`` (case-insensitive)
both_bad       optional true/false; true makes the vote a both-bad vote whatever
               its ``choice`` (rewardkit's annotation export writes both)
strength       optional ``"slight"``, ``"clear"`` or ``"strong"``: how clearly
               the chosen response wins (null or absent: not given)
annotator      who voted (optional)
subset         task family (optional; taken from the item's first vote)
=============  ============================================================

"Both bad" is kept apart from "tie" (Chatbot Arena records both): a both-bad vote says
neither response should be learned from. An item where "both bad" has strictly more votes
than a, b and tie each gives no pair and is counted in :attr:`VoteTally.both_bad_items`;
otherwise its both-bad votes are left out and the other votes decide. Every both-bad vote is
counted in :attr:`VoteTally.both_bad_votes`.

A pair's ``margin`` is the mean of ``strength_margins[strength]`` over the winning votes that
gave a strength (0 when none did, and for ties): default slight 0, clear 0.5, strong 1.0.

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
    escaped,
    get_field,
    optional_bool,
    optional_id,
    optional_text,
    require_prompt,
    require_text,
)

CHOICES = ("a", "b", "tie")
BOTH_BAD = "both_bad"
STRENGTH_MARGINS = {"slight": 0.0, "clear": 0.5, "strong": 1.0}


@dataclass
class Vote:
    item_id: str
    prompt: Prompt
    response_a: str
    response_b: str
    choice: str  # one of CHOICES or BOTH_BAD
    annotator: str | None
    subset: str | None
    where: str
    strength: str | None = None


def parse_vote(record: dict[str, Any], where: str) -> Vote:
    get_field(record, "item_id")
    item_id = optional_id(record, "item_id")
    prompt = require_prompt(record)
    response_a, response_b = require_text(record, "response_a"), require_text(record, "response_b")
    check_responses(response_a, response_b, fields=("response_a", "response_b"))
    choice = require_text(record, "choice").strip().lower()
    if choice not in (*CHOICES, BOTH_BAD):
        raise RecordProblem("is not 'a', 'b', 'tie' or 'both_bad'", field="choice")
    if optional_bool(record, "both_bad"):
        choice = BOTH_BAD
    strength = optional_text(record, "strength")
    if strength is not None and strength not in STRENGTH_MARGINS:
        raise RecordProblem(
            f"is not one of {', '.join(STRENGTH_MARGINS)} (got {escaped(strength)})",
            field="strength",
        )
    return Vote(
        item_id=str(item_id),
        prompt=prompt,
        response_a=response_a,
        response_b=response_b,
        choice=choice,
        annotator=optional_text(record, "annotator"),
        subset=optional_text(record, "subset"),
        where=where,
        strength=strength,
    )


@dataclass
class _Item:
    first: Vote
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHOICES, 0))
    margins: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CHOICES})
    both_bad: int = 0
    annotators: list[str] = field(default_factory=list)


class VoteTally:
    """Collects votes (in any order) and turns each item into one pair; both-bad votes are
    counted, not voted with."""

    def __init__(self, strength_margins: dict[str, float] | None = None) -> None:
        self._items: dict[str, _Item] = {}
        self.strength_margins = dict(strength_margins or STRENGTH_MARGINS)
        self.both_bad_votes = 0

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
        if vote.annotator:
            item.annotators.append(vote.annotator)
        if vote.choice == BOTH_BAD:
            self.both_bad_votes += 1
            item.both_bad += 1
            return
        item.counts[vote.choice] += 1
        if vote.strength is not None:
            item.margins[vote.choice].append(self.strength_margins[vote.strength])

    @property
    def both_bad_items(self) -> int:
        """Items where "both bad" leads alone (they give no pair)."""
        return sum(_both_bad_leads(item) for item in self._items.values())

    def pairs(self) -> list[PreferencePair]:
        return [
            _majority_pair(item_id, item)
            for item_id, item in self._items.items()
            if not _both_bad_leads(item)
        ]


def _both_bad_leads(item: _Item) -> bool:
    return item.both_bad > max(item.counts.values())


def _majority_pair(item_id: str, item: _Item) -> PreferencePair:
    top = max(item.counts.values())
    leaders = [choice for choice in CHOICES if item.counts[choice] == top]
    winner = leaders[0] if len(leaders) == 1 else "tie"
    first = item.first
    chosen, rejected = first.response_a, first.response_b
    if winner == "b":
        chosen, rejected = rejected, chosen
    given = item.margins[winner] if winner != "tie" else []
    return PreferencePair(
        prompt=first.prompt,
        chosen=chosen,
        rejected=rejected,
        margin=sum(given) / len(given) if given else 0.0,
        tie=winner == "tie",
        subset=first.subset,
        annotator=",".join(item.annotators) or None,
        id=item_id,
        source=first.where,
        extra={"votes": dict(item.counts)},
    )
