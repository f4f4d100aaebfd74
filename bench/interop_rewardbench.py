"""RewardBench's own scoring of a rewardkit model against rewardkit's, on the same local pairs.

RewardBench 0.1.4 pins transformers 4.51, so it runs in its own virtual environment (made on
first use: torch 2.13.0 first, then ``rewardbench==0.1.4`` from PyPI). Its ``rewardbench``
command scores a local JSON file of pairs — chat messages, rendered by the model's saved chat
template, as RewardBench does — at its default batch size (8, left-padded) and at
``--batch_size 1``; rewardkit's scorer (as ``rewardkit eval``) scores the same pairs. It
prints, for each batch size, the largest reward difference and the share of pairs whose
decision (chosen > rejected) agrees.
Without a GPU, a shim sends the batches RewardBench moves to ``"cuda"`` to the CPU instead.

    python bench/interop_rewardbench.py --model runs/hh --limit 200

Pairs: the first ``--limit`` pairs of the canonical hh-rlhf eval split that fit in the model's
max length (RewardBench does not truncate), as ``{"prompt", "chosen": [messages],
"rejected": [messages], "subset"}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interop_parser, machine, today  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.files import cache_dir  # noqa: E402
from rewardkit.model import load_reward_model  # noqa: E402

REWARDBENCH = "rewardbench==0.1.4"


# rewardbench 0.1.4 imports pkg_resources, which setuptools 81 and later no longer ship
INSTALL = ("torch==2.13.0", "setuptools<81", REWARDBENCH)


def rewardbench_python(venv: Path) -> Path:
    """The virtual environment's python, with RewardBench installed (first use: minutes)."""
    python = venv / "bin" / "python"
    marker = venv / "rewardbench-installed"
    if not marker.is_file() or marker.read_text() != "\n".join(INSTALL):
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        for spec in INSTALL:
            subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
        marker.write_text("\n".join(INSTALL))
    return python


def as_messages(prompt) -> list[dict]:
    if isinstance(prompt, list):
        return list(prompt)
    turns, role = [], None
    for piece in prompt.split("\n\n"):
        for speaker, name in (("Human:", "user"), ("Assistant:", "assistant")):
            if piece.startswith(speaker):
                role = name
                turns.append({"role": role, "content": piece[len(speaker) :].strip()})
                break
    return [t for t in turns if t["content"]] or [{"role": "user", "content": prompt}]


def local_pairs(args, scorer) -> list[dict]:
    """RewardBench-format rows of the first pairs that fit (both sides, as chat messages)."""
    pairs, _ = read_pairs(args.data)
    rows = []
    for pair in split_by_prompt(pairs, 0.2)[1]:
        messages = as_messages(pair.prompt)
        if messages[-1]["role"] != "user":
            continue
        row = {
            "prompt": messages[0]["content"],
            "subset": "hh-rlhf",
            "id": len(rows),
            "chosen": messages + [{"role": "assistant", "content": pair.chosen.strip()}],
            "rejected": messages + [{"role": "assistant", "content": pair.rejected.strip()}],
        }
        fitted = scorer.encoder.fit_texts(
            [(messages, pair.chosen.strip()), (messages, pair.rejected.strip())]
        )
        if all(f.removed == 0 for f in fitted):
            rows.append(row)
        if len(rows) == args.limit:
            break
    return rows


# RewardBench's pipeline moves every batch to "cuda" unconditionally (models/pipeline.py); on
# a machine without a GPU this shim, loaded by the venv's python at start, sends those batches
# to the CPU instead. Nothing else of RewardBench's scoring is touched.
CPU_SHIM = """
import torch
if not torch.cuda.is_available():
    from transformers import BatchEncoding
    _to = BatchEncoding.to
    def _to_cpu(self, device, *args, **kwargs):
        return _to(self, "cpu" if str(device).startswith("cuda") else device, *args, **kwargs)
    BatchEncoding.to = _to_cpu
"""


def rewardbench_scores(python: Path, model: str, data: Path, batch: int, work: Path):
    out = work / f"rb-{batch}"
    command = [
        str(python),
        "-m",
        "rewardbench.rewardbench",
        "--model",
        str(Path(model).resolve()),
        "--dataset",
        str(data),
        "--load_json",
        "--batch_size",
        str(batch),
        "--torch_dtype",
        "float32",
        "--not_quantized",
        "--save_all",
        "--output_dir",
        str(out) + "/",  # RewardBench writes OUTPUT_DIR + MODEL (a string join)
    ]
    shim = work / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(CPU_SHIM)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true", "PYTHONPATH": str(shim)}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"RewardBench failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    # --save_all writes OUTPUT_DIR + MODEL + "_all.jsonl": {"chosen", "rejected"} per pair
    found = sorted(out.rglob("*_all.jsonl"))
    if len(found) != 1:
        raise SystemExit(f"RewardBench wrote {len(found)} *_all.jsonl files under {out}")
    rows = [json.loads(line) for line in found[0].read_text().splitlines() if line.strip()]
    chosen = np.array([float(np.ravel(r["chosen"])[0]) for r in rows])
    rejected = np.array([float(np.ravel(r["rejected"])[0]) for r in rows])
    return chosen, rejected


def main() -> None:
    parser = interop_parser(__doc__)
    parser.add_argument("--venv", default=str(cache_dir("rewardbench-venv")))
    args = parser.parse_args()
    scorer = load_reward_model(args.model, precision="fp32")
    work = Path(tempfile.mkdtemp(prefix="rk-rewardbench-"))
    rows = local_pairs(args, scorer)
    data = work / "pairs.json"
    data.write_text(json.dumps(rows))
    ours = scorer.score(
        [r["chosen"][:-1] for r in rows] + [r["rejected"][:-1] for r in rows],
        [r["chosen"][-1]["content"] for r in rows] + [r["rejected"][-1]["content"] for r in rows],
    ).rewards
    ours_c, ours_r = ours[: len(rows)], ours[len(rows) :]
    print(
        f"machine: {machine()}\ndate: {today()}\nmodel: {args.model}\n{len(rows)} pairs "
        f"(hh-rlhf eval split, fitting in {scorer.max_length} tokens), {REWARDBENCH}",
        flush=True,
    )
    python = rewardbench_python(Path(args.venv))
    for batch in (8, 1):
        theirs_c, theirs_r = rewardbench_scores(python, args.model, data, batch, work)
        gap = float(np.max(np.abs(np.concatenate([theirs_c - ours_c, theirs_r - ours_r]))))
        agree = float(np.mean((theirs_c > theirs_r) == (ours_c > ours_r)))
        print(
            f"RewardBench batch {batch}{' (its default)' if batch == 8 else ''}: max |Δ| = "
            f"{gap:.2e}, decisions agree on {100 * agree:.1f}% of pairs; accuracy "
            f"{100 * np.mean(theirs_c > theirs_r):.1f}% vs rewardkit's "
            f"{100 * np.mean(ours_c > ours_r):.1f}%",
            flush=True,
        )


if __name__ == "__main__":
    main()
