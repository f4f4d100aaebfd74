"""Test helper, not a test: run ``rewardkit train`` and kill it with SIGKILL at spread-out
points of its final save (used by ``test_kill_during_save.py``).

    python save_killer.py SPEC.json    # prints a JSON list, one entry per run

``SPEC``: ``{"args": [train arguments without --out], "outs": [folder per run], "seed": s,
"references": r}``.
The helper imports rewardkit's training modules (torch, transformers) once, then forks one
child per run; each child runs the real command line (``rewardkit.cli.main`` with
``train … --out OUT``), so forking only spares the seconds of imports per run.

The first ``r`` runs (default 1) are not killed: they time the final save, from the moment the
hidden staging folder appears beside ``OUT`` to the swap that puts it in place
(``OUT/config.json`` appears); the fastest is the reference, since the save's time varies from
run to run (34–54 ms on the tiny BERT) and one slow save would put most kills past the swap.
Run ``i`` of the other ``n`` is killed 1.6 times the reference after its staging folder
appears, times ``(i + u) / n`` with ``u`` uniform in [0, 1): the kills are spread evenly over
the save and a little past its swap, each at a random point of its stretch.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

POLL_S = 0.0005
TIMEOUT_S = 120.0
PAST_THE_SWAP = 1.6  # kills spread over this many times the save's time up to its swap


def staging_folders(out: Path) -> list[str]:
    """Hidden siblings of ``out`` that a save writes into (``.OUT.PID-HOST.new-….tmp``)."""
    if not out.parent.is_dir():
        return []
    return [name for name in os.listdir(out.parent) if name.startswith(f".{out.name}.")]


def run_child(args: list[str], out: Path) -> int:
    """Fork; the child runs ``rewardkit train ARGS --out OUT`` and exits with its code."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        from rewardkit.cli import main

        sys.argv = ["rewardkit", "train", *args, "--out", str(out)]
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os._exit(code)


def wait_for_staging(pid: int, out: Path) -> tuple[float | None, int | None]:
    """``(when the save's staging folder appeared, None)`` by ``perf_counter``, or
    ``(None, wait status)`` when the child ended first."""
    deadline = time.perf_counter() + TIMEOUT_S
    while time.perf_counter() < deadline:
        if staging_folders(out):
            return time.perf_counter(), None
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return None, status
        time.sleep(POLL_S)
    os.kill(pid, signal.SIGKILL)
    raise TimeoutError(f"no save began in {out} within {TIMEOUT_S} s")


def one_run(args: list[str], out: Path, delay: float | None) -> dict:
    """Run once; kill ``delay`` seconds after the save begins (None: let it finish)."""
    pid = run_child(args, out)
    began, status = wait_for_staging(pid, out)
    swapped = None
    if status is None and delay is not None:
        while time.perf_counter() < began + delay:
            time.sleep(POLL_S)
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:
            os.kill(pid, signal.SIGKILL)
            status = None
    elif status is None:  # not killed: time the save up to its swap (the model appears)
        while swapped is None and status is None:
            if (out / "config.json").exists():
                swapped = time.perf_counter() - began
            done, reaped = os.waitpid(pid, os.WNOHANG)
            status = reaped if done else None
            time.sleep(POLL_S)
    if status is None:
        _, status = os.waitpid(pid, 0)
    return {
        "out": str(out),
        "delay": delay,
        "killed": os.WIFSIGNALED(status),
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status),
        "seconds_to_swap": swapped,
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    # imported once, before any fork (imports only: no thread pool starts before a fork)
    import transformers.models.bert.modeling_bert  # noqa: F401  (the tiny BERT's classes)

    import rewardkit.cli  # noqa: F401
    import rewardkit.train.trainer  # noqa: F401  (torch, transformers, accelerate)

    rng = random.Random(spec.get("seed", 0))
    outs = [Path(out) for out in spec["outs"]]
    references = spec.get("references", 1)
    results = [one_run(spec["args"], out, None) for out in outs[:references]]
    if any(r["exit"] != 0 or r["seconds_to_swap"] is None for r in results):
        print(json.dumps(results))
        return
    span = min(r["seconds_to_swap"] for r in results) * PAST_THE_SWAP
    n = len(outs) - references
    for i, out in enumerate(outs[references:]):
        results.append(one_run(spec["args"], out, span * (i + rng.random()) / n))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
