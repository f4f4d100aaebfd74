"""``rewardkit train --ensemble K --ensemble-mode members``: K full fine-tunes (form a).

Member ``j`` is an ordinary training run with seed ``seed + j`` (head initialisation and data
order differ) saved to ``OUT/member-j/``; ``OUT/ensemble.json`` lists them, and
``OUT/metrics.json`` evaluates their mean reward on the eval split (Lakshminarayanan et al.
2017 deep ensembles; Coste et al. 2023 for reward models). It costs K fine-tunes; the default
``--ensemble-mode heads`` costs one.

``ensemble.json`` is what makes ``OUT`` an ensemble, so it is removed when a run begins and
written last, atomically, once every member is saved (each atomically) and ``metrics.json``
is written: a kill at any point leaves a folder that does not load as an ensemble, or the
complete one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rewardkit.eval.ood import QUANTILE, FeatureStatistics
from rewardkit.eval.proxy import NOT_AT_TRAINING_TIME, ProxyOptions, evaluate_proxy
from rewardkit.files import write_json_atomic
from rewardkit.formatting import percent
from rewardkit.model.ensemble import MEMBERS_FILE, write_members_manifest
from rewardkit.model.loading import load_reward_model
from rewardkit.model.scorer import Scorer
from rewardkit.train.config import TrainConfig
from rewardkit.train.finetune import train_finetune
from rewardkit.train.outputs import TrainResult, overlong_clause, say
from rewardkit.train.prepare import check_splits, load_splits

SPREAD_SAMPLE_PAIRS = 256  # training pairs whose members' spread sets the spread threshold


def train_members(
    config: TrainConfig, *, quiet: bool = False, progress: bool | None = None
) -> TrainResult:
    """Train the K members one after the other, then judge their mean reward."""
    out = Path(config.out)
    train_pairs, eval_pairs = load_splits(config)[:2]
    check_splits(config, train_pairs, eval_pairs)  # before a previous ensemble is touched
    (out / MEMBERS_FILE).unlink(missing_ok=True)  # written again last, when all is saved
    names, seeds, result = [], [config.seed + j for j in range(config.ensemble)], None
    for j, seed in enumerate(seeds):
        say(f"ensemble member {j + 1}/{config.ensemble} (seed {seed})", quiet=quiet)
        result = train_finetune(
            replace(
                config, out=str(out / f"member-{j}"), seed=seed, ensemble=1, ensemble_mode="heads"
            ),
            quiet=quiet,
            progress=progress,
        )
        names.append(f"member-{j}")
    scorer = load_reward_model([out / name for name in names])
    spread_threshold = _spread_threshold(scorer, train_pairs, config)
    stats = FeatureStatistics.load(out / names[0])
    if stats is not None:
        stats.spread_threshold = spread_threshold
    metrics = _evaluate_mean(scorer, eval_pairs, config, stats, spread_threshold, progress)
    metrics.update(
        {
            "split": "eval",
            "data": config.eval_data or config.data,
            "model": str(out),
            "ensemble": scorer.describe(),
            "ensemble_training": {
                "form": "members",
                "k": config.ensemble,
                "seeds": seeds,
                "member_accuracy": metrics.get("uncertainty", {}).get("member_accuracy"),
            },
        }
    )
    write_json_atomic(out / "metrics.json", metrics)
    write_members_manifest(
        out,
        names,
        seeds=seeds,
        spread_threshold=spread_threshold,
        heldout=stats.heldout if stats is not None else {},
        metrics={k: metrics.get(k) for k in ("n", "accuracy", "bt_loss")},
    )
    say(
        f"ensemble of {config.ensemble}: eval accuracy of the mean reward "
        f"{percent(metrics.get('accuracy'), missing='n/a')} on {metrics.get('n')} pairs"
        f"{overlong_clause(metrics, config)}; saved to {out}",
        quiet=quiet,
    )
    return TrainResult(out, metrics, result.state)


def _evaluate_mean(scorer, eval_pairs, config, stats, spread_threshold, progress) -> dict:
    """The members' mean reward judged on the eval split, as ``rewardkit eval`` would."""
    scored = scorer.score_pairs(
        eval_pairs, overlong=config.overlong, batch_size=config.eval_batch_size, progress=progress
    )
    options = ProxyOptions(
        probes=[],
        skip_probes_reason=NOT_AT_TRAINING_TIME,
        stats=stats,
        spread_threshold=spread_threshold,
        heldout=True,
        plots=False,
    )
    return evaluate_proxy(scorer, eval_pairs, scored, options).metrics


def _spread_threshold(scorer: Scorer, train_pairs, config: TrainConfig) -> float | None:
    """The 95th percentile of the members' spread on (a sample of) the training pairs."""
    rng = np.random.default_rng(config.seed)
    size = min(SPREAD_SAMPLE_PAIRS, len(train_pairs))
    rows = np.sort(rng.choice(len(train_pairs), size=size, replace=False))
    sample = scorer.score_pairs(
        [train_pairs[i] for i in rows if not train_pairs[i].tie],
        overlong=config.overlong,
        batch_size=config.eval_batch_size,
    )
    return float(np.quantile(sample.spread, QUANTILE)) if sample.pairs else None
