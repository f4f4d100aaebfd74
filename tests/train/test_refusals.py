"""Training refuses what cannot work before it writes anything, and reads its own files back
only as they were written (issue 18): an empty eval split is one line before ``--out``
exists (reproducer 5); a tampered ``optimizer.pt`` on ``--resume`` is one line and its code
never runs (6); ``--resume`` works after the run folder is moved or copied (9)."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal, run_cli  # noqa: E402
from rewardkit.train.outputs import MetricsLog  # noqa: E402

RESUMABLE = dict(max_steps=4, save_every=2, eval_every=2)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_config):
    """A finished 4-step run with checkpoints at step 2 (the last step saves no checkpoint)."""
    from rewardkit.train import train

    config = tiny_config(tmp_path_factory.mktemp("finished") / "out", **RESUMABLE)
    train(config, quiet=True)
    return config


def few_prompts(write_preferences, n: int, name: str = "few.jsonl") -> str:
    """``n`` pairs, each with its own prompt, none of which --eval-fraction 0.2 holds out."""
    from rewardkit.data.splits import is_eval_prompt

    rows, i = [], 0
    while len(rows) < n:
        prompt = f"question {i} ?"
        if not is_eval_prompt(prompt, 0.2):
            rows.append({"prompt": prompt, "chosen": "a good answer", "rejected": "no"})
        i += 1
    return write_preferences(rows, name)


@pytest.mark.parametrize("extra", [[], ["--no-proxy-eval"], ["--freeze-backbone"]])
def test_an_empty_eval_split_is_one_line_before_anything_is_written(
    extra, tiny_bert_dir, write_preferences, tmp_path
):
    """Eight prompts of which --eval-fraction 0.2 holds out none: exit 2, one line saying
    what to pass, and no --out folder (it used to crash after training with LinAlgError, or
    KeyError 'accuracy' with --no-proxy-eval, leaving metrics.jsonl and train_config.json)."""
    data = few_prompts(write_preferences, 8)
    out = tmp_path / "out"
    line = refusal(
        ["train", "--data", data, "--out", out, "--backbone", tiny_bert_dir,
         "--max-length", "64", "--threads", "1", *extra]
    )  # fmt: skip
    assert "eval split is empty" in line and "--eval-data" in line and "--eval-fraction" in line
    assert not out.exists()


def test_a_refused_members_run_leaves_a_previous_ensemble_alone(
    tiny_bert_dir, write_preferences, tmp_path
):
    """--ensemble-mode members into a folder holding an earlier ensemble, with an empty eval
    split: one line, and the earlier ensemble.json (what makes the folder load) untouched."""
    out = tmp_path / "ensemble"
    out.mkdir()
    (out / "ensemble.json").write_text('{"form": "members", "members": ["member-0"]}')
    line = refusal(
        ["train", "--data", few_prompts(write_preferences, 8), "--out", out, "--backbone",
         tiny_bert_dir, "--ensemble", "2", "--ensemble-mode", "members", "--threads", "1"]
    )  # fmt: skip
    assert "eval split is empty" in line
    assert json.loads((out / "ensemble.json").read_text())["members"] == ["member-0"]


def test_eval_pairs_all_dropped_as_over_long_is_one_line(
    tiny_bert_dir, write_preferences, tmp_path
):
    """--eval-data whose every pair is over-long under --overlong drop: one line naming the
    file and the fix, nothing written."""
    data = few_prompts(write_preferences, 8)
    long = " ".join(["word"] * 100)
    eval_data = write_preferences(
        [{"prompt": "other ?", "chosen": long, "rejected": long + " no"}], "eval.jsonl"
    )
    out = tmp_path / "out"
    line = refusal(
        ["train", "--data", data, "--eval-data", eval_data, "--out", out, "--backbone",
         tiny_bert_dir, "--max-length", "32", "--overlong", "drop", "--threads", "1"]
    )  # fmt: skip
    assert eval_data in line and "over-long" in line and "--max-length" in line
    assert not out.exists()


class Payload:
    """Unpickling this would run code: it writes a marker file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled"))


def test_a_tampered_optimizer_state_is_one_line_and_never_run(
    finished, tiny_config, cli_args, tmp_path
):
    """--resume of a copy whose checkpoint's optimizer.pt holds a pickled call: exit 2, one
    line naming optimizer.pt, and the call never ran (no marker file)."""
    out = tmp_path / "copy"
    shutil.copytree(finished.out, out)
    marker = tmp_path / "CODE_RAN"
    torch.save({"state": Payload(marker)}, out / "checkpoints" / "step-2" / "optimizer.pt")
    line = refusal(cli_args(tiny_config(out, **RESUMABLE, resume=True)), after_notes=True)
    assert str(out / "checkpoints" / "step-2" / "optimizer.pt") in line
    assert "holds more than tensors" in line and "it calls " in line
    assert not marker.exists()


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_resume_works_after_the_run_folder_is_moved_or_copied(
    how, finished, tiny_config, cli_args, tmp_path
):
    """The finished run, moved (or copied) elsewhere, resumes from its step-2 checkpoint to
    the same final weights: `out` is where the run is, not an option that changed."""
    source = tmp_path / "before"
    shutil.copytree(finished.out, source)
    out = tmp_path / "elsewhere" / "run"
    out.parent.mkdir()
    (shutil.move if how == "moved" else shutil.copytree)(source, out)
    result = run_cli(cli_args(tiny_config(out, **RESUMABLE, resume=True)))
    assert result.exit_code == 0, result.stderr
    assert "resumed from" in result.stderr
    a = load_file(Path(finished.out) / "model.safetensors")
    b = load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_torn_last_metrics_line_is_dropped_on_resume(tmp_path):
    """A kill mid-append leaves half a line; truncating to a step keeps the whole lines up
    to it and drops the torn one instead of failing on it."""
    log = MetricsLog(tmp_path)
    log.reset()
    for step in (2, 4, 6):
        log.append({"step": step})
    with open(log.path, "a") as handle:
        handle.write('{"step": 8, "ev')
    log.truncate_to(4)
    assert [json.loads(line)["step"] for line in log.path.read_text().splitlines()] == [2, 4]


def test_accelerate_already_set_to_bf16_is_one_line_not_a_silent_bf16_run():
    """Another trainer in this process (TRL's configs default to bf16) left accelerate's
    one-per-process state at bf16: rewardkit does not train under that autocast, it says so;
    after reset_accelerate_state() it trains without accelerate's mixed precision."""
    from accelerate import Accelerator

    from rewardkit.errors import UserError
    from rewardkit.train.accelerator import reset_accelerate_state, training_accelerator

    reset_accelerate_state()
    try:
        Accelerator(cpu=True, mixed_precision="bf16")
        with pytest.raises(UserError, match="run rewardkit train in a fresh process"):
            training_accelerator()
    finally:
        reset_accelerate_state()
    assert training_accelerator().mixed_precision == "no"
