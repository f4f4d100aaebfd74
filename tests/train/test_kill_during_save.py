"""A kill at any point of the final save leaves a folder that either does not load (one line,
exit 2, through `rewardkit score`) or loads and scores exactly as an uninterrupted run's; the
next run into a killed folder removes the hidden staging folder and finishes (issue 18,
reproducer 1: 2 of 13 kills used to leave a folder that loaded and scored garbage).

The runs are real `rewardkit train` processes on the tiny BERT (forked by `save_killer.py`
after one import of rewardkit), killed with SIGKILL at KILLS points spread evenly over the
duration of an uninterrupted run's final save."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from save_killer import staging_folders  # noqa: E402

from one_line_refusals import refusal, run_cli  # noqa: E402

KILLS = 32
REFERENCES = 3  # uninterrupted runs first; the fastest save times the kills (save_killer.py)
HELPER = Path(__file__).with_name("save_killer.py")


def train_args(world_files, backbone) -> list[str]:
    return [
        "--data", str(world_files["train"]), "--eval-data", str(world_files["eval"]),
        "--backbone", str(backbone), "--max-length", "128", "--batch-size", "4",
        "--max-steps", "2", "--lr", "1e-3", "--seed", "0", "--threads", "1",
    ]  # fmt: skip


def scores(model: Path, data: str, out: Path) -> np.ndarray:
    """`rewardkit score` of ``data`` with ``model`` (which must load): the raw rewards."""
    result = run_cli(["score", "--model", model, "--data", data, "--out", out])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return np.array([[row["reward_chosen"], row["reward_rejected"]] for row in rows])


def save_phase(out: Path) -> str:
    """How far a save killed before its swap got, from its staging folder's files."""
    staged = {p.name for folder in staging_folders(out) for p in (out.parent / folder).iterdir()}
    if "model.safetensors" not in staged:
        return "before the weights"
    if "tokenizer.json" not in staged:
        return "weights written, tokenizer not yet"
    if "metrics.jsonl" not in staged:
        return "tokenizer written, run files or links pending"
    return "all written, swap pending"


def outcome(run: dict, data: str, expected: np.ndarray, work: Path) -> str:
    """What a run left: refused in one line, or loaded with the reference's scores."""
    out = Path(run["out"])
    if not (out / "config.json").exists() and out.is_dir():
        line = refusal(["score", "--model", out, "--data", data, "--out", work / "x.jsonl"])
        assert str(out) in line, line
        return f"killed before the swap ({save_phase(out)}): not a model, one line, exit 2"
    np.testing.assert_allclose(scores(out, data, work / "s.jsonl"), expected, rtol=0, atol=1e-6)
    if not run["killed"]:
        return "finished before the kill: scores equal"
    return "killed after the swap: scores equal"


def test_a_kill_during_the_final_save_never_leaves_a_model_that_scores_wrong(
    tiny_bert_dir, world_files, tiny_config, tmp_path
):
    """REFERENCES + KILLS runs; the first REFERENCES are not killed. Each killed one: no model
    (one line, exit 2) or a model whose rewards on the 12 eval pairs equal the reference's
    to 1e-6. At least half of the runs were really killed (not finished first), some before
    the swap and some ending with the model in place (else the kills missed the save). Then
    a new `train` into a folder a kill left a staging folder beside removes it and ends with
    the reference's scores."""
    outs = [tmp_path / f"run-{i}" / "out" for i in range(REFERENCES + KILLS)]
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "args": train_args(world_files, tiny_bert_dir),
                "outs": list(map(str, outs)),
                "seed": 0,
                "references": REFERENCES,
            }
        )
    )
    helper = subprocess.run(
        [sys.executable, str(HELPER), str(spec)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert helper.returncode == 0, helper.stderr[-3000:]
    runs = json.loads(helper.stdout.splitlines()[-1])
    references, runs = runs[:REFERENCES], runs[REFERENCES:]
    assert all(r["exit"] == 0 and not r["killed"] for r in references), references
    assert len(runs) == KILLS
    data = str(world_files["eval"])
    expected = scores(outs[0], data, tmp_path / "reference.jsonl")
    work = tmp_path / "scoring"
    work.mkdir()
    outcomes = Counter(outcome(run, data, expected, work) for run in runs)
    swap_ms = min(r["seconds_to_swap"] for r in references) * 1000
    print(
        f"\n{KILLS} kills; the uninterrupted save swapped after {swap_ms:.0f} ms:", dict(outcomes)
    )
    assert sum(run["killed"] for run in runs) >= KILLS // 2, outcomes
    assert any(o.startswith("killed before") for o in outcomes), outcomes
    assert any(o.startswith("killed after") or o.startswith("finished") for o in outcomes)

    stale = [Path(run["out"]) for run in runs if staging_folders(Path(run["out"]))]
    assert stale, "no kill left a staging folder behind"
    from rewardkit.train import train

    rerun = stale[0]
    train(tiny_config(rerun, max_steps=2), quiet=True)  # the options of train_args
    assert staging_folders(rerun) == []
    np.testing.assert_allclose(
        scores(rerun, data, work / "rerun.jsonl"), expected, rtol=0, atol=1e-6
    )
