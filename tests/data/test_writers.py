"""Atomic JSON-lines writing and the round trip pairs → file → pairs."""

import json

import pytest

from rewardkit.data import PreferencePair, pairs_to_jsonl, read_pairs, write_jsonl

USER = [{"role": "user", "content": "Bonjour ☀"}]


def test_pairs_round_trip(tmp_path):
    pairs = [
        PreferencePair(prompt="p", chosen="a", rejected="b"),
        PreferencePair(
            prompt=USER,
            chosen="",
            rejected="non",
            margin=1.5,
            tie=True,
            weight=0.2,
            subset="fr",
            annotator="ann1",
            id="g:0-1",
        ),
    ]
    path = tmp_path / "out" / "pairs.jsonl"
    assert pairs_to_jsonl(path, pairs) == 2
    back, report = read_pairs(path)
    assert report.format == "explicit"
    assert back[1] == PreferencePair(**{**pairs[1].__dict__, "source": f"{path}:2"})
    assert back[0].id == f"{path}:1"  # no id in → the reader names it by file:line
    assert [p.to_json() for p in back][1:] == [p.to_json() for p in pairs][1:]


def test_real_votes_round_trip(shared_data, tmp_path):
    pairs, _ = read_pairs(shared_data / "pandalm" / "judgements.jsonl")
    path = tmp_path / "pandalm-pairs.jsonl.gz"
    pairs_to_jsonl(path, pairs)
    back, _ = read_pairs(path)
    assert [p.to_json() for p in back] == [p.to_json() for p in pairs]


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"n": 1}])

    def rows():
        yield {"n": 2}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(path, rows())
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {"n": 1}
    ]  # old file intact
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]
