"""What a training run leaves in ``--out``, written in one place for every training path.

==================  ==========================================================================
file                written by
==================  ==========================================================================
train_config.json   :func:`start_run` — every option and the training data's fingerprint
                    (``--resume`` checks both)
metrics.jsonl       :class:`MetricsLog` — one line per evaluation during training
metrics.json        :func:`save_run` — the final evaluation, the schema of ``rewardkit eval``
                    plus a ``training`` block
the model           :func:`save_run` — a standard HF folder with ``rewardkit.json``
                    (normalization from the eval rewards, data fingerprint, headline metrics),
                    ``ensemble_heads.safetensors`` (``--ensemble K``) and
                    ``feature_stats.safetensors`` (``--proxy-eval``)
==================  ==========================================================================

The final save is atomic (:meth:`RewardModel.save_pretrained` with the run's files added): the
whole folder — model, tokenizer, sidecar, heads, statistics, ``metrics.json``, and hard links to
``metrics.jsonl``, ``train_config.json`` and ``checkpoints/`` — is written as a hidden sibling
``.OUT.PID-HOST.new-….tmp`` and swapped with ``--out`` in one step (``renameat2``
``RENAME_EXCHANGE``). A kill before the swap leaves ``--out`` as training left it (resumable
from its checkpoints; not a model, so loading it is one line) and the hidden sibling, which
the next run or save into ``--out`` removes; a kill after it leaves the complete model.

Only the main process writes (``is_main``), so ``accelerate launch`` runs write each file once.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from rewardkit.eval.ood import FeatureStatistics
from rewardkit.files import atomic_write, write_json_atomic
from rewardkit.formatting import percent
from rewardkit.model.card_file import CARD_NAME
from rewardkit.model.ensemble import LinearHeads, save_ensemble_heads
from rewardkit.model.model_card import model_card
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import Normalization, RewardKitInfo
from rewardkit.progress import console
from rewardkit.train.checkpoint import TrainState
from rewardkit.train.config import TrainConfig
from rewardkit.train.prepare import PreparedData

HEADLINE = ("n", "accuracy", "mean_margin", "bt_loss")  # of metrics.json, in metrics.jsonl too


@dataclass
class TrainResult:
    out: Path
    metrics: dict
    state: TrainState


@dataclass
class FinalEvaluation:
    """The end-of-run evaluation: the metrics block and the eval split's rewards, with what is
    saved beside the model: K > 1 ensemble heads, the training features' OOD statistics."""

    metrics: dict
    r_chosen: np.ndarray
    r_rejected: np.ndarray
    heads: LinearHeads | None = None
    stats: FeatureStatistics | None = None

    @classmethod
    def empty(cls) -> "FinalEvaluation":
        return cls({}, np.zeros(0), np.zeros(0))


def say(message: str, *, quiet: bool = False, is_main: bool = True) -> None:
    """One line on the console (stderr), from the main process, unless ``quiet``."""
    if is_main and not quiet:
        console.print(message, highlight=False)


def start_run(
    out: Path,
    config: TrainConfig,
    fingerprint: str,
    *,
    launch: dict | None = None,
    is_main: bool = True,
) -> None:
    """A fresh run: the folder, ``train_config.json`` (options, data fingerprint, ``launch``:
    processes and global batch) and an empty ``metrics.jsonl``."""
    if not is_main:
        return
    out.mkdir(parents=True, exist_ok=True)
    MetricsLog(out).reset()
    write_json_atomic(
        out / "train_config.json",
        {"config": asdict(config), "data_fingerprint": fingerprint, "launch": launch or {}},
    )


class MetricsLog:
    """``metrics.jsonl``: one JSON line per evaluation, appended as training goes."""

    def __init__(self, out: Path, *, is_main: bool = True):
        self.path = Path(out) / "metrics.jsonl"
        self.is_main = is_main

    def reset(self) -> None:
        if self.is_main:
            self.path.write_text("")

    def append(self, entry: dict) -> None:
        if self.is_main:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    def truncate_to(self, step: int) -> None:
        """Keep the lines of steps up to ``step`` (a resumed run rewrites the later ones); a
        last line cut short by a kill is dropped too."""
        if not self.is_main or not self.path.is_file():
            return
        kept = [line for line in self.path.read_text().splitlines() if _step_of(line) <= step]
        self.path.write_text("".join(line + "\n" for line in kept))


