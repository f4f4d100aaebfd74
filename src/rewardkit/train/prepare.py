"""Setting a run up: the new reward model, and the training data — read, split by prompt, ties
handled, tokenized, all counted.

Everything that would make the run fail later is refused here, before anything is written to
``--out``: no training pairs, and no eval pairs (the end-of-run evaluation, the normalization
and the OOD statistics' in-distribution reference all need the eval split).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from rewardkit.data import data_fingerprint, read_pairs, split_by_prompt
from rewardkit.data.records import PreferencePair, prompt_text
from rewardkit.errors import UserError
from rewardkit.model.encode import EncodedPair, EncodeReport
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.token_cache import encode_pairs_cached
from rewardkit.train.config import TrainConfig


@dataclass
class PreparedData:
    train_pairs: list[PreferencePair]
    eval_pairs: list[PreferencePair]
    train_encoded: list[EncodedPair]
    eval_encoded: list[EncodedPair]
    train_report: EncodeReport
    eval_report: EncodeReport
    fingerprint: str
    ties_dropped: int = 0
    notes: list[str] = field(default_factory=list)
    skipped_records: int = 0  # bad records skipped (--on-bad-record skip) in --data/--eval-data

    def summary(self) -> dict:
        return {
            "fingerprint": self.fingerprint,
            "train_pairs": len(self.train_pairs),
            "eval_pairs": len(self.eval_pairs),
            "ties_dropped": self.ties_dropped,
            "train_overlong": self.train_report.to_dict(),
            "eval_overlong": self.eval_report.to_dict(),
        }


def load_splits(
    config: TrainConfig,
) -> tuple[list[PreferencePair], list[PreferencePair], list[str], int]:
    """Read ``--data`` (and ``--eval-data``) and return prompt-disjoint train/eval pairs,
    notes, and the number of bad records skipped."""
    notes = []
    pairs, report = read_pairs(
        config.data, format=config.format, on_bad_record=config.on_bad_record
    )
    notes.append(report.summary())
    if config.eval_data:
        eval_pairs, eval_report = read_pairs(
            config.eval_data, format=config.format, on_bad_record=config.on_bad_record
        )
        notes.append(eval_report.summary())
        skipped = len(report.skipped) + len(eval_report.skipped)
        eval_prompts = {prompt_text(p.prompt) for p in eval_pairs}
        overlap = sum(prompt_text(p.prompt) in eval_prompts for p in pairs)
        if overlap:
            raise UserError(
                f"{overlap} training pairs share a prompt with --eval-data; the "
                "splits must be disjoint by prompt: remove them, or use "
                "--eval-fraction instead of --eval-data",
                where=config.data,
            )
        return pairs, eval_pairs, notes, skipped
    train_pairs, eval_pairs = split_by_prompt(pairs, config.eval_fraction)
    notes.append(
        f"split by prompt (--eval-fraction {config.eval_fraction}): "
        f"{len(train_pairs)} train, {len(eval_pairs)} eval pairs"
    )
    return train_pairs, eval_pairs, notes, len(report.skipped)


def new_reward_model(config: TrainConfig) -> RewardModel:
    """The backbone with a new reward head, seeded by ``--seed`` (the head's initialisation)."""
    torch.manual_seed(config.seed)
    return RewardModel.from_backbone(
        config.backbone,
        max_length=config.max_length,
        precision=config.precision,
        disable_dropout=config.disable_dropout,
        trust_remote_code=config.trust_remote_code,
    )


def check_splits(
    config: TrainConfig, train_pairs: list[PreferencePair], eval_pairs: list[PreferencePair]
) -> None:
    """Both splits have pairs, or one line saying what to pass."""
    if not train_pairs:
        raise UserError(
            "no training pairs left after the eval split; add data or lower --eval-fraction",
            where=config.data,
        )
    if not eval_pairs:
        _refuse_empty_eval_split(config, train_pairs)


def prepare_data(config: TrainConfig, model: RewardModel) -> PreparedData:
    train_pairs, eval_pairs, notes, skipped = load_splits(config)
    check_splits(config, train_pairs, eval_pairs)
    fingerprint = data_fingerprint(train_pairs)
    ties_dropped = 0
    usable = train_pairs
    if config.ties == "drop":
        usable = [p for p in train_pairs if not p.tie]
        ties_dropped = len(train_pairs) - len(usable)
        if ties_dropped:
            notes.append(f"--ties drop: {ties_dropped} tied training pairs dropped")
    train_encoded, train_report = _encode(model, usable, config)
    eval_encoded, eval_report = _encode(model, eval_pairs, config)
    notes.append(f"train: {train_report.summary(config.max_length)}")
    notes.append(f"eval: {eval_report.summary(config.max_length)}")
    if not train_encoded:
        raise UserError(
            "every training pair was dropped as over-long; raise --max-length", where=config.data
        )
    if not eval_encoded:
        raise UserError(
            f"all {len(eval_pairs)} eval pairs were dropped as over-long (--overlong drop), so "
            "the eval split is empty; raise --max-length or pass --overlong truncate-prompt",
            where=config.eval_data or config.data,
        )
    return PreparedData(
        usable,
        eval_pairs,
        train_encoded,
        eval_encoded,
        train_report,
        eval_report,
        fingerprint,
        ties_dropped,
        notes,
        skipped,
    )


def _refuse_empty_eval_split(config: TrainConfig, train_pairs: list[PreferencePair]) -> None:
    """One line saying what to pass when the eval split has no pairs."""
    if config.eval_data:
        raise UserError(
            "--eval-data has no pairs, so the eval split is empty; pass a file of pairs",
            where=config.eval_data,
        )
    prompts = len({prompt_text(p.prompt) for p in train_pairs})
    raise UserError(
        f"the eval split is empty: --eval-fraction {config.eval_fraction} held out none of "
        f"the {prompts} prompts (the split is by a hash of each prompt); pass --eval-data "
        "FILE, or a larger --eval-fraction (e.g. 0.5)",
        where=config.data,
    )


def _encode(model: RewardModel, pairs: list[PreferencePair], config: TrainConfig):
    """Tokenize through the on-disk cache unless ``--token-cache off``."""
    if config.token_cache == "off":
        return model.encoder.encode_pairs(pairs, config.overlong)
    cache_dir = None if config.token_cache == "default" else config.token_cache
    encoded, report, _ = encode_pairs_cached(model.encoder, pairs, config.overlong, cache_dir)
    return encoded, report
