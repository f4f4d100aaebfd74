"""The `rewardkit` command line: help with examples, YAML configs with flag overrides, one-line
errors with exit code 2, `score` and `eval` outputs. Process-level behaviour (exit codes, what
reaches stderr) runs the real console script; the rest uses typer's CliRunner."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import rewardkit
from rewardkit.config import build_config
from rewardkit.data import read_pairs
from rewardkit.errors import UserError
from rewardkit.model import RewardModel, load_reward_model
from rewardkit.train import TrainConfig

runner = CliRunner()


def cli():
    from rewardkit.cli import app

    return app


def run_process(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


@pytest.mark.parametrize("command", ["train", "score", "eval", "demo"])
def test_help_shows_an_example(command):
    result = runner.invoke(cli(), [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.output and f"rewardkit {command}" in result.output


def test_version_runs_as_a_module():
    result = run_process("version", timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == rewardkit.__version__


# --------------------------------------------------------------------------- configs
def test_yaml_gives_options_and_flags_override_it(tmp_path):
    """YAML: lr 5e-5 (a string to PyYAML), batch-size 8, ties davidson; the override
    batch_size=2 wins, the rest comes from the file, and the YAML int 3 becomes epochs 3."""
    path = tmp_path / "train.yaml"
    path.write_text(
        "data: d.jsonl\nout: runs/x\nlr: 5e-5\nbatch-size: 8\nties: davidson\nepochs: 3\n"
    )
    config = build_config(TrainConfig, path, {"batch_size": 2, "lr": None})
    assert (config.data, config.out, config.lr, config.batch_size, config.ties, config.epochs) == (
        "d.jsonl",
        "runs/x",
        5e-5,
        2,
        "davidson",
        3,
    )
    assert isinstance(config.lr, float)


def test_unknown_yaml_key_is_one_line(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("data: d.jsonl\nout: o\nlearning_rate: 0.1\n")
    with pytest.raises(UserError) as err:
        build_config(TrainConfig, path)
    assert str(err.value).startswith(f"{path}: unknown option(s) learning_rate")
    assert "\n" not in str(err.value)


def test_cli_reads_config_file_and_flag_overrides(tmp_path, monkeypatch):
    """`rewardkit train --config FILE --batch-size 2`: the train function receives the file's
    options with the flag's batch size."""
    seen = []
    monkeypatch.setattr("rewardkit.train.train", lambda config: seen.append(config))
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"data": "d.jsonl", "out": "o", "batch_size": 8, "lr": 0.01}))
    result = runner.invoke(cli(), ["train", "--config", str(path), "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    (config,) = seen
    assert (config.data, config.batch_size, config.lr) == ("d.jsonl", 2, 0.01)


def test_cli_user_errors_are_one_line_with_exit_code_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data: d.jsonl\nout: o\nnot_an_option: 1\n")
    result = runner.invoke(cli(), ["train", "--config", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not_an_option" in result.stderr
    result = runner.invoke(cli(), ["train", "--data", "d.jsonl", "--out", "o", "--ties", "maybe"])
    assert result.exit_code == 2 and "--ties 'maybe' is not one of drop, davidson" in result.stderr


def test_malformed_data_file_is_one_line_on_stderr(tmp_path, tiny_bert_dir):
    """Broken JSON on line 3: exit code 2, stderr is exactly one line naming file:3, and no
    traceback."""
    data = tmp_path / "pairs.jsonl"
    good = json.dumps({"prompt": "hi", "chosen": "hello", "rejected": "go away"})
    data.write_text(f'{good}\n{good}\n{{"prompt": "hi", "chosen": }}\n{good}\n')
    result = run_process(
        "train",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--backbone",
        str(tiny_bert_dir),
        "--max-length",
        "64",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"{data}:3" in result.stderr and "broken JSON" in result.stderr


def test_training_on_a_cpu_prints_no_deepspeed_device_warning(tmp_path, tiny_bert_dir, world_files):
    """With DeepSpeed installed, saving a model imports it (through transformers and
    accelerate), and on a machine without a GPU it would print its device-detection warning
    on stdout in the middle of rewardkit's output."""
    pytest.importorskip("deepspeed")
    env = {k: v for k, v in os.environ.items() if k != "DS_ACCELERATOR"}
    args = ["train", "--data", world_files["train"], "--eval-data", world_files["eval"]]
    args += ["--out", tmp_path / "out", "--backbone", tiny_bert_dir, "--max-steps", "2"]
    result = subprocess.run(
        [sys.executable, "-m", "rewardkit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "saved" in result.stdout + result.stderr
    assert "Setting accelerator" not in result.stdout + result.stderr


def test_deepspeed_is_told_the_cpu_before_any_command_module_loads_torch():
    """``rewardkit demo`` imports torch only inside the command: the device is named before."""
    pytest.importorskip("deepspeed")
    env = {k: v for k, v in os.environ.items() if k != "DS_ACCELERATOR"}
    code = (
        "import os, sys; from rewardkit.cli_support import quiet_deepspeed; quiet_deepspeed(); "
        "print(os.environ.get('DS_ACCELERATOR'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.stdout.strip() == "cpu", done.stderr[-2000:]


# --------------------------------------------------------------------------- score / eval
PAIRS = [
    {
        "id": "long",
        "prompt": "tell me about tea and coffee and water please",
        "chosen": "green tea is good for you",
        "rejected": "no",
    },
    {"id": "short", "prompt": "hi", "chosen": "hello", "rejected": "go away"},
    {
        "id": "chat",
        "prompt": [{"role": "user", "content": "what is a dog ?"}],
        "chosen": "a dog is an animal",
        "rejected": "i do not know",
    },
]


def test_score_pairs_in_input_order(tiny_bert_rm_dir, write_preferences, tmp_path):
    """Each output line i holds record i's raw rewards (equal to RewardModel.score to 1e-5)
    and normalized ones, (r − 0.25)/2 with the model's saved mean/std."""
    data = write_preferences(PAIRS)
    out = tmp_path / "scores.jsonl"
    result = runner.invoke(
        cli(),
        [
            "score",
            "--model",
            str(tiny_bert_rm_dir),
            "--data",
            data,
            "--out",
            str(out),
            "--batch-size",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["long", "short", "chat"]
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    for row, pair in zip(rows, PAIRS):
        expected = model.score(pair["prompt"], [pair["chosen"], pair["rejected"]])
        got = np.array([row["reward_chosen"], row["reward_rejected"]])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        np.testing.assert_allclose(
            [row["normalized_chosen"], row["normalized_rejected"]],
            (got - 0.25) / 2.0,
            rtol=0,
            atol=1e-9,
        )
    assert "scored 6 texts from 3 records" in result.output


def test_score_single_responses_in_input_order(tiny_bert_rm_dir, write_preferences, tmp_path):
    singles = [
        {"id": str(i), "prompt": p["prompt"], "response": p["chosen"]} for i, p in enumerate(PAIRS)
    ]
    data = write_preferences(singles, "singles.jsonl")
    out = tmp_path / "scores.jsonl"
    result = runner.invoke(
        cli(), ["score", "--model", str(tiny_bert_rm_dir), "--data", data, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["id"] for row in rows] == ["0", "1", "2"]
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    expected = np.array([model.score(s["prompt"], [s["response"]])[0] for s in singles])
    np.testing.assert_allclose([row["reward"] for row in rows], expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        [row["normalized_reward"] for row in rows], (expected - 0.25) / 2.0, rtol=0, atol=1e-5
    )
    assert len(set(np.round(expected, 6))) == 3


def test_eval_writes_metrics_and_prints_accuracy(tiny_bert_rm_dir, write_preferences, tmp_path):
    """`rewardkit eval --out D` writes D/metrics.json; the printed table shows its accuracy
    as a percentage with one decimal."""
    data = write_preferences(PAIRS)
    out = tmp_path / "eval"
    result = runner.invoke(
        cli(),
        ["eval", "--model", str(tiny_bert_rm_dir), "--data", data, "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 3 and metrics["model"] == str(tiny_bert_rm_dir)
    scored = load_reward_model(tiny_bert_rm_dir).score_pairs(read_pairs(data)[0])
    assert metrics["accuracy"] == pytest.approx(np.mean(scored.r_chosen > scored.r_rejected))
    assert "accuracy" in result.output and f"{100 * metrics['accuracy']:.1f}%" in result.output


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_device_without_a_gpu_is_one_line(tiny_bert_rm_dir, write_preferences, tmp_path):
    """--device cuda where no GPU is visible, or a device that is not one: exit 2, one line;
    --device auto runs on the CPU."""
    data = write_preferences(PAIRS)
    out = tmp_path / "scores.jsonl"
    base = ["score", "--model", str(tiny_bert_rm_dir), "--data", data, "--out", str(out)]
    for device, says in (("cuda", "no such CUDA GPU is visible"), ("tpu", "is not a device")):
        result = runner.invoke(cli(), base + ["--device", device])
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and says in result.stderr
    assert runner.invoke(cli(), base + ["--device", "auto"]).exit_code == 0
