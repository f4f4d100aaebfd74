"""``rewardkit audit --mode finetune``: out-of-fold margins from full fine-tunes.

The same prompt-disjoint folds as the frozen path (:func:`rewardkit.data.splits.fold_assignments`
on prompt hashes), but each fold's model is ``rewardkit train`` itself — a full fine-tune of the
backbone on the other folds, with ``--ensemble M`` bootstrap heads on its fine-tuned features —
saved under ``OUT/folds/fold-k`` and loaded back through the one loader and scorer to score the
held-out fold. Hours on a CPU for hh-rlhf; the frozen path is the default for that reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rewardkit.audit.margins import OutOfFold, length_features
from rewardkit.data import pairs_to_jsonl
from rewardkit.data.records import PreferencePair, prompt_hash
from rewardkit.data.splits import fold_assignments
from rewardkit.model.loading import load_reward_model
from rewardkit.train import TrainConfig, train
from rewardkit.train.heads import fit_linear_head


def finetune_margins(config, pairs: list[PreferencePair]) -> OutOfFold:
    """Fine-tune one model per fold on the other folds; score the held-out fold with it."""
    groups = np.array([prompt_hash(p.prompt) % (1 << 62) for p in pairs])
    fold_of = fold_assignments(len(pairs), config.folds, np.random.default_rng(config.seed), groups)
    work = Path(config.out) / "folds"
    rows, members, length_margin, l2 = [], [], [], []
    for fold in range(config.folds):
        test = np.flatnonzero(fold_of == fold)
        rest = np.flatnonzero(fold_of != fold)
        pairs_to_jsonl(work / f"fold-{fold}-train.jsonl", [pairs[i] for i in rest])
        pairs_to_jsonl(work / f"fold-{fold}-held-out.jsonl", [pairs[i] for i in test])
        result = train(
            TrainConfig(
                data=str(work / f"fold-{fold}-train.jsonl"),
                eval_data=str(work / f"fold-{fold}-held-out.jsonl"),
                out=str(work / f"fold-{fold}"),
                backbone=config.backbone,
                max_length=config.max_length,
                overlong=config.overlong,
                ensemble=config.ensemble,
                seed=config.seed + fold,
                threads=config.threads,
            ),
            quiet=True,
            progress=config.progress or None,
        )
        l2.append((result.metrics.get("ensemble_training") or {}).get("l2"))
        scored = load_reward_model(work / f"fold-{fold}").score_pairs(
            [pairs[i] for i in test], overlong=config.overlong
        )
        kept = test[[e.index for e in scored.encoded]]
        rows.append(kept)
        members.append(scored.members_chosen - scored.members_rejected)
        length_margin.append(_length_margin(pairs, rest, kept))
    index = np.concatenate(rows)
    return OutOfFold(
        index,
        np.concatenate(members, axis=1),
        fold_of[index],
        np.concatenate(length_margin),
        l2,
    )


def _length_margin(pairs: list[PreferencePair], train_rows, test_rows) -> np.ndarray:
    """The length-only model's out-of-fold margins (as in the frozen path)."""
    w, _ = fit_linear_head(length_features(pairs, train_rows), l2=1e-3)
    held = length_features(pairs, test_rows)
    return (held.chosen - held.rejected) @ w
