"""The model card of a trained model: YAML the hub reads, every figure from metrics.json, and
``rewardkit eval --update-card`` adding one section per data file around a person's text."""

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal, run_cli  # noqa: E402
from rewardkit.data import pairs_to_jsonl  # noqa: E402
from rewardkit.formatting import number, percent  # noqa: E402
from rewardkit.model.card_file import generated_sections, split_front_matter  # noqa: E402
from rewardkit.model.card_sections import NOT_MEASURED, calibration, failure_modes  # noqa: E402
from rewardkit.train import TrainConfig, train  # noqa: E402
from tiny_reward_models import toy_pairs  # noqa: E402

HAND_WRITTEN = "Our team's note: do not use this model for medical advice."


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bert_dir):
    root = tmp_path_factory.mktemp("card")
    pairs_to_jsonl(root / "train.jsonl", toy_pairs(60, seed=0))
    pairs_to_jsonl(root / "a.jsonl", toy_pairs(24, seed=1))
    pairs_to_jsonl(root / "b.jsonl", toy_pairs(32, seed=2)[8:])
    config = TrainConfig(
        data=str(root / "train.jsonl"),
        out=str(root / "rm"),
        backbone=str(tiny_bert_dir),
        freeze_backbone=True,
        ensemble=3,
        max_length=128,
        eval_fraction=0.25,
    )
    train(config, quiet=True)
    return root


def _card(root):
    return (root / "rm" / "README.md").read_text(encoding="utf-8")


def _check_measured(section: str, m: dict) -> None:
    """Each figure of an evaluation's section, as metrics.json has it."""
    assert f"| all pairs | {m['n']} | {percent(m['accuracy'])} |" in section
    for name, block in m["per_subset"].items():
        low, high = block["accuracy_ci95"]
        row = f"| subset `{name}` | {block['n']} | {percent(block['accuracy'])} "
        assert row + f"| {percent(low)}–{percent(high)} |" in section
    assert f"ECE {number(m['calibration']['ece'])}" in section
    rho = m["length_bias"]["spearman_reward_length"]
    assert f"Spearman ρ(reward, length) = {number(rho, 2)}" in section
    assert f"Flagged: {percent(m['ood']['fraction_flagged'])} of {m['ood']['n']} pairs" in section
    for sentence in failure_modes(m):
        assert sentence in section


def test_the_card_is_a_hub_card_with_the_run_figures(trained):
    card = _card(trained)
    metrics = json.loads((trained / "rm" / "metrics.json").read_text())
    meta, body = split_front_matter(card)
    assert card.startswith("---\n") and yaml.safe_load(card.split("---\n")[1]) == meta
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert meta["tags"] == ["reward-model", "rewardkit"]
    result = meta["model-index"][0]["results"][0]["metrics"][0]
    assert result["type"] == "accuracy" and result["value"] == metrics["accuracy"]
    sections = generated_sections(body)
    assert list(sections) == ["usage", "training"]
    assert "AutoModelForSequenceClassification" in sections["usage"]
    assert "rewardkit serve DIR" in sections["usage"]
    training = sections["training"]
    info = json.loads((trained / "rm" / "rewardkit.json").read_text())
    assert f"`{info['data']['fingerprint']}`" in training
    assert f"{info['data']['train_pairs']} train, {info['data']['eval_pairs']} eval" in training
    overlong = metrics["training"]["train_overlong"]
    assert f"{overlong['truncated']} truncated" in training
    _check_measured(training, metrics)
    assert f"### Hackability probes\n\n{NOT_MEASURED}." in training  # probes run only in eval


def test_update_card_adds_one_section_per_data_file_and_keeps_human_text(trained):
    card_path = trained / "rm" / "README.md"
    meta, body = split_front_matter(_card(trained))
    card_path.write_text(_card(trained).replace(body, f"{HAND_WRITTEN}\n\n{body}\nThanks!\n"))
    model = str(trained / "rm")
    outs = {}
    for name in ("a", "b", "a"):  # a again: refreshed, not added twice
        out = trained / f"eval-{name}"
        result = run_cli(
            [
                "eval",
                "--model",
                model,
                "--data",
                trained / f"{name}.jsonl",
                "--out",
                out,
                "--update-card",
            ]  # fmt: skip
        )
        assert result.exit_code == 0, result.stderr
        outs[name] = json.loads((out / "metrics.json").read_text())
    card = _card(trained)
    assert HAND_WRITTEN in card and card.index(HAND_WRITTEN) < card.index("rewardkit:begin")
    assert "Thanks!" in card
    assert split_front_matter(card)[0] == meta
    sections = generated_sections(card)
    evals = [name for name in sections if name.startswith("eval-")]
    assert len(evals) == 2 and list(sections)[:2] == ["usage", "training"]
    for m in outs.values():
        (name,) = [n for n in evals if n.startswith(f"eval-{m['data_fingerprint'][:16]}")]
        _check_measured(sections[name], m)
        assert "### Hackability probes\n\nEach edit" in sections[name]


def test_update_card_needs_one_model_folder(trained):
    line = refusal(
        [
            "eval",
            "--model",
            f"{trained / 'rm'},{trained / 'rm'}",
            "--data",
            trained / "a.jsonl",
            "--update-card",
        ]  # fmt: skip
    )
    assert "--update-card writes one model's README.md" in line


def test_the_calibration_section_prints_the_stored_form():
    """An evaluation at T = 1.2 whose --calibrate stored the power form (T = 2, γ = 0.75):
    the section names both formulas and their parameters; a metrics.json from before the
    exponent existed reads as the temperature form."""
    fit = {
        "form": "power",
        "temperature": 2.0,
        "exponent": 0.75,
        "fitted_on": "all pairs",
        "tested_on": "every pair",
        "why": "auto: lower held-out NLL",
        "before": {"ece": 0.05},
        "after": {"ece": 0.01},
    }
    block = {"temperature": 1.2, "exponent": 1.0, "ece": 0.05, "n": 10, "calibration_fit": fit}
    section = calibration({"calibration": block})
    assert "P(chosen ≻ rejected) = σ(Δ/T), Δ = r(chosen) − r(rejected), with T = 1.2" in section
    assert "the power form, P = σ(sign(Δ)·|Δ/T|^γ) with T = 2, γ = 0.75" in section
    assert "from 0.05 to 0.01 (auto: lower held-out NLL)" in section
    old = calibration({"calibration": {"temperature": 1.5, "ece": 0.1, "n": 10}})
    assert "σ(Δ/T), Δ = r(chosen) − r(rejected), with T = 1.5:" in old