def _step_of(line: str) -> float:
    """The step of a ``metrics.jsonl`` line; infinity for a blank or torn one."""
    try:
        return json.loads(line)["step"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return float("inf")


def log_entry(state: TrainState, started: float, metrics: dict, **fields) -> dict:
    """A ``metrics.jsonl`` line: where training is, ``fields``, and the eval headline."""
    entry = {
        "step": state.step,
        "epoch": state.epoch,
        "pairs_seen": state.pairs_seen,
        **fields,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    if metrics:
        entry["eval"] = {k: metrics.get(k) for k in HEADLINE}
        entry["eval"]["fits_max_length_accuracy"] = metrics.get("fits_max_length", {}).get(
            "accuracy"
        )
    return entry


def save_run(
    model: RewardModel,
    data: PreparedData,
    config: TrainConfig,
    state: TrainState,
    final: FinalEvaluation,
    *,
    seconds: float,
    loop_seconds: float,
    launch: dict | None = None,
    is_main: bool = True,
) -> dict:
    """Set the model's normalization and sidecar, save it, write ``metrics.json``; returns
    the metrics."""
    model.info.normalization = _normalization(final)
    metrics = dict(final.metrics)
    metrics.update(
        {
            "split": "eval",
            "data": config.eval_data or config.data,
            "model": str(Path(config.out)),
            "skipped_records": data.skipped_records,
            "processes": (launch or {}).get("processes", 1),
            "training": {
                "steps": state.step,
                "epochs": state.epoch,
                "pairs_seen": state.pairs_seen,
                "seconds": round(seconds, 2),
                "pairs_per_second": round(state.pairs_seen / max(seconds, 1e-9), 3),
                "tokens_seen": state.tokens_seen,
                "loop_seconds": round(loop_seconds, 3),
                **(launch or {}),
                **data.summary(),
            },
        }
    )
    model.info.data = {
        "fingerprint": data.fingerprint,
        "source": config.data,
        "eval_source": config.eval_data or f"--eval-fraction {config.eval_fraction}",
        "train_pairs": len(data.train_pairs),
        "eval_pairs": len(data.eval_pairs),
    }
    model.info.metrics = {k: metrics.get(k) for k in HEADLINE}
    model.info.metrics["fits_max_length_accuracy"] = metrics.get("fits_max_length", {}).get(
        "accuracy"
    )
    if is_main:  # one atomic step: see the module docstring
        model.save_pretrained(
            config.out,
            also=partial(_add_run_files, final=final, metrics=metrics, info=model.info),
        )
    return metrics


def _add_run_files(
    folder: Path, *, final: FinalEvaluation, metrics: dict, info: RewardKitInfo
) -> None:
    """What a run saves beside the model, into the folder about to take ``--out``'s place:
    the heads, the OOD statistics, ``metrics.json``, and the model card written from it."""
    if final.heads is not None and final.heads.k > 1:
        save_ensemble_heads(folder, final.heads)
    if final.stats is not None:
        final.stats.save(folder)
    write_json_atomic(folder / "metrics.json", metrics)
    with atomic_write(folder / CARD_NAME) as card:
        card.write(model_card(info, metrics))


def summary_line(metrics: dict, config: TrainConfig) -> str:
    """The line a run ends with."""
    fits = metrics.get("fits_max_length", {})
    return (
        f"eval accuracy {percent(metrics.get('accuracy'), missing='n/a')} on "
        f"{metrics.get('n', 0)} pairs{overlong_clause(metrics, config)}; "
        f"{percent(fits.get('accuracy'), missing='n/a')} on the {fits.get('n', 0)} that fit in "
        f"{config.max_length} tokens; saved to {config.out}"
    )


def overlong_clause(metrics: dict, config: TrainConfig) -> str:
    """`` (N over-long, under --overlong P: …)`` when over-long eval pairs were cut by a
    policy other than scoring's default (``truncate``): ``rewardkit eval`` on the saved model
    cuts each text alone and can rank those pairs differently (pairs that fit score the same);
    empty otherwise."""
    over = metrics.get("n", 0) - metrics.get("fits_max_length", {}).get("n", 0)
    if over <= 0 or config.overlong == "truncate":
        return ""
    return (
        f" ({over} over-long, under --overlong {config.overlong}: pass it to "
        "`rewardkit eval` to score them alike)"
    )


def _normalization(final: FinalEvaluation) -> Normalization:
    """Mean and std of the eval rewards (OpenRLHF's normalization); the eval split is never
    empty (:func:`rewardkit.train.prepare.prepare_data` refuses that before training)."""
    rewards = np.concatenate([final.r_chosen, final.r_rejected])
    measured_on = f"eval split ({len(final.r_chosen)} pairs, {rewards.size} rewards)"
    return Normalization(float(rewards.mean()), float(max(rewards.std(), 1e-8)), measured_on)
