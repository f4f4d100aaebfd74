"""Every benchmark in bench/ still runs: each one's --tiny mode (a tiny random model, a few
steps) must exit 0 and print its ratio against its anchor. Never timed: the figures live in
BENCHMARKS.md. (bench/serve_load.py has its own smoke test in tests/serve.)"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# script, a line its output must contain (the anchor comparison it exists to print), or several
SCRIPTS = [
    ("train_ablation.py", "the default"),
    # --tiny saves OOD statistics: the timed path computes the trust signals, as `score` does
    ("score_vs_pipeline.py", ("fp32 vs pipeline", "trust signals: OOD distance")),
    ("frozen_vs_full.py", "full fine-tunes"),
    ("scaling.py", "s per 1k pairs"),
    ("prefix_sharing.py", "prefix sharing:"),
    ("overopt.py", "| selector | gold trend |"),
    ("uncertainty.py", "| system | measure | accuracy | error AUROC |"),
    pytest.param(
        "gpu_scale_check.py",
        # ZeRO-3's save-with-gather runs on the CPU too, where deepspeed is installed
        ("× TRL's pairs/s", "zero3 save-with-gather: saved a normal HF folder")
        if importlib.util.find_spec("deepspeed")
        else "× TRL's pairs/s",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("trl") is None, reason="needs the [bench] extra (trl==1.16.0)"
        ),
    ),
    pytest.param(
        "train_vs_trl.py",
        "ratio",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("trl") is None, reason="needs the [bench] extra (trl==1.16.0)"
        ),
    ),
]


@pytest.mark.parametrize(("script", "expected"), SCRIPTS)
def test_benchmark_runs_tiny(script, expected, tmp_path):
    env = {**os.environ, "REWARDKIT_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--tiny"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for line in expected if isinstance(expected, tuple) else (expected,):
        assert line in proc.stdout, proc.stdout[-3000:]
