"""``rewardkit eval``: accuracy of a reward model on a preference file (→ metrics.json)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rewardkit.config import option
from rewardkit.data import read_pairs, split_by_prompt
from rewardkit.errors import UserError
from rewardkit.eval.evaluate import evaluate_pairs
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import write_json_atomic


@dataclass
class EvalConfig:
    """Options of ``rewardkit eval``."""

    model: str = option("", "Reward model folder (any HF sequence-classification reward model).")
    data: str = option("", "Preference pairs to evaluate on (any supported format).")
    out: str | None = option(None, "Folder for metrics.json (printed only when omitted).")
    format: str = option("auto", "Input format, sniffed by default.",
                         choices=("auto", "explicit", "implicit", "hh-rlhf", "rankings", "votes"))
    split: str = option("all", "Evaluate on all pairs, or on the prompt-hash eval/train split of "
                        "--data (the split `rewardkit train` makes).", choices=("all", "eval", "train"))
    eval_fraction: float = option(0.2, "Eval fraction used by --split.")
    batch_size: int = option(64, "Texts per forward pass.")
    max_length: int | None = option(None, "Override the model's max length.")
    overlong: str = option("truncate-prompt", "Over-long pairs: cut the prompt from the left, "
                           "drop them, or stop.", choices=("truncate-prompt", "drop", "error"))
    on_bad_record: str = option("error", "Stop at a bad record, or skip and count it.",
                                choices=("error", "skip"))

    def __post_init__(self):
        for name in ("model", "data"):
            if not getattr(self, name):
                raise UserError(f"--{name} is required (see rewardkit eval --help)")


def run_eval(config: EvalConfig, *, progress: bool | None = None) -> dict:
    model = RewardModel.from_pretrained(config.model, max_length=config.max_length)
    pairs, report = read_pairs(config.data, format=config.format,
                               on_bad_record=config.on_bad_record)
    if config.split != "all":
        train, held_out = split_by_prompt(pairs, config.eval_fraction)
        pairs = held_out if config.split == "eval" else train
    metrics = evaluate_pairs(model, pairs, batch_size=config.batch_size,
                             overlong=config.overlong, progress=progress)
    metrics.update({"split": config.split, "data": config.data, "model": config.model,
                    "skipped_records": len(report.skipped)})
    if config.out:
        Path(config.out).mkdir(parents=True, exist_ok=True)
        write_json_atomic(Path(config.out) / "metrics.json", metrics)
    return metrics
