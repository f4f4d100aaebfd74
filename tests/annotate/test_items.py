"""``annotate import`` reads every item shape the issue names: ``{prompt, responses, id}``,
``rewardkit sample`` output, the rankings format and pair formats; gold answers; re-imports
add nothing; bad records stop with file:line or are skipped and counted."""

import json

import pytest
from sqlalchemy import select

from rewardkit.annotate.items import import_items
from rewardkit.annotate.schema import Item
from rewardkit.errors import BadRecordError


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def stored(store):
    with store.transaction() as session:
        return [(i.key, i.prompt, i.responses, i.gold) for i in session.scalars(select(Item))]


def test_every_item_shape_and_gold(sqlite_store, tmp_path):
    chat = [{"role": "user", "content": "hi"}]
    sample = {
        "id": "s0",
        "prompt": "p",
        "responses": ["x", "y", "z"],
        "seed": 1,
        "finish_reasons": ["stop"] * 3,
    }
    ranked = {"id": "r0", "prompt": chat, "responses": ["a", "b", "c"], "ranking": [2, 0, 1]}
    pair = {"prompt": "q", "chosen": "good", "rejected": "bad"}
    assert import_items(sqlite_store, write(tmp_path / "s.jsonl", [sample, ranked])).added == 2
    assert import_items(sqlite_store, write(tmp_path / "p.jsonl", [pair])).added == 1
    gold = import_items(
        sqlite_store, write(tmp_path / "g.jsonl", [{**ranked, "id": "g0"}]), gold=True
    )
    assert gold.added == 1
    rows = stored(sqlite_store)
    assert rows[:2] == [("s0", "p", ["x", "y", "z"], None), ("r0", chat, ["a", "b", "c"], None)]
    assert rows[2][1:] == ("q", ["good", "bad"], None) and rows[2][0].startswith("sha256:")
    assert rows[3] == ("g0", chat, ["a", "b", "c"], {"ranking": [2, 0, 1]})
    again = import_items(sqlite_store, str(tmp_path / "p.jsonl"))
    assert (again.added, again.already_present) == (0, 1)
    pair_gold = import_items(
        sqlite_store, write(tmp_path / "pg.jsonl", [{**pair, "chosen": "4"}]), gold=True
    )
    assert pair_gold.added == 1 and stored(sqlite_store)[-1][3] == {"choice": "a"}


def test_bad_items_stop_or_are_skipped_and_counted(sqlite_store, tmp_path):
    path = write(
        tmp_path / "bad.jsonl",
        [
            {"prompt": "p", "responses": ["a", "b"]},
            {"prompt": "p", "responses": ["a", "a"]},
            {"prompt": "p", "responses": ["c", "d"]},
        ],
    )
    with pytest.raises(BadRecordError, match=r"bad.jsonl:2: field 'responses': holds the same"):
        import_items(sqlite_store, path)
    report = import_items(sqlite_store, path, on_bad_record="skip")
    assert report.added == 2 and len(report.skipped) == 1 and ":2:" in report.skipped[0]
    with pytest.raises(BadRecordError, match="field 'ranking': is missing"):
        import_items(
            sqlite_store,
            write(tmp_path / "g.jsonl", [{"prompt": "p", "responses": ["a", "b"]}]),
            gold=True,
        )
