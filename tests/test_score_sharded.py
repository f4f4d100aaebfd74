"""Sharded scoring: ``torchrun``/``accelerate launch`` with 2 CPU processes (gloo) split the
input by whole batches of the single-process plan; ``score`` writes the same bytes and
``eval`` the same metrics (timings aside) as one process."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launching import accelerate_launch, single_process, torchrun  # noqa: E402


def test_sharded_score_is_byte_identical(tmp_path, tiny_bert_rm_dir, world_files):
    # batch 4 over 24 texts (12 pairs): 6 batches, 3 per process, the plan's order mixed
    args = ["score", "--model", tiny_bert_rm_dir, "--data", world_files["eval"]]
    args += ["--batch-size", 4, "--device", "cpu"]
    single_process([*args, "--out", tmp_path / "one.jsonl"])
    launched = torchrun([*args, "--out", tmp_path / "two.jsonl"])
    one, two = (tmp_path / "one.jsonl").read_bytes(), (tmp_path / "two.jsonl").read_bytes()
    assert len(one.splitlines()) == 12
    assert two == one, launched.stderr[-2000:]
    assert "on 2 process(es)" in " ".join(launched.stderr.split())


def test_sharded_eval_gives_single_process_metrics(tmp_path, tiny_bert_rm_dir, world_files):
    args = ["eval", "--model", tiny_bert_rm_dir, "--data", world_files["eval"]]
    args += ["--batch-size", 4, "--device", "cpu", "--no-probes"]
    single_process([*args, "--out", tmp_path / "one"])
    accelerate_launch([*args, "--out", tmp_path / "two"])
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert (one.pop("processes"), two.pop("processes")) == (1, 2)
    assert _without_timings(two) == _without_timings(one)
    assert (tmp_path / "two" / "pairs.jsonl").read_bytes() == (
        tmp_path / "one" / "pairs.jsonl"
    ).read_bytes()


def _without_timings(metrics):
    if isinstance(metrics, dict):
        return {
            k: _without_timings(v)
            for k, v in metrics.items()
            if not any(word in k for word in ("second", "elapsed", "per_s", "timing"))
        }
    if isinstance(metrics, list):
        return [_without_timings(v) for v in metrics]
    return metrics
