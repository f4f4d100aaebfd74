"""bench/uncertainty.py's resumption: stored scores are reused only when they were taken the
way this run would take them (MC dropout with the same number of passes). Never timed."""

import json

import pytest


@pytest.fixture
def bench(bench_module):
    return bench_module("uncertainty")


def test_stored_scores_are_reused_only_with_the_same_mc_passes(bench, tmp_path):
    rows = [{"key": "a", "correct": True, "uncertainty": {"margin": 0.3}}]
    single = bench.System("single", "MiniLM seed 0", ["minilm-s0"], mc_dropout=True)
    seeds = bench.System("seeds2", "members", ["minilm-s0", "minilm-s1"])
    saved = tmp_path / "single.json"
    assert bench.saved_rows(saved, single, 10) is None  # nothing stored
    saved.write_text(json.dumps({"rows": rows}))  # stored before the count was kept
    assert bench.saved_rows(saved, single, 10) is None
    assert bench.saved_rows(saved, seeds, 10) == rows  # no MC measure: reused
    saved.write_text(json.dumps({"rows": rows, "mc_dropout_passes": 5}))
    assert bench.saved_rows(saved, single, 10) is None
    assert bench.saved_rows(saved, single, 5) == rows
