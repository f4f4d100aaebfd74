"""Exact resume: a `rewardkit train` process killed with SIGKILL after its first checkpoint,
then resumed (resume=True, i.e. --resume, with the same options), ends with weights
bit-identical to an uninterrupted run, and metrics.jsonl logs no step twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from rewardkit.train import train

# 32 pairs, batch 1, 2 epochs = 64 optimizer steps (~30 ms each on the tiny BERT, one
# thread), a checkpoint every 8: the first appears ~2 s before the run would end.
OPTIONS = dict(batch_size=1, epochs=2, save_every=8, eval_every=16, keep_checkpoints=2)


def cli_args(config):
    return [
        sys.executable,
        "-m",
        "rewardkit",
        "train",
        "--data",
        config.data,
        "--eval-data",
        config.eval_data,
        "--out",
        config.out,
        "--backbone",
        config.backbone,
        "--max-length",
        str(config.max_length),
        "--batch-size",
        str(config.batch_size),
        "--epochs",
        str(config.epochs),
        "--lr",
        str(config.lr),
        "--seed",
        str(config.seed),
        "--threads",
        "1",
        "--save-every",
        str(config.save_every),
        "--eval-every",
        str(config.eval_every),
        "--keep-checkpoints",
        str(config.keep_checkpoints),
    ]


def steps_logged(out):
    return [
        json.loads(line)["step"] for line in (Path(out) / "metrics.jsonl").read_text().splitlines()
    ]


def test_sigkill_then_resume_gives_bit_identical_weights(tiny_config, tmp_path):
    uninterrupted = tiny_config(tmp_path / "a", **OPTIONS)
    train(uninterrupted, quiet=True)
    total = 32 * OPTIONS["epochs"]
    assert steps_logged(uninterrupted.out) == list(range(16, total + 1, 16))

    killed = tiny_config(tmp_path / "b", **OPTIONS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    pointer = Path(killed.out) / "checkpoints" / "latest.json"
    process = subprocess.Popen(
        cli_args(killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and not pointer.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    assert pointer.exists()
    assert not (Path(killed.out) / "model.safetensors").exists(), "finished before the kill"
    killed_at = json.loads(pointer.read_text())["step"]
    assert 8 <= killed_at < total

    # --resume in this process (same options as the command line; saves a process start)
    resumed = train(tiny_config(tmp_path / "b", **OPTIONS, resume=True), quiet=True)
    assert resumed.state.step == total
    a, b = (
        load_file(Path(uninterrupted.out) / "model.safetensors"),
        load_file(Path(killed.out) / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert steps_logged(killed.out) == steps_logged(uninterrupted.out)  # no step twice
