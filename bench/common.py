"""Shared helpers for the benchmarks: machine facts, the measured matmul peak, FLOP counts.

Benchmarks are scripts, never timed tests. Each prints ratios against its anchor measured in
the same run, on the same machine.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    threads = torch.get_num_threads()
    return f"{cpu}, {os.cpu_count()} cores{mem}{gpu}, torch {torch.__version__}, {threads} threads"


def commit() -> str:
    """The short hash of the checkout the benchmark runs from."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
        )
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "(not a git checkout)"


def today() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def matmul_peak(
    dtype: torch.dtype, n: int = 2048, repeats: int = 10, call_budget_s: float = 0.5
) -> float:
    """Measured GFLOP/s of an ``n×n @ n×n`` matmul in ``dtype`` (best of ``repeats``, after
    warm-up: AMX tiles and clock licences take a few calls to settle).

    ``n`` shrinks (by halves, down to 256) until one call is estimated to take at most
    ``call_budget_s``: a CPU without bf16 matmul units (no AMX, no AVX512-BF16) runs a 2048²
    bf16 matmul in minutes, which would stall every benchmark for a number that only gives
    context (and is then far from any peak anyway)."""
    probe = 256
    a = torch.randn(probe, probe).to(dtype)
    a @ a
    start = time.perf_counter()
    a @ a
    per_call = time.perf_counter() - start
    while n > probe and per_call * (n / probe) ** 3 > call_budget_s:
        n //= 2
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def encoder_train_flops_per_token(config, seq_len: float) -> float:
    """Training FLOPs per token of a BERT-style encoder: 6 × (linear params) for forward +
    backward (Kaplan et al. 2020), plus attention scores/values 12·layers·L·hidden."""
    h, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    linear = layers * (4 * h * h + 2 * h * inter)
    attention = layers * 2 * seq_len * h  # QK^T and AV, per token, forward
    return 6 * linear + 3 * 2 * attention


def pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def training_workspace(args, prefix: str) -> Path:
    """The run's folder (``--out`` or a temporary one) and a fresh token cache; with
    ``--tiny``, points ``args.backbone``/``args.data`` at a tiny random BERT and demo-world
    pairs inside it."""
    os.environ.setdefault("REWARDKIT_CACHE", tempfile.mkdtemp(prefix=f"{prefix}-cache-"))
    work = Path(args.out or tempfile.mkdtemp(prefix=f"{prefix}-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        from tiny import tiny_bert_backbone, tiny_world_file

        args.backbone = args.backbone or tiny_bert_backbone(work / "tiny-bert")
        args.data = tiny_world_file(work / "world")
        args.max_length = min(args.max_length, 128)
    return work


HH_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf-harmless-base"


def interop_parser(doc: str) -> argparse.ArgumentParser:
    """The options every interop script shares: the model, the pairs, how many."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="a reward model saved by rewardkit")
    parser.add_argument("--data", default=str(HH_TEST / "test.jsonl.gz"))
    parser.add_argument("--limit", type=int, default=200, help="pairs of the eval split")
    return parser
