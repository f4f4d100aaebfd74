"""Per-vote rows in and out: ``rewardkit annotate import-votes`` and the raw votes that every
export writes.

A raw vote row has the shape of the votes format (:mod:`rewardkit.data.votes`, e.g.
``../shared/data/pandalm/judgements.jsonl``) plus what the annotation page adds:

============  =================================================================================
field         meaning
============  =================================================================================
item_id       the item's key
prompt        text or chat messages
response_a    ``responses[0]`` of the item (whatever side it was shown on)
response_b    ``responses[1]``
annotator     the annotator's name
choice        ``"a"``, ``"b"``, ``"tie"`` or ``"both_bad"``
both_bad      true for a both-bad vote (then ``choice`` is ``"both_bad"`` too)
strength      ``"slight"``, ``"clear"``, ``"strong"`` or null
comment       the annotator's comment or null
shown_order   the response indices left to right as shown (``[1, 0]``: b was on the left)
gold          the known choice of an attention-check item (absent otherwise)
============  =================================================================================

Importing reads rows through the votes reader's own parser (:func:`parse_vote`) and checks
every item's votes agree on the prompt and responses with :class:`VoteTally`, so a file
``rewardkit train`` reads as votes imports with the same rules. Each vote needs an annotator;
a second vote of one annotator on one item is a bad record. Annotators first seen here are
created without a login (``add-annotator`` cannot reuse their name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from rewardkit.annotate.schema import Annotator, Item, Judgement
from rewardkit.annotate.store import Store
from rewardkit.data.readers import bad_record_error
from rewardkit.data.sources import open_records
from rewardkit.data.validation import RecordProblem, optional_text
from rewardkit.data.votes import BOTH_BAD, CHOICES, Vote, VoteTally, parse_vote

NO_LOGIN = "!no-login"  # not an argon2 hash: no token verifies against it


@dataclass
class VotesImport:
    path: str
    votes: int = 0
    items_added: int = 0
    annotators_added: int = 0
    already_present: int = 0
    skipped: list[str] = field(default_factory=list)


def read_votes(path: str, on_bad_record: str) -> tuple[list[tuple[Vote, str | None]], list[str]]:
    """``(vote, gold choice)`` per good row of ``path``, and the skipped rows' reasons."""
    tally, seen, votes, skipped = VoteTally(), set(), [], []
    for where, record in open_records(path):
        try:
            if isinstance(record, RecordProblem):
                raise record
            vote = parse_vote(record, where)
            if not vote.annotator:
                raise RecordProblem("is missing", field="annotator", hint="every vote needs one")
            if (vote.item_id, vote.annotator) in seen:
                raise RecordProblem(
                    "votes a second time on this item_id", field="annotator", hint="keep one"
                )
            gold = optional_text(record, "gold")
            if gold is not None and gold not in CHOICES:
                raise RecordProblem("is not 'a', 'b' or 'tie'", field="gold")
            tally.add(vote)
            seen.add((vote.item_id, vote.annotator))
            votes.append((vote, gold))
        except RecordProblem as problem:
            if on_bad_record == "error":
                raise bad_record_error(problem, where, "votes") from None
            skipped.append(f"{where}: {problem.reason}")
    return votes, skipped


def import_votes(store: Store, path: str, *, on_bad_record: str = "error") -> VotesImport:
    """Add the votes of ``path`` (items and annotators created as needed)."""
    votes, skipped = read_votes(path, on_bad_record)
    report = VotesImport(path=path, skipped=skipped)
    with store.transaction() as session:
        items = {item.key: item for item in session.scalars(select(Item))}
        people = {person.name: person for person in session.scalars(select(Annotator))}
        judged = set(session.execute(select(Judgement.item_id, Judgement.annotator_id)))
        for vote, gold in votes:
            item = items.get(vote.item_id)
            if item is None:
                item = items[vote.item_id] = Item(
                    key=vote.item_id,
                    prompt=vote.prompt,
                    responses=[vote.response_a, vote.response_b],
                    gold={"choice": gold} if gold else None,
                    source=vote.where[:500],
                )
                session.add(item)
                report.items_added += 1
            person = people.get(vote.annotator)
            if person is None:
                person = people[vote.annotator] = Annotator(
                    name=vote.annotator, token_hash=NO_LOGIN, is_admin=False
                )
                session.add(person)
                report.annotators_added += 1
            session.flush()
            if (item.id, person.id) in judged:
                report.already_present += 1
                continue
            judged.add((item.id, person.id))
            session.add(
                Judgement(
                    item_id=item.id,
                    annotator_id=person.id,
                    choice=vote.choice,
                    shown_order=[0, 1],
                    strength=vote.strength,
                )
            )
            report.votes += 1
    return report


def vote_row(item: Item, judgement: Judgement, annotator: str) -> dict[str, Any]:
    """One raw vote row (see the module's docstring) of a two-response item."""
    row = {
        "item_id": item.key,
        "prompt": item.prompt,
        "response_a": item.responses[0],
        "response_b": item.responses[1],
        "annotator": annotator,
        "choice": judgement.choice,
        "both_bad": judgement.choice == BOTH_BAD,
        "strength": judgement.strength,
        "comment": judgement.comment,
        "shown_order": judgement.shown_order,
    }
    if item.gold and "choice" in item.gold:
        row["gold"] = item.gold["choice"]
    return row


def ranking_row(item: Item, judgement: Judgement, annotator: str) -> dict[str, Any]:
    """One raw ranking (rankings format, readable by ``rewardkit train``) of a K > 2 item."""
    return {
        "id": f"{item.key}:{annotator}",
        "item_id": item.key,
        "prompt": item.prompt,
        "responses": item.responses,
        "ranking": judgement.ranking,
        "annotator": annotator,
        "comment": judgement.comment,
        "shown_order": judgement.shown_order,
    }
