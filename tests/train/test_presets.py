"""`rewardkit train --preset NAME`: a named set of options beneath the user's own —
defaults ← preset ← --config YAML ← flags — an unknown name is one line (exit 2), and every
shipped preset is a valid config whose options the command line can spell."""

import dataclasses

import pytest
import yaml
from typer.testing import CliRunner

from rewardkit.config import Preset, build_config, option_flags
from rewardkit.errors import UserError
from rewardkit.train import TrainConfig
from rewardkit.train.presets import PRESETS

runner = CliRunner()
REQUIRED = {"data": "d.jsonl", "out": "o"}
TEST_PRESET = Preset({"epochs": 2, "precision": "bf16", "proxy_eval": False}, "a test preset")


@pytest.fixture
def with_test_preset(monkeypatch):
    monkeypatch.setattr(TrainConfig, "presets", {**PRESETS, "quick": TEST_PRESET})


def cli():
    from rewardkit.cli import app

    return app


def trained_config(monkeypatch, *args) -> TrainConfig:
    """The TrainConfig `rewardkit train ARGS` hands to the library."""
    seen = []
    monkeypatch.setattr("rewardkit.train.train", lambda config: seen.append(config))
    result = runner.invoke(cli(), ["train", *args])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_a_preset_sets_its_options(with_test_preset):
    config = build_config(TrainConfig, None, {**REQUIRED, "preset": "quick"})
    assert (config.preset, config.epochs, config.precision, config.proxy_eval) == (
        "quick",
        2,
        "bf16",
        False,
    )
    assert config.lr == 1e-4  # not in the preset: the default


def test_flags_override_the_preset(with_test_preset, monkeypatch):
    config = trained_config(
        monkeypatch, "--data", "d.jsonl", "--out", "o", "--preset", "quick", "--epochs", "3"
    )
    assert (config.epochs, config.precision, config.proxy_eval) == (3, "bf16", False)


def test_yaml_overrides_the_preset_and_flags_override_both(with_test_preset, monkeypatch, tmp_path):
    """YAML: epochs 5 and proxy_eval true over the preset's 2 and false; its precision bf16
    stays; the flag --no-proxy-eval wins over the file. The preset may be named in the file."""
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({**REQUIRED, "epochs": 5, "proxy_eval": True}))
    config = trained_config(monkeypatch, "--config", str(path), "--preset", "quick")
    assert (config.epochs, config.precision, config.proxy_eval) == (5, "bf16", True)
    config = trained_config(
        monkeypatch, "--config", str(path), "--preset", "quick", "--no-proxy-eval"
    )
    assert (config.epochs, config.precision, config.proxy_eval) == (5, "bf16", False)
    path.write_text(yaml.safe_dump({**REQUIRED, "preset": "quick", "lr": 0.5}))
    config = build_config(TrainConfig, path)
    assert (config.epochs, config.precision, config.lr) == (2, "bf16", 0.5)


def test_an_unknown_preset_is_one_line_with_exit_2_listing_the_known_ones():
    result = runner.invoke(cli(), ["train", "--data", "d.jsonl", "--out", "o", "--preset", "x"])
    assert result.exit_code == 2
    known = ", ".join(PRESETS)
    assert result.stderr == (
        f"error: --preset 'x' is not a preset; the presets are: {known} "
        "(see rewardkit train --help)\n"
    )
    with pytest.raises(UserError, match="--preset 'x' is not a preset"):
        TrainConfig(**REQUIRED, preset="x")  # the dataclass checks the name too


def test_help_shows_the_option_with_its_help_text():
    result = runner.invoke(cli(), ["train", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert "--preset" in result.output
    assert "Start from a named set of options, each measured" in result.output
    flat = " ".join(result.output.split())  # the help panel wraps long lines
    default = " ".join(option_flags(PRESETS["default"].options))
    assert f"default = {default}; budget = default --epochs 2." in flat


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_shipped_preset_is_a_valid_config_that_its_flags_spell(name, monkeypatch):
    preset = PRESETS[name]
    assert preset.description and set(preset.options) <= {
        f.name for f in dataclasses.fields(TrainConfig)
    }
    from_preset = build_config(TrainConfig, None, {**REQUIRED, "preset": name})
    from_flags = trained_config(
        monkeypatch, "--data", "d.jsonl", "--out", "o", *option_flags(preset.options)
    )
    assert dataclasses.replace(from_flags, preset=name) == from_preset


def test_the_default_preset_is_the_defaults():
    """`default` pins the settings BENCHMARKS.md measured as the defaults: if a default
    moves, this preset (or its name) must be revisited."""
    defaults = TrainConfig(**REQUIRED)
    for option, value in PRESETS["default"].options.items():
        assert getattr(defaults, option) == value, option


def test_the_budget_preset_is_the_measured_recipe():
    """`budget` is bench/quality_budget.py's `epochs2` recipe: the default preset with two
    epochs and nothing else changed (what BENCHMARKS.md 'Accuracy for the time' measured)."""
    budget, default = PRESETS["budget"].options, PRESETS["default"].options
    assert budget == {**default, "epochs": 2}
    assert "BENCHMARKS.md 'Accuracy for the time'" in PRESETS["budget"].description


def test_option_flags_spell_booleans_as_the_cli_does():
    assert option_flags({"epochs": 2, "proxy_eval": False, "freeze_backbone": True}) == [
        "--epochs",
        "2",
        "--no-proxy-eval",
        "--freeze-backbone",
    ]


def test_resume_compares_the_options_a_preset_set_not_its_name(tiny_config, tmp_path):
    """A run begun under `--preset default` resumes without naming the preset (the options
    it set are compared, not its name); a changed option is still refused."""
    from rewardkit.train import train

    options = dict(max_steps=4, save_every=2)
    train(tiny_config(tmp_path / "out", preset="default", **options), quiet=True)
    resumed = train(tiny_config(tmp_path / "out", resume=True, **options), quiet=True)
    assert resumed.state.step == 4
    with pytest.raises(UserError, match="options changed since the run began: lr"):
        train(tiny_config(tmp_path / "out", resume=True, lr=0.5, **options), quiet=True)
