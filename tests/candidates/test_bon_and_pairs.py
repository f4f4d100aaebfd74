"""`bon` and `label-pairs` on the tiny BERT reward model and a 3-head ensemble of it."""

import json
import math
from itertools import combinations

import numpy as np
import pytest

from rewardkit.candidates.best_of_n import BonConfig, best_of_n, kl_bound, rank_descending
from rewardkit.candidates.label_pairs import LabelPairsConfig, label_pairs
from rewardkit.data import read_pairs
from rewardkit.errors import UserError
from rewardkit.model import RewardModel

TEA = "what is a good tea ?"
CHAT = [{"role": "user", "content": "how can i help you ?"}]
SETS = [
    {"prompt": TEA, "responses": ["green tea is good .", "no", "tea", "red tea and coffee ."]},
    {"prompt": CHAT, "responses": ["please ask me", "no thanks", "yes"]},
    {"prompt": "hello", "responses": ["only one"]},
]


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_kl_bound_and_ranks():
    """log n − (n − 1)/n: 0 for n = 1, log 4 − 3/4 for n = 4."""
    assert kl_bound(1) == 0.0
    assert kl_bound(4) == pytest.approx(math.log(4) - 0.75)
    assert rank_descending(np.array([0.5, 2.0, 0.5, -1.0])).tolist() == [2, 1, 3, 4]


def test_bon_rewards_ranks_best(tiny_bert_rm_dir, write_candidates_file, tmp_path):
    data = write_candidates_file(SETS)
    out = tmp_path / "bon.jsonl"
    summary = best_of_n(
        BonConfig(model=str(tiny_bert_rm_dir), data=data, out=str(out)), progress=False
    )
    rows = read_jsonl(out)
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    assert summary["prompts"] == 3 and summary["responses"] == 8
    for row, given in zip(rows, SETS):
        expected = model.score(given["prompt"], given["responses"])
        np.testing.assert_allclose(row["rewards"], expected, rtol=0, atol=1e-5)
        np.testing.assert_allclose(row["normalized_rewards"], (expected - 0.25) / 2, atol=1e-5)
        assert row["best_index"] == int(np.argmax(expected))
        assert row["best_response"] == given["responses"][row["best_index"]]
        assert sorted(row["ranks"]) == list(range(1, len(expected) + 1))
        assert row["ranks"][row["best_index"]] == 1
        assert row["kl_bound"] == pytest.approx(kl_bound(len(expected)))
        assert "spread" not in row  # one model, no ensemble
    assert rows[2]["ranks"] == [1]
    assert summary["mean_best_reward"] >= summary["mean_reward"]


def test_bon_ensemble_reports_spread(heads_ensemble_dir, write_candidates_file, tmp_path):
    out = tmp_path / "bon.jsonl"
    best_of_n(
        BonConfig(
            model=str(heads_ensemble_dir), data=write_candidates_file(SETS[:1]), out=str(out)
        ),
        progress=False,
    )
    row = read_jsonl(out)[0]
    assert len(row["spread"]) == 4 and all(s > 0 for s in row["spread"])
    # the saved head is the exact mean of the 3 heads: the ensemble's reward is the model's
    expected = RewardModel.from_pretrained(heads_ensemble_dir).score(TEA, SETS[0]["responses"])
    np.testing.assert_allclose(row["rewards"], expected, rtol=0, atol=1e-5)


def pairs_config(model, data, out, **overrides):
    return LabelPairsConfig(model=str(model), data=data, out=str(out), **overrides)


def test_best_vs_worst_trl_format(tiny_bert_rm_dir, write_candidates_file, tmp_path):
    """One pair per prompt with ≥ 2 responses: highest vs lowest reward, margin = the gap;
    text prompts → text sides, chat prompts → TRL's conversational sides."""
    out = tmp_path / "pairs.jsonl"
    summary = label_pairs(
        pairs_config(tiny_bert_rm_dir, write_candidates_file(SETS), out), progress=False
    )
    rows = read_jsonl(out)
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    assert summary["pairs"] == 2 and summary["prompts_with_one_response"] == 1
    assert [set(r) for r in rows] == [{"prompt", "chosen", "rejected", "margin"}] * 2
    r = model.score(TEA, SETS[0]["responses"])
    assert rows[0]["prompt"] == TEA
    assert rows[0]["chosen"] == SETS[0]["responses"][int(np.argmax(r))]
    assert rows[0]["rejected"] == SETS[0]["responses"][int(np.argmin(r))]
    assert rows[0]["margin"] == pytest.approx(r.max() - r.min(), abs=1e-5)
    assert rows[1]["prompt"] == CHAT
    assert rows[1]["chosen"][0]["role"] == "assistant" and len(rows[1]["chosen"]) == 1
    pairs, _ = read_pairs(out)  # rewardkit reads its own DPO output back, margins included
    assert [p.margin for p in pairs] == pytest.approx([row["margin"] for row in rows])


