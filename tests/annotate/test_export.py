"""Export: pairs ``rewardkit train`` reads as they are (strength → margin, ties marked,
both-bad items left out and counted, top-k rankings expanded), raw votes that re-import to
the same statistics, and a sidecar that says how."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rewardkit.annotate.accounts import add_annotator
from rewardkit.annotate.assignment import Answer, submit
from rewardkit.annotate.export import export, side_paths
from rewardkit.annotate.items import import_items
from rewardkit.annotate.stats import collection_stats
from rewardkit.annotate.store import open_store
from rewardkit.annotate.votes_io import import_votes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_helpers import write_items  # noqa: E402

ITEMS = [
    {"id": "i1", "prompt": "Is tea good?", "responses": ["yes tea is good", "no"]},
    {"id": "i2", "prompt": "Say hi", "responses": ["hi", "go away"]},
    {"id": "i3", "prompt": "Two plus two?", "responses": ["four", "4"]},
    {"id": "i4", "prompt": "Name a colour", "responses": ["blue", "green"]},
    {"id": "k4", "prompt": "Rank these", "responses": ["r0", "r1", "r2", "r3"]},
]
# item: [(annotator, choice, strength)]; a/b name responses[0]/[1]
VOTES = {
    "i1": [("x", "a", "strong"), ("y", "a", "clear"), ("z", "b", "strong")],
    "i2": [("x", "both_bad", None), ("y", "both_bad", None), ("z", "a", None)],
    "i3": [("x", "tie", None), ("y", "tie", None), ("z", "a", "slight")],
    "i4": [("x", "b", "clear"), ("y", "skip", None), ("z", "b", None)],
}
RANKINGS = {"x": [2, 0], "y": [1]}


@pytest.fixture
def collected(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    import_items(store, write_items(tmp_path / "items.jsonl", ITEMS))
    ids = {name: n for n, name in enumerate(("x", "y", "z"), start=1)}
    for name in ids:
        add_annotator(store, name)
    keys = {item["id"]: n for n, item in enumerate(ITEMS, start=1)}
    for key, votes in VOTES.items():
        for name, choice, strength in votes:
            answer = Answer(keys[key], choice, [1, 0], strength=strength)
            submit(store, ids[name], keys[key], lambda item, a=answer: a, overlap=3)
    for name, ranking in RANKINGS.items():
        answer = Answer(keys["k4"], "ranking", [3, 2, 1, 0], ranking=ranking)
        submit(store, ids[name], keys["k4"], lambda item, a=answer: a, overlap=3)
    return store


def test_majority_export_holds_exactly_what_was_chosen(collected, tmp_path):
    out = tmp_path / "export" / "pairs.jsonl"
    meta = export(collected, out)
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {p["id"]: p for p in pairs}
    # i1: a wins 2-1; its votes said strong (1.0) and clear (0.5) → margin 0.75
    assert (by_id["i1"]["chosen"], by_id["i1"]["rejected"]) == ("yes tea is good", "no")
    assert by_id["i1"]["margin"] == pytest.approx(0.75)
    assert "i2" not in by_id  # both bad led: left out
    assert by_id["i3"]["tie"] is True and "margin" not in by_id["i3"]
    assert (by_id["i4"]["chosen"], by_id["i4"]["margin"]) == ("green", 0.5)  # skip not a vote
    ranked = [p for p in pairs if p["id"].startswith("k4:")]
    # x: top-2 [2, 0] of 4 → 1 + 2·2 = 5 pairs; y: top-1 [1] → 3 pairs; each ranking weighs 1/2
    assert sorted((p["chosen"], p["rejected"]) for p in ranked if p["annotator"] == "x") == sorted(
        [("r2", "r0"), ("r2", "r1"), ("r2", "r3"), ("r0", "r1"), ("r0", "r3")]
    )
    assert sorted(p["rejected"] for p in ranked if p["annotator"] == "y") == ["r0", "r2", "r3"]
    assert sum(p["weight"] for p in ranked) == pytest.approx(1.0)
    assert {k: meta[k] for k in ("pairs", "ties", "pairs_from_rankings", "skips")} == {
        "pairs": 3 + 8,
        "ties": 1,
        "pairs_from_rankings": 8,
        "skips": 1,
    }
    assert (meta["both_bad_items_left_out"], meta["both_bad_votes"]) == (1, 2)
    sidecar = json.loads((out.parent / "pairs.jsonl.meta.json").read_text())
    assert sidecar["aggregate"] == "majority"
    assert sidecar["strength_margins"] == {"slight": 0.0, "clear": 0.5, "strong": 1.0}
    votes_path, rankings_path, _ = side_paths(out)
    votes = [json.loads(line) for line in votes_path.read_text().splitlines()]
    assert len(votes) == 11  # 12 answers to pairs, less one skip
    assert {(v["item_id"], v["annotator"], v["choice"], v["strength"]) for v in votes} == {
        (key, name, choice, strength)
        for key, rows in VOTES.items()
        for name, choice, strength in rows
        if choice != "skip"
    }
    assert all(
        v["shown_order"] == [1, 0] and v["both_bad"] == (v["choice"] == "both_bad") for v in votes
    )
    rankings = [json.loads(line) for line in rankings_path.read_text().splitlines()]
    assert {r["annotator"]: r["ranking"] for r in rankings} == RANKINGS


def test_margins_and_aggregate_are_flags_stated_in_the_sidecar(collected, tmp_path):
    out = tmp_path / "ds.jsonl"
    meta = export(
        collected,
        out,
        aggregate="dawid-skene",
        margins={"slight": 0.1, "clear": 0.2, "strong": 2.0},
    )
    assert meta["aggregate"] == "dawid-skene"
    by_id = {p["id"]: p for p in map(json.loads, out.read_text().splitlines())}
    # the margin is the mean of the votes agreeing with the fitted label (x strong, y clear
    # for a; z strong for b)
    label_a = by_id["i1"]["chosen"] == "yes tea is good"
    assert by_id["i1"]["margin"] == pytest.approx((2.0 + 0.2) / 2 if label_a else 2.0)
    assert json.loads(Path(f"{out}.meta.json").read_text())["strength_margins"]["strong"] == 2.0


def test_raw_votes_reimport_to_the_same_statistics(collected, tmp_path):
    out = tmp_path / "pairs.jsonl"
    export(collected, out)
    again = open_store(f"sqlite:///{tmp_path / 'again.db'}")
    import_votes(again, str(side_paths(out)[0]))
    first, second = collection_stats(collected), collection_stats(again)
    first.pop("progress"), second.pop("progress")  # rankings and skips are not votes
    assert first == second


def test_an_export_trains_without_edits(tmp_path, tiny_bert_dir):
    """60 two-response items, 3 annotators each (answers cycle through every kind)."""
    store = open_store(f"sqlite:///{tmp_path / 'big.db'}")
    items = [
        {"id": f"q{n}", "prompt": f"question {n} about tea?", "responses": [f"yes {n}", f"no {n}"]}
        for n in range(60)
    ]
    import_items(store, write_items(tmp_path / "items.jsonl", items))
    choices = ["a", "b", "a", "tie", "both_bad", "a", "b"]
    for person in (1, 2, 3):
        add_annotator(store, f"p{person}")
        for n in range(60):
            answer = Answer(n + 1, choices[(n + person) % len(choices)], [0, 1], strength="clear")
            submit(store, person, n + 1, lambda item, a=answer: a, overlap=3)
    out = tmp_path / "pairs.jsonl"
    assert export(store, out)["pairs"] > 30
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardkit",
            "train",
            "--data",
            str(out),
            "--out",
            str(tmp_path / "model"),
            "--backbone",
            str(tiny_bert_dir),
            "--max-length",
            "64",
            "--batch-size",
            "4",
            "--epochs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "model" / "rewardkit.json").is_file()
