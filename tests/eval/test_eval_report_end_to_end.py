"""``rewardkit eval`` end to end on a tiny model: every section, the files, calibration,
votes with ties, foreign models, combined ensembles, and the train/eval schema."""

import json
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.data import pairs_to_jsonl  # noqa: E402
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.eval.run import EvalConfig, run_eval  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from tiny_reward_models import tiny_bert_dir, toy_pairs  # noqa: E402

LEGACY_KEYS = {
    "n",
    "accuracy",
    "accuracy_ci95",
    "mean_margin",
    "bt_loss",
    "ties",
    "fits_max_length",
    "per_subset",
    "overlong",
    "reward_mean",
    "reward_std",
    "n_pairs_in",
    "max_length",
    "split",
    "data",
    "model",
    "skipped_records",
}
SECTIONS = {
    "calibration",
    "length_bias",
    "probes",
    "uncertainty",
    "ood",
    "ties_detail",
    "reward_distribution",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_e2e")
    backbone = tiny_bert_dir(root / "backbone")
    data = root / "toy.jsonl"
    pairs_to_jsonl(data, toy_pairs(80))
    result = train(
        TrainConfig(
            data=str(data),
            out=str(root / "heads"),
            backbone=str(backbone),
            max_length=128,
            eval_fraction=0.25,
            freeze_backbone=True,
            ensemble=3,
            feature_cache=str(root / "cache"),
        ),
        quiet=True,
    )
    return {
        "root": root,
        "backbone": backbone,
        "data": data,
        "model": root / "heads",
        "train_metrics": result.metrics,
    }


def test_eval_writes_every_section_and_a_self_contained_report(world, tmp_path):
    out = tmp_path / "report"
    metrics = run_eval(EvalConfig(model=str(world["model"]), data=str(world["data"]), out=str(out)))
    assert LEGACY_KEYS <= set(metrics) and SECTIONS <= set(metrics)
    assert metrics["uncertainty"]["members"] == 3 and "spread" in metrics["uncertainty"]
    assert metrics["ood"]["distance_available"] and metrics["ood"]["spread_available"]
    assert metrics["ood"]["in_distribution_fraction_flagged"] is not None
    assert set(metrics["probes"]["results"]) >= {"flattery", "whitespace", "repeat"}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["accuracy"] == metrics["accuracy"]
    rows = (out / "pairs.jsonl").read_text().splitlines()
    assert len(rows) == metrics["n"] + metrics["ties"]
    assert {"key", "reward_chosen", "spread", "distance", "flagged"} <= set(json.loads(rows[0]))
    html = (out / "report.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(images) >= 5 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for heading in (
        "Accuracy",
        "Calibration",
        "Length bias",
        "Hackability probes",
        "Uncertainty",
        "Out-of-distribution",
    ):
        assert heading in html


def test_train_metrics_have_the_eval_schema(world):
    train_keys = set(world["train_metrics"]) - {"training", "ensemble_training", "frozen_backbone"}
    metrics = run_eval(EvalConfig(model=str(world["model"]), data=str(world["data"]), probes=False))
    assert train_keys <= set(metrics) | {"training"}
    assert SECTIONS <= set(world["train_metrics"])
    assert "skipped" in world["train_metrics"]["probes"]


@pytest.mark.parametrize("calibrator", ["auto", "power"])
def test_calibrate_stores_the_calibration_used_by_compare(world, tmp_path, calibrator):
    """--calibrate: auto judges both forms out of fold (power fits the power form alone); the
    chosen one is stored as temperature and calibration_exponent, and RewardModel.compare
    uses both."""
    model_dir = tmp_path / "model"
    shutil.copytree(world["model"], model_dir)
    before = json.loads((model_dir / "rewardkit.json").read_text())
    metrics = run_eval(
        EvalConfig(
            model=str(model_dir),
            data=str(world["data"]),
            calibrate=True,
            calibrator=calibrator,
            probes=False,
            max_length=before["max_length"] - 1,
            precision="bf16",
        )
    )
    fit = metrics["calibration"]["calibration_fit"]
    assert fit["method"] == "cross-fitted" and fit["n_fit"] == fit["n_test"] == metrics["n"]
    if calibrator == "auto":
        assert set(fit["forms"]) == {"temperature", "power"} and fit["form"] in fit["forms"]
        assert set(fit["power_minus_temperature"]) == {"nll", "brier"}
    else:
        assert set(fit["forms"]) == {"power"} and fit["form"] == "power"
    after = fit["after"]
    assert after["ece_ci95"][0] <= after["ece_ci95"][1] and len(after["fold_calibrations"]) == 5
    floor = after["noise_floor"]["band90"]
    assert after["within_noise_floor"] == (after["ece"] <= floor[1])
    after = json.loads((model_dir / "rewardkit.json").read_text())
    stored, exponent = after["temperature"], after["calibration_exponent"]
    assert (stored, exponent) == pytest.approx((fit["temperature"], fit["exponent"]))
    assert (exponent == 1.0) == (fit["form"] == "temperature")
    # the run's --max-length/--precision overrides are not written into the saved model
    assert (after["max_length"], after["precision"]) == (before["max_length"], before["precision"])
    model = RewardModel.from_pretrained(model_dir)
    r_a, r_b = model.score("q", ["Happy to help with tea.", "No."])
    delta = float(r_a - r_b)
    z = math.copysign(abs(delta / stored) ** exponent, delta)
    assert model.compare("q", "Happy to help with tea.", "No.") == pytest.approx(
        1 / (1 + math.exp(-z))
    )


def test_a_calibrator_without_calibrate_is_one_line(world):
    """--calibrator only chooses what --calibrate fits: alone it would do nothing, so it is
    refused rather than ignored."""
    with pytest.raises(UserError, match="--calibrator power chooses what --calibrate fits"):
        EvalConfig(model=str(world["model"]), data=str(world["data"]), calibrator="power")


def test_votes_with_ties_are_counted_and_bucketed(world, tmp_path):
    votes = tmp_path / "votes.jsonl"
    rows = []
    for i, pair in enumerate(toy_pairs(12, seed=5)):
        choices = (
            ["a", "a", "b"]
            if i % 3 == 0
            else (["a", "b", "tie"] if i % 3 == 1 else ["a", "a", "a"])
        )
        rows += [
            {
                "item_id": i,
                "prompt": pair.prompt,
                "response_a": pair.chosen,
                "response_b": pair.rejected,
                "annotator": f"w{j}",
                "choice": c,
            }
            for j, c in enumerate(choices)
        ]
    votes.write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics = run_eval(EvalConfig(model=str(world["model"]), data=str(votes), probes=False))
    assert metrics["ties"] == 4 and metrics["ties_detail"]["n"] == 4
    assert metrics["accuracy_by_strength"]["by"] == "vote agreement"
    assert set(metrics["accuracy_by_strength"]["buckets"]) == {"2/3", "3/3"}


def test_foreign_model_with_template_and_reference_data(world, tmp_path):
    """A plain HF folder (no rewardkit.json): --template sets the format, --reference-data
    gives the OOD statistics."""
    metrics = run_eval(
        EvalConfig(
            model=str(world["backbone"]),
            data=str(world["data"]),
            template="rewardkit",
            reference_data=str(world["data"]),
            probes=False,
        )
    )
    assert metrics["ood"]["distance_available"]
    assert str(world["data"]) in metrics["ood"]["reference"]
    no_stats = run_eval(
        EvalConfig(
            model=str(world["backbone"]),
            data=str(world["data"]),
            probes=False,
            out=str(tmp_path / "plain"),
        )
    )
    assert not no_stats["ood"]["distance_available"] and "note" in no_stats["ood"]
    html = (tmp_path / "plain" / "report.html").read_text()  # renders without statistics
    assert "--reference-data" in html and "Probes skipped" in html


def test_unlike_text_is_flagged_more_often(world, tmp_path):
    other = tmp_path / "other.jsonl"
    rng = np.random.default_rng(0)
    lines = []
    for i in range(30):
        digits = " ".join(str(x) for x in rng.integers(0, 10**4, size=6))
        lines.append(
            {
                "prompt": f"{digits} = ?",
                "chosen": f"{digits} {digits}",
                "rejected": f"## {i} ## {digits[::-1]}",
            }
        )
    other.write_text("".join(json.dumps(r) + "\n" for r in lines))
    inside = run_eval(EvalConfig(model=str(world["model"]), data=str(world["data"]), probes=False))
    outside = run_eval(EvalConfig(model=str(world["model"]), data=str(other), probes=False))
    assert outside["n"] == 30
    assert outside["ood"]["fraction_flagged"] > 0.8
    assert outside["ood"]["fraction_flagged"] > 2 * inside["ood"]["fraction_flagged"]


def test_combined_ensemble_of_separate_models(world, tmp_path):
    second = tmp_path / "second"
    train(
        TrainConfig(
            data=str(world["data"]),
            out=str(second),
            backbone=str(world["backbone"]),
            max_length=128,
            eval_fraction=0.25,
            freeze_backbone=True,
            seed=1,
            head_l2=1e-2,
            feature_cache=str(world["root"] / "cache"),
        ),
        quiet=True,
    )
    metrics = run_eval(
        EvalConfig(
            model=str(world["model"]), ensemble=str(second), data=str(world["data"]), probes=False
        )
    )
    assert "2 member models" in metrics["ensemble"]
    assert metrics["uncertainty"]["members"] == 2 and metrics["uncertainty"]["spread"]["mean"] > 0


def test_user_errors(world, tmp_path):
    with pytest.raises(UserError):
        EvalConfig(model="", data=str(world["data"]))
    with pytest.raises(UserError):
        run_eval(EvalConfig(model=str(tmp_path), data=str(world["data"])))
    only_ties = tmp_path / "ties.jsonl"
    only_ties.write_text(
        json.dumps({"prompt": "q", "chosen": "a", "rejected": "b", "tie": True}) + "\n"
    )
    with pytest.raises(UserError):
        run_eval(
            EvalConfig(model=str(world["model"]), data=str(only_ties), calibrate=True, probes=False)
        )
