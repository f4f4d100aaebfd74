"""``rewardkit annotate import``: items (a prompt and 2..K responses) into the database.

==========================================================  ==================================
record                                                      item
==========================================================  ==================================
``{"prompt", "responses": [..], "id"}`` (the audit export;  the K responses; ``ranking`` /
``rewardkit sample`` output; the rankings format)           ``scores`` are not shown
any pair format ``rewardkit train`` reads (explicit,        ``[chosen, rejected]`` (the page
implicit, hh-rlhf, votes)                                   shows them in random order)
==========================================================  ==================================

An item's key is its ``id`` when it has one, else a hash of its prompt and responses, so
importing a file twice adds nothing the second time (counted as ``already_present``).

Gold items (``--gold``) carry their answer: a pair's chosen response (``{"choice": "a"}``, or
``"tie"`` for a tie pair) or a ranking record's ``ranking`` (``{"ranking": [...]}``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from rewardkit.annotate.schema import Item
from rewardkit.annotate.store import Store
from rewardkit.data import read_pairs
from rewardkit.data.formats import ranked_pairs, require_responses
from rewardkit.data.readers import bad_record_error
from rewardkit.data.sources import open_records
from rewardkit.data.validation import RecordProblem, optional_id, require_prompt
from rewardkit.errors import UserError


@dataclass
class NewItem:
    key: str
    prompt: Any
    responses: list[str]
    source: str
    gold: dict | None = None


@dataclass
class ImportReport:
    path: str
    added: int = 0
    already_present: int = 0
    skipped: list[str] = field(default_factory=list)  # "file:line: reason"


def item_key(prompt: Any, responses: list[str]) -> str:
    blob = json.dumps([prompt, responses], ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def parse_item(record: dict[str, Any], where: str, *, gold: bool) -> NewItem:
    """One ``{"prompt", "responses", ...}`` record as an item (a gold one needs ``ranking``)."""
    prompt = require_prompt(record)
    responses = require_responses(record)
    if len(set(responses)) < len(responses):
        raise RecordProblem(
            "holds the same response twice", field="responses", hint="keep each response once"
        )
    answer = None
    if gold:
        if record.get("ranking") is None:
            raise RecordProblem(
                "is missing", field="ranking", hint="a gold item needs its known ranking"
            )
        ranked_pairs(record["ranking"], len(responses))  # checks it
        answer = {"ranking": list(record["ranking"])}
    key = optional_id(record) or item_key(prompt, responses)
    return NewItem(key=key, prompt=prompt, responses=list(responses), source=where, gold=answer)


def read_new_items(path: str, *, gold: bool, on_bad_record: str) -> tuple[list[NewItem], list]:
    """Items from ``path`` and the ``file:line: reason`` of each skipped record."""
    first = next((record for _, record in open_records(path) if isinstance(record, dict)), None)
    if first is None:
        raise UserError("holds no readable records; pass a file of items or pairs", where=path)
    if "responses" not in first:
        return _items_from_pairs(path, gold=gold, on_bad_record=on_bad_record)
    items, skipped = [], []
    for where, record in open_records(path):
        try:
            if isinstance(record, RecordProblem):
                raise record
            items.append(parse_item(record, where, gold=gold))
        except RecordProblem as problem:
            if on_bad_record == "error":
                raise bad_record_error(problem, where, "items") from None
            skipped.append(f"{where}: {problem.reason}")
    return items, skipped


def _items_from_pairs(path: str, *, gold: bool, on_bad_record: str):
    pairs, report = read_pairs(path, on_bad_record=on_bad_record)
    items = []
    for pair in pairs:
        responses = [pair.chosen, pair.rejected]
        answer = {"choice": "tie" if pair.tie else "a"} if gold else None
        key = pair.id if pair.id != pair.source else item_key(pair.prompt, responses)
        items.append(NewItem(key, pair.prompt, responses, pair.source or path, answer))
    return items, [f"{s.where}: {s.reason}" for s in report.skipped]


def import_items(
    store: Store, path: str, *, gold: bool = False, on_bad_record: str = "error"
) -> ImportReport:
    """Add the items of ``path`` that are not in the database yet."""
    items, skipped = read_new_items(path, gold=gold, on_bad_record=on_bad_record)
    report = ImportReport(path=path, skipped=skipped)
    with store.transaction() as session:
        known = set(session.scalars(select(Item.key)))
        for new in items:
            if new.key in known:
                report.already_present += 1
                continue
            known.add(new.key)
            session.add(
                Item(
                    key=new.key,
                    prompt=new.prompt,
                    responses=new.responses,
                    gold=new.gold,
                    source=new.source[:500],
                )
            )
            report.added += 1
    return report
