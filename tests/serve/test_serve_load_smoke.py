"""Smoke test of bench/serve_load.py --tiny: both modes run on loopback, every request is
answered, and the report has the ratio. Never timed: the figures live in BENCHMARKS.md."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_serve_load_tiny(tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "serve_load.py"), "--tiny", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["errors"] == 0 and report["ratio_on_over_off"] > 0
    for mode in ("batching_off", "batching_on"):
        assert report[mode]["completed"] == report["requests_per_mode"] == 48
        assert report[mode]["p50_ms"] <= report[mode]["p99_ms"]
    assert report["batching_off"]["texts_per_forward"] == 1.0  # the anchor: one text per forward
    assert "ratio (on / off" in proc.stdout
