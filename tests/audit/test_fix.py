"""Cleaned copies, their sidecars, re-labelling exports; the input is never written."""

import json
from pathlib import Path

import pytest

from rewardkit.audit.fix import (
    export_suspects,
    refuse_overwriting_input,
    sidecar_path,
    write_cleaned,
)
from rewardkit.audit.suspects import Verdict
from rewardkit.data import read_pairs
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError

PAIRS = [
    PreferencePair(prompt=f"q{i}", chosen=f"good {i}", rejected=f"bad {i}", id=f"p{i}")
    for i in range(4)
]
# ranked most suspect first: p2 (likely flipped), p0 (near-tie), then p3, p1 (no reason)
VERDICTS = [
    Verdict(2, 0.1, -2.2, 0.1, 0.0, 0.5, 0, ["likely-flipped"]),
    Verdict(0, 0.49, -0.04, 0.1, 0.4, 0.5, 1, ["near-tie"]),
    Verdict(3, 0.8, 1.4, 0.1, 1.0, 0.5, 0, []),
    Verdict(1, 0.9, 2.2, 0.1, 1.0, 0.5, 1, []),
]


def _read(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


@pytest.mark.parametrize("fix", ["drop", "flip", "soft"])
def test_top_k_fixes_and_sidecar(tmp_path, fix):
    out = tmp_path / "clean.jsonl"
    counts = write_cleaned(PAIRS, VERDICTS, fix, 2, str(out))
    pairs, _ = read_pairs(str(out))
    by_id = {p.id: p for p in pairs}
    changes = _read(sidecar_path(str(out)))
    assert [c["id"] for c in changes] == ["p0", "p2"] and {c["fix"] for c in changes} == {fix}
    assert counts["changed"] == 2 and counts["pairs_out"] == len(pairs)
    assert by_id["p1"].chosen == "good 1" and by_id["p3"].label is None
    if fix == "drop":
        assert sorted(by_id) == ["p1", "p3"]
    elif fix == "flip":
        assert (by_id["p2"].chosen, by_id["p2"].rejected) == ("bad 2", "good 2")
        assert by_id["p0"].chosen == "bad 0"
    else:
        assert by_id["p2"].label == 0.1 and by_id["p0"].label == 0.49
        assert by_id["p2"].chosen == "good 2" and changes[1]["label"] == 0.1


def test_top_zero_fixes_the_likely_flipped_only(tmp_path):
    out = tmp_path / "clean.jsonl"
    write_cleaned(PAIRS, VERDICTS, "flip", 0, str(out))
    assert [c["id"] for c in _read(sidecar_path(str(out)))] == ["p2"]


def test_output_equal_to_input_is_refused(tmp_path, monkeypatch):
    data = tmp_path / "pairs.jsonl"
    data.write_text("{}\n")
    (tmp_path / "link.jsonl").symlink_to(data)
    monkeypatch.chdir(tmp_path)
    for target in (str(data), "pairs.jsonl", "./sub/../pairs.jsonl", "link.jsonl"):
        with pytest.raises(UserError, match="is the input file; the audit never modifies"):
            refuse_overwriting_input(str(data), target, "--out-data")
    refuse_overwriting_input(str(data), "other.jsonl", "--out-data")
    refuse_overwriting_input(str(data), None, "--out-data")


def test_export_is_the_annotation_import_shape(tmp_path):
    path = tmp_path / "relabel.jsonl"
    assert export_suspects(PAIRS, VERDICTS[:2], str(path)) == 2
    rows = _read(path)
    assert rows[0] == {"prompt": "q2", "responses": ["good 2", "bad 2"], "id": "p2"}
    assert [set(r) for r in rows] == [{"prompt", "responses", "id"}] * 2


def test_sidecar_names():
    assert sidecar_path("a/clean.jsonl").name == "clean.changes.jsonl"
    assert sidecar_path("clean.jsonl.gz").name == "clean.changes.jsonl"
