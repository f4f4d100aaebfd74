"""Scaling: training time against the number of pairs and against max_length, and peak
memory against dataset size — on demo-world data with a tiny model so it reaches large sizes.

Each point runs in a fresh subprocess (`rewardkit train`), so peak RSS (ru_maxrss) belongs
to that run alone. Time should grow linearly with pairs; memory should stay nearly flat
(tokens live in a memory-mapped cache; what grows is the in-memory record list).

    python bench/scaling.py [--sizes 1000,4000,16000,64000] [--lengths 64,128,256,512]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, today  # noqa: E402
from tiny import tiny_bert_backbone  # noqa: E402


def world_file(folder: Path, n_pairs: int) -> str:
    from rewardkit.data.writers import pairs_to_jsonl
    from rewardkit.world import WorldConfig, build_world

    path = folder / f"world-{n_pairs}.jsonl"
    if not path.is_file():
        world = build_world(WorldConfig(n_train_pairs=n_pairs, n_eval_pairs=max(n_pairs // 10, 10)))
        pairs_to_jsonl(path, world.train)
    return str(path)


def run_point(data: str, backbone: str, max_length: int, work: Path, batch_size: int) -> dict:
    out = Path(tempfile.mkdtemp(dir=work, prefix="run-"))
    command = [
        sys.executable,
        "-m",
        "rewardkit",
        "train",
        "--data",
        data,
        "--out",
        str(out),
        "--backbone",
        backbone,
        "--max-length",
        str(max_length),
        "--batch-size",
        str(batch_size),
        "--eval-fraction",
        "0.05",
        "--token-cache",
        "off",
        "--threads",
        "1",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, TRANSFORMERS_VERBOSITY="error"),
    )
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    metrics = json.loads((out / "metrics.json").read_text())["training"]
    return {
        "seconds": seconds,
        "loop_seconds": metrics["loop_seconds"],
        "pairs": metrics["pairs_seen"],
        "peak_rss_mib": peak_mib,
        "peak_rss_grew": peak_mib > before / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,4000,16000,64000")
    parser.add_argument("--lengths", default="64,128,256,512")
    parser.add_argument("--length-pairs", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--tiny", action="store_true", help="smoke test: two small points each")
    args = parser.parse_args()
    if args.tiny:
        args.sizes, args.lengths, args.length_pairs = "100,200", "64,128", 100
    work = Path(tempfile.mkdtemp(prefix="rk-bench-scaling-"))
    backbone = tiny_bert_backbone(work / "tiny-bert")
    print(
        f"machine: {machine()}\ndate: {today()}\nmodel: tiny random BERT (hidden 32, 2 layers), "
        "demo-world data, 1 epoch, one process per point",
        flush=True,
    )
    print("\npairs   loop s   s per 1k pairs   peak RSS MiB")
    base = None
    for n in [int(x) for x in args.sizes.split(",")]:
        # ru_maxrss of children is a running max: measure each point in its own python
        point = _isolated(world_file(work, n), backbone, 128, work, args.batch_size)
        per_k = point["loop_seconds"] / point["pairs"] * 1000
        base = base or per_k
        print(
            f"{n:6d}  {point['loop_seconds']:7.1f}  {per_k:10.2f} ({per_k / base:.2f}× the first)"
            f"   {point['peak_rss_mib']:8.0f}",
            flush=True,
        )
    print("\nmax_length   loop s   (pairs fixed at", args.length_pairs, ")")
    data = world_file(work, args.length_pairs)
    for length in [int(x) for x in args.lengths.split(",")]:
        point = _isolated(data, backbone, length, work, args.batch_size)
        print(f"{length:10d}  {point['loop_seconds']:7.1f}", flush=True)


def _isolated(data, backbone, max_length, work, batch_size) -> dict:
    """Run one point in a fresh interpreter so its peak RSS is its own."""
    code = (
        "import json,sys; sys.path.insert(0, %r); from scaling import run_point; "
        "print(json.dumps(run_point(%r, %r, %d, __import__('pathlib').Path(%r), %d)))"
        % (str(Path(__file__).parent), data, backbone, max_length, str(work), batch_size)
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
