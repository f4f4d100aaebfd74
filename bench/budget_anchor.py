"""The anchor of ``bench/quality_budget.py``: TRL's one-epoch run, timed as a whole process,
and timed again in every stretch of a resumed run.

A run of hours is done in stretches (stopped, then resumed with the same ``--out``), and a
shared machine's speed drifts between them: on the reference VM the same one-epoch recipe
took 263–270 s in one stretch and 352–363 s in a later one. A recipe timed in one stretch
cannot be judged against TRL timed in another, so each stretch that still has runs to do on
a step times TRL again on that step's pairs first (its *anchor*), and every run stores its
``budget_ratio``: its wall time over its own stretch's anchor (WARM: the members' ratio plus
the merge's time over the merging stretch's anchor). Results stored before the anchors
existed carry no ratio and are judged against the first TRL run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import commit
from rewardkit.data import write_jsonl
from rewardkit.files import write_json_atomic
from train_vs_trl import evaluate
from trl_run import TrlRun, run_trl, trl_records

# step: (the pairs it trains on, the pairs it scores)
STEPS = {"validation": ("fit", "validation"), "eval": ("train", "eval")}
SCRIPT = Path(__file__).resolve().with_name("quality_budget.py")


class RunFailed(Exception):
    """A training or merge process exited non-zero (its log names why)."""


def new_stretch() -> dict:
    """This invocation's name (its UTC start) and commit, stored with every run it does."""
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": started, "commit": commit()}


def timed(command: list[str], log: Path, *, env: dict | None = None) -> float:
    """Wall seconds of ``command`` as a whole process, its output in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        start = time.perf_counter()
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        seconds = time.perf_counter() - start
    if done.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise RunFailed(f"exit {done.returncode}: {tail[0]} (log: {log})")
    return seconds


def cold_env(work: Path) -> tuple[dict, Path]:
    """The environment of one timed process: a fresh, empty cache folder."""
    (work / "caches").mkdir(exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="run-", dir=work / "caches"))
    env = {**os.environ, "REWARDKIT_CACHE": str(cache), "HF_DATASETS_CACHE": str(cache / "hf")}
    return env, cache


def _time_trl(ctx, step: str, out: Path, log_name: str) -> dict:
    """One TRL epoch on the step's training pairs (seed 0) in a fresh process, timed."""
    args, work = ctx.args, ctx.work
    train_name = STEPS[step][0]
    shutil.rmtree(out, ignore_errors=True)
    rows, append_eos = trl_records(args.backbone, ctx.data[train_name], args.max_length)
    spec = {
        "backbone": args.backbone,
        "rows": str(work / "data" / f"trl-{train_name}.jsonl"),
        "append_eos": append_eos,
        "precision": ctx.precision["precision"],
        "seed": 0,
        "out": str(out),
        **{k: getattr(args, k) for k in ("batch_size", "lr", "max_steps", "max_length")},
    }
    write_jsonl(spec["rows"], rows)
    spec_path = work / "data" / f"trl-{step}.spec.json"
    write_json_atomic(spec_path, spec)
    env, cache = cold_env(work)
    command = [sys.executable, str(SCRIPT), "--trl-worker", str(spec_path)]
    try:
        wall = timed(command, work / "logs" / f"{log_name}.log", env=env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    result = {**json.loads((out / "trl-run.json").read_text()), "wall_s": wall}
    result.update(pairs=len(rows), precision=spec["precision"], trains_on=train_name)
    result["stretch"] = ctx.stretch
    return result


def trl_run(ctx, step: str) -> dict:
    """TRL one epoch on the step's training pairs, timed as a process; stored (the first
    anchor, whose model is scored: TRL's row of the tables)."""
    path = ctx.work / "results" / "trl" / f"{step}.json"
    done = path.is_file()
    if done:
        result = json.loads(path.read_text())
    else:
        result = _time_trl(ctx, step, ctx.work / "models" / "trl" / step, f"trl-{step}")
        write_json_atomic(path, result)
    print(
        f"TRL on {result['trains_on']} ({result['pairs']} pairs): {result['wall_s']:.0f} s end "
        f"to end ({result['seconds']:.0f} s in trainer.train()){', already done' if done else ''}",
        flush=True,
    )
    if step == "validation":  # scored now: it is the anchor row of the validation table
        result = score_trl(ctx, step)
    return result


def stretch_anchor(ctx, step: str, first: dict, pending: bool) -> float | None:
    """TRL's wall seconds on the step's pairs in this stretch: the first run's when it ran in
    this stretch; else, when runs are ``pending``, a new timed run (stored under
    ``results/trl/anchors/``, its model removed); else None (nothing left to judge)."""
    if first.get("stretch", {}).get("id") == ctx.stretch["id"]:
        return first["wall_s"]
    if not pending:
        return None
    name = f"{step}-{ctx.stretch['id'].replace(':', '')}"
    out = ctx.work / "models" / "trl" / "anchors" / name
    try:
        result = _time_trl(ctx, step, out, f"trl-anchor-{name}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    write_json_atomic(ctx.work / "results" / "trl" / "anchors" / f"{name}.json", result)
    print(
        f"TRL on {result['trains_on']} again, this stretch's anchor: {result['wall_s']:.0f} s "
        f"(the first run: {first['wall_s']:.0f} s)",
        flush=True,
    )
    return result["wall_s"]


def score_trl(ctx, step: str) -> dict:
    """TRL's model of ``step`` scored on the step's held-out pairs (once; stored)."""
    path = ctx.work / "results" / "trl" / f"{step}.json"
    result = json.loads(path.read_text())
    if "accuracy_all" not in result:
        pairs = ctx.data[STEPS[step][1]]
        out = ctx.work / "models" / "trl" / step
        result.update(
            evaluate(out, pairs, ctx.args.max_length, result["eos_suffix"], per_pair=True)
        )
        write_json_atomic(path, result)
    return result


def trl_worker(spec_path: Path) -> None:
    """One TRL run in its own process (what the parent times): ``run_trl`` from a spec."""
    spec = json.loads(spec_path.read_text())
    rows = [json.loads(line) for line in Path(spec["rows"]).read_text().splitlines() if line]
    settings = ("batch_size", "lr", "max_length", "precision", "seed")
    out = Path(spec["out"])
    run = TrlRun(
        spec["backbone"],
        max_steps=spec["max_steps"] or None,
        out=out,
        **{k: spec[k] for k in settings},
    )
    result = run_trl(run, rows, spec["append_eos"])
    write_json_atomic(out / "trl-run.json", result)
