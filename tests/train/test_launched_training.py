"""Distributed training on the CPU (gloo), dropout off, the tiny BERT: 2 processes with batch
2 each, and the same job as two one-process "nodes" on loopback, follow the loss trajectory
(1e-4) and end at the weights (1e-5) of one process with batch 4. 29 pairs make the last
global batch a single pair, so one process's share of it is empty (weight 0)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from launching import (  # noqa: E402
    accelerate_launch,
    assert_same_model,
    first_pairs,
    single_process,
    two_machines,
)
from one_line_refusals import refusal  # noqa: E402

PAIRS = 29  # 7 global batches of 4, then 1 pair


@pytest.fixture(scope="module")
def job(tmp_path_factory, tiny_config, cli_args, world_files):
    """``job(out, batch_size)`` → the ``rewardkit train`` arguments of the shared job."""
    data = first_pairs(world_files["train"], tmp_path_factory.mktemp("launched"), PAIRS)

    def make(out, batch_size: int) -> list[str]:
        config = tiny_config(
            out, data=str(data), batch_size=batch_size, epochs=1, eval_every=1, save_every=4
        )
        return cli_args(config)

    return make


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, job) -> Path:
    out = tmp_path_factory.mktemp("one") / "run"
    single_process(job(out, 4))
    return out


def test_two_processes_match_one_process_with_the_global_batch(tmp_path, job, one_process):
    out = tmp_path / "two"
    launched = accelerate_launch(job(out, 2))
    said = " ".join(launched.stderr.split())  # the console wraps long lines
    assert "2 pairs per process × 2 process(es) × 1 accumulation = 4 pairs" in said
    _assert_same_run(out, one_process)
    launch = json.loads((out / "train_config.json").read_text())["launch"]
    assert launch == {
        "engine": "DDP",
        "processes": 2,
        "batch_size_per_process": 2,
        "grad_accum": 1,
        "global_batch": 4,
    }
    assert json.loads((out / "metrics.json").read_text())["training"]["global_batch"] == 4
    # resuming with another number of processes is refused, naming the one it began with
    line = refusal([*job(out, 2), "--resume"], after_notes=True)
    assert "began with 2 process(es) and now has 1" in line


def test_two_nodes_on_loopback_match_one_process(tmp_path, job, one_process):
    out = tmp_path / "nodes"
    two_machines(job(out, 2))
    _assert_same_run(out, one_process)


def _assert_same_run(out: Path, reference: Path) -> None:
    losses, expected = _losses(out), _losses(reference)
    assert [step for step, _ in losses] == [step for step, _ in expected] == list(range(1, 9))
    for (step, loss), (_, want) in zip(losses, expected):
        assert loss == pytest.approx(want, abs=1e-4), step
    assert_same_model(out, reference, PAIRS)


def _losses(out: Path) -> list[tuple[int, float]]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [(row["step"], row["train_loss"]) for row in map(json.loads, lines)]


def test_a_launcher_precision_other_than_precision_is_refused(tmp_path, job, monkeypatch):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    line = refusal(job(tmp_path / "out", 4))
    assert "launcher asks for mixed precision bf16 but --precision is fp32" in line


@pytest.mark.parametrize(
    "path", [["--freeze-backbone"], ["--ensemble", 2, "--ensemble-mode", "members"]]
)
def test_single_process_paths_refuse_a_launcher(tmp_path, job, monkeypatch, path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    line = refusal([*job(tmp_path / "out", 4), *path])
    assert "runs in one process, not under a launcher (2 processes)" in line