def test_all_pairs_and_min_gap(tiny_bert_rm_dir, write_candidates_file, tmp_path):
    """all-pairs: C(4,2) + C(3,2) = 9 pairs, each oriented chosen ≥ rejected; --min-gap at the
    median gap skips the smaller ones and counts them; duplicates are ties, skipped."""
    data = write_candidates_file(SETS + [{"prompt": "x", "responses": ["same", "same"]}])
    out = tmp_path / "all.jsonl"
    summary = label_pairs(
        pairs_config(tiny_bert_rm_dir, data, out, pairs="all-pairs"), progress=False
    )
    rows = read_jsonl(out)
    assert len(rows) == 9 and summary["skipped_tie"] == 1
    assert all(r["margin"] > 0 for r in rows)
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    rewards = dict(zip(SETS[0]["responses"], model.score(TEA, SETS[0]["responses"])))
    tea_rows = [r for r in rows if r["prompt"] == TEA]
    assert len(tea_rows) == len(list(combinations(range(4), 2)))
    assert all(rewards[r["chosen"]] > rewards[r["rejected"]] for r in tea_rows)
    gap = float(np.median([r["margin"] for r in rows]))
    summary = label_pairs(
        pairs_config(tiny_bert_rm_dir, data, out, pairs="all-pairs", min_gap=gap), progress=False
    )
    kept = read_jsonl(out)
    assert all(r["margin"] >= gap for r in kept)
    assert len(kept) + summary["skipped_min_gap"] == 9 and summary["skipped_min_gap"] > 0


def test_max_spread_needs_an_ensemble(tiny_bert_rm_dir, write_candidates_file, tmp_path):
    with pytest.raises(UserError, match="--max-spread needs an ensemble"):
        label_pairs(
            pairs_config(
                tiny_bert_rm_dir, write_candidates_file(SETS), tmp_path / "p", max_spread=0.1
            ),
            progress=False,
        )


def test_max_spread_skips_pairs_members_disagree_on(
    heads_ensemble_dir, write_candidates_file, tmp_path
):
    """The threshold is the std over the 3 heads of the per-head gap: a threshold between the
    smallest and largest such std keeps exactly the pairs under it."""
    from rewardkit.model import load_reward_model

    data = write_candidates_file(SETS[:2])
    scorer = load_reward_model(heads_ensemble_dir)
    stds = []
    for given in SETS[:2]:
        members = scorer.score(given["prompt"], given["responses"]).members
        for i, j in combinations(range(len(given["responses"])), 2):
            stds.append(float((members[:, i] - members[:, j]).std()))
    threshold = float(np.median(stds))
    out = tmp_path / "pairs.jsonl"
    summary = label_pairs(
        pairs_config(heads_ensemble_dir, data, out, pairs="all-pairs", max_spread=threshold),
        progress=False,
    )
    assert summary["pairs"] == sum(s <= threshold for s in stds)
    assert summary["skipped_max_spread"] == sum(s > threshold for s in stds) > 0


def test_bon_and_label_pairs_rank_by_the_worst_case_of_an_ensemble(
    tmp_path, write_candidates_file, heads_ensemble_dir
):
    """``--aggregate min``: the kept response and the pairs follow min over the members'
    normalized rewards, computed here by hand from the members' raw rewards."""
    import json

    from typer.testing import CliRunner

    from rewardkit.cli import app
    from rewardkit.model.loading import load_reward_model

    responses = ["green tea is good .", "no", "coffee and water , thanks", "yes sure"]
    path = write_candidates_file([{"prompt": "what is a good tea ?", "responses": responses}])
    out = tmp_path / "bon.jsonl"
    args = ["bon", "--model", str(heads_ensemble_dir), "--data", path, "--out", str(out)]
    result = CliRunner().invoke(app, args + ["--aggregate", "min"])
    assert result.exit_code == 0, result.stderr
    row = json.loads(out.read_text())
    scorer = load_reward_model(heads_ensemble_dir)
    norm = scorer.primary.info.normalization
    members = scorer.score("what is a good tea ?", responses).members
    worst = ((members - norm.mean) / norm.std).min(axis=0)
    np.testing.assert_allclose(row["aggregated_rewards"], worst, atol=1e-5)
    assert row["best_index"] == int(np.argmax(worst)) and row["aggregate"]["method"] == "min"
    pairs_out = tmp_path / "pairs.jsonl"
    args = ["label-pairs", "--model", str(heads_ensemble_dir), "--data", path]
    result = CliRunner().invoke(app, args + ["--out", str(pairs_out), "--aggregate", "min"])
    assert result.exit_code == 0, result.stderr
    pair = json.loads(pairs_out.read_text().splitlines()[0])
    assert pair["chosen"] == responses[int(np.argmax(worst))]
    assert pair["margin"] == pytest.approx(worst.max() - worst.min(), abs=1e-5)
