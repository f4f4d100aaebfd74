"""``rewardkit overopt`` end to end on world candidates with tiny models, its refusals, and
``rewardkit merge``."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal, run_cli  # noqa: E402


@pytest.fixture(scope="module")
def world_candidates_file(tmp_path_factory):
    from rewardkit.data.writers import write_jsonl
    from rewardkit.world import WorldConfig, build_world, world_candidates

    world = build_world(WorldConfig(n_train_pairs=16, n_eval_pairs=4, seed=0))
    path = tmp_path_factory.mktemp("cands") / "candidates.jsonl"
    write_jsonl(path, world_candidates(world, 12, 6, seed=0))
    return path


def test_world_candidates_have_a_real_spread_and_the_bias(world_candidates_file):
    rows = [json.loads(line) for line in world_candidates_file.read_text().splitlines()]
    assert len(rows) == 12 and all(len(r["responses"]) == 6 == len(r["gold"]) for r in rows)
    assert np.mean([np.std(r["gold"]) for r in rows]) > 0.5
    assert 0 < np.mean([f for r in rows for f in r["flattered"]]) < 1


def test_overopt_on_a_heads_ensemble_writes_json_and_report(
    tmp_path, world_candidates_file, heads_ensemble_dir, tiny_bert_rm_dir
):
    out = tmp_path / "lab"
    result = run_cli(
        [
            "overopt",
            "--proxy",
            tiny_bert_rm_dir,
            "--proxy",
            heads_ensemble_dir,
            "--candidates",
            world_candidates_file,
            "--gold",
            "world",
            "--out",
            out,
            "--bootstrap",
            "50",
        ]
    )
    assert result.exit_code == 0, result.stderr
    lab = json.loads((out / "overopt.json").read_text())
    names = list(lab["selectors"])
    assert len(names) == 4 and names[1].startswith("ensemble mean") and names[2].startswith("worst")
    assert lab["candidates_per_prompt"] == 6 and lab["prompts"] == 12
    first = lab["selectors"][names[0]]
    assert len(first["gold"]) == 6 and first["fit"]["alpha"] is not None
    assert lab["findings"]["paragraph"]
    html = (out / "report.html").read_text()
    assert "data:image/png;base64" in html and "upper bound" in html


def test_fewer_than_two_responses_is_refused_with_file_and_line(
    tmp_path, write_candidates_file, tiny_bert_rm_dir
):
    path = write_candidates_file(
        [
            {"prompt": "p", "responses": ["a", "b"], "gold": [1, 2]},
            {"prompt": "q", "responses": ["a"], "gold": [1]},
        ]
    )
    line = refusal(
        ["overopt", "--proxy", tiny_bert_rm_dir, "--candidates", path, "--out", tmp_path / "o"]
    )
    assert f"{path}:2" in line and "at least 2" in line


def test_gold_for_a_different_candidate_set_is_refused(
    tmp_path, write_candidates_file, tiny_bert_rm_dir
):
    path = write_candidates_file([{"prompt": "p", "responses": ["a", "b", "c"], "gold": [1, 2]}])
    line = refusal(
        ["overopt", "--proxy", tiny_bert_rm_dir, "--candidates", path, "--out", tmp_path / "o"]
    )
    assert f"{path}:1" in line and "gold scores 2 responses and the proxy 3" in line


def test_merge_of_a_model_with_itself_is_that_model(tmp_path, tiny_bert_rm_dir):
    from rewardkit.model.loading import load_reward_model

    out = tmp_path / "merged"
    result = run_cli(["merge", tiny_bert_rm_dir, tiny_bert_rm_dir, "--out", out])
    assert result.exit_code == 0, result.stderr
    texts = ["hello world", "the cats are good", "no"]
    before = load_reward_model(tiny_bert_rm_dir).score("a prompt", texts).rewards
    after = load_reward_model(out).score("a prompt", texts).rewards
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-6)


def test_merge_stores_no_member_calibration_and_says_how_to_fit_one(tmp_path, tiny_bert_rm_dir):
    import shutil

    from rewardkit.model.sidecar import read_info, write_info

    calibrated = tmp_path / "calibrated"
    shutil.copytree(tiny_bert_rm_dir, calibrated)
    info = read_info(calibrated)
    info.temperature, info.calibration_exponent = 2.5, 0.8
    write_info(calibrated, info)
    out = tmp_path / "merged"
    result = run_cli(["merge", calibrated, tiny_bert_rm_dir, "--out", out])
    assert result.exit_code == 0, result.stderr
    merged = read_info(out)
    assert merged.temperature is None and merged.calibration_exponent is None
    said = " ".join((result.stderr + result.stdout).split())
    assert "(uncalibrated: fit its calibration with" in said and "--calibrate" in said
    assert not (out / "feature_stats.safetensors").exists()


def test_merge_refuses_models_of_different_backbones(tmp_path, tiny_bert_rm_dir, tiny_llama_rm_dir):
    line = refusal(["merge", tiny_bert_rm_dir, tiny_llama_rm_dir, "--out", tmp_path / "m"])
    assert str(tiny_llama_rm_dir) in line and "same backbone" in line
