"""``rewardkit audit`` end to end on toy pairs with planted problems (the real MiniLM), its
refusals, and a CI-sized run on 200 real hh-rlhf pairs with the real MiniLM."""

import gzip
import hashlib
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from audit_fixtures import FLIPPED, PAYLOAD, audit_data  # noqa: E402

from one_line_refusals import refusal, run_cli  # noqa: E402
from rewardkit.data import read_pairs  # noqa: E402


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


@pytest.fixture(scope="module")
def audited(tmp_path_factory, minilm_path):
    root = tmp_path_factory.mktemp("audit")
    pairs = audit_data(root / "pairs.jsonl")
    before = hashlib.sha256((root / "pairs.jsonl").read_bytes()).hexdigest()
    result = run_cli(
        [
            "audit",
            "--data",
            root / "pairs.jsonl",
            "--out",
            root / "out",
            "--backbone",
            minilm_path,
            "--max-length",
            64,
            "--folds",
            4,
            "--ensemble",
            3,
            "--fix",
            "flip",
            "--top",
            len(FLIPPED),
            "--out-data",
            root / "clean.jsonl",
            "--export-suspects",
            root / "relabel.jsonl",
            "--no-progress",
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    return root, pairs, before, result.stdout


def test_outputs_and_the_planted_problems(audited):
    root, pairs, before, _ = audited
    summary = json.loads((root / "out" / "audit.json").read_text())
    assert summary["pairs_scored"] == len(pairs) and summary["folds"] == 4
    ranked = _rows(root / "out" / "pairs.jsonl")
    assert len(ranked) == len(pairs)
    p_right = [r["p_label_right"] for r in ranked]
    assert p_right == sorted(p_right)  # most suspect first
    by_id = {r["id"]: r for r in ranked}
    fold_of_prompt = {}  # each pair's held-out fold: one per prompt, every fold used
    for pair in pairs:
        fold_of_prompt.setdefault(repr(pair.prompt), set()).add(by_id[pair.id]["fold"])
    assert all(len(folds) == 1 for folds in fold_of_prompt.values())
    assert {r["fold"] for r in ranked} == set(range(4))
    flipped_ids = {pairs[i].id for i in FLIPPED}
    top = {r["id"] for r in ranked[: len(FLIPPED)]}
    assert len(top & flipped_ids) >= len(FLIPPED) // 2  # the planted flips rank high
    assert "near-identical" in by_id[pairs[5].id]["reasons"]
    assert "contradicting-duplicate" in by_id["dup"]["reasons"]
    assert "contradicting-duplicate" in by_id[pairs[9].id]["reasons"]
    estimates = summary["flip_estimates"]  # 65 pairs: too few anchors for the flip share
    assert estimates["estimated_flip_share"] is None and "needs at least" in estimates["why_not"]
    assert 0 <= estimates["confident_learning_ci95"][0] <= estimates["confident_learning"]
    assert not estimates["validation"]["validated"]  # frozen heads
    assert set(summary["per_subset"]) == {"s0", "s1"}
    suspects = _rows(root / "out" / "suspects.jsonl")
    assert len(suspects) == summary["suspects"] and all(r["reasons"] for r in suspects)
    assert PAYLOAD not in (root / "out" / "report.html").read_text()  # escaped
    assert hashlib.sha256((root / "pairs.jsonl").read_bytes()).hexdigest() == before


def test_cleaned_copy_sidecar_and_export(audited):
    root, pairs, _, _ = audited
    changes = _rows(root / "clean.changes.jsonl")
    ranked = _rows(root / "out" / "pairs.jsonl")
    assert [c["id"] for c in changes] == sorted(
        (r["id"] for r in ranked[: len(FLIPPED)]), key=lambda i: [p.id for p in pairs].index(i)
    )
    cleaned, _ = read_pairs(str(root / "clean.jsonl"))
    original = {p.id: p for p in pairs}
    for pair in cleaned:
        was = original[pair.id]
        swapped = any(c["id"] == pair.id for c in changes)
        assert (pair.chosen, pair.rejected) == (
            (was.rejected, was.chosen) if swapped else (was.chosen, was.rejected)
        )
    relabel = _rows(root / "relabel.jsonl")
    assert len(relabel) == len(_rows(root / "out" / "suspects.jsonl"))
    assert all(
        set(r) == {"prompt", "responses", "id"} and len(r["responses"]) == 2 for r in relabel
    )


def test_refusals(audited, tmp_path):
    root, _, _, _ = audited
    data = root / "pairs.jsonl"
    line = refusal(
        ["audit", "--data", data, "--out", tmp_path / "o", "--fix", "drop", "--out-data", data]
    )
    assert "is the input file; the audit never modifies its input" in line
    line = refusal(["audit", "--data", data, "--out", tmp_path / "o", "--fix", "soft"])
    assert "pass --out-data FILE" in line
    line = refusal(["audit", "--data", data, "--out", tmp_path / "o", "--folds", "1"])
    assert "--folds must be at least 2" in line


def test_a_ci_sized_run_on_real_hh_rlhf_pairs(shared_data, tmp_path):
    """200 real pairs, the real MiniLM (the default backbone), default settings."""
    source = shared_data / "hh-rlhf-harmless-base" / "test.jsonl.gz"
    lines = gzip.open(source, "rt", encoding="utf-8").readlines()[:200]
    (tmp_path / "hh200.jsonl").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli(["audit", "--data", tmp_path / "hh200.jsonl", "--out", out, "--no-progress"])
    assert result.exit_code == 0, result.stderr + result.stdout
    summary = json.loads((out / "audit.json").read_text())
    assert summary["pairs_scored"] == 200 and len(_rows(out / "pairs.jsonl")) == 200
    assert 0 < summary["flip_estimates"]["share_negative"] < 1
    assert summary["flip_estimates"]["anchor_pairs"] == 40  # a fifth of 200
    assert (out / "report.html").stat().st_size > 10_000


def test_finetune_mode_scores_each_fold_with_its_own_fine_tune(tmp_path, tiny_bert_dir):
    """--mode finetune: one `rewardkit train` per fold on the other folds' pairs."""
    from rewardkit.audit.config import AuditConfig
    from rewardkit.audit.run import run_audit

    pairs = audit_data(tmp_path / "pairs.jsonl")[:32]
    from rewardkit.data import pairs_to_jsonl

    pairs_to_jsonl(tmp_path / "small.jsonl", pairs)
    config = AuditConfig(
        data=str(tmp_path / "small.jsonl"), out=str(tmp_path / "out"), mode="finetune",
        backbone=str(tiny_bert_dir), max_length=64, folds=2, ensemble=2, progress=False,
    )  # fmt: skip
    summary = run_audit(config)
    assert summary["pairs_scored"] == len(pairs) and summary["mode"] == "finetune"
    for fold in range(2):
        train_ids = {
            r["id"] for r in _rows(tmp_path / "out" / "folds" / f"fold-{fold}-train.jsonl")
        }
        held_ids = {
            r["id"] for r in _rows(tmp_path / "out" / "folds" / f"fold-{fold}-held-out.jsonl")
        }
        assert train_ids and held_ids and not train_ids & held_ids
        assert (tmp_path / "out" / "folds" / f"fold-{fold}" / "model.safetensors").is_file()
    assert len(_rows(tmp_path / "out" / "pairs.jsonl")) == len(pairs)
