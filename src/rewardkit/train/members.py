"""``rewardkit train --ensemble K --ensemble-mode members``: K full fine-tunes (form a).

Member ``j`` is an ordinary training run with seed ``seed + j`` (head initialisation and data
order differ) saved to ``OUT/member-j/``; ``OUT/ensemble.json`` lists them, and
``OUT/metrics.json`` evaluates their mean reward on the eval split (Lakshminarayanan et al.
2017 deep ensembles; Coste et al. 2023 for reward models). It costs K fine-tunes; the default
``--ensemble-mode heads`` costs one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rewardkit.eval.ood import QUANTILE, FeatureStatistics, ood_flags
from rewardkit.eval.proxy import ProxyOptions, core_metrics, proxy_sections
from rewardkit.model.ensemble import RewardEnsemble, write_members_manifest
from rewardkit.model.sidecar import write_json_atomic
from rewardkit.progress import console
from rewardkit.train.config import TrainConfig
from rewardkit.train.prepare import load_splits

SPREAD_SAMPLE_PAIRS = 256


def train_members(config: TrainConfig, *, quiet: bool = False, progress: bool | None = None):
    from rewardkit.train.trainer import TrainResult, train

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    names, result = [], None
    for j in range(config.ensemble):
        name = f"member-{j}"
        if not quiet:
            console.print(
                f"ensemble member {j + 1}/{config.ensemble} (seed {config.seed + j})",
                highlight=False,
            )
        result = train(
            replace(
                config, out=str(out / name), seed=config.seed + j, ensemble=1, ensemble_mode="heads"
            ),
            quiet=quiet,
            progress=progress,
        )
        names.append(name)
    ensemble = RewardEnsemble.from_pretrained([out / n for n in names])
    train_pairs, eval_pairs = load_splits(config)[:2]

    # the spread threshold: 95th percentile of the members' spread on training pairs
    rng = np.random.default_rng(config.seed)
    rows = np.sort(
        rng.choice(len(train_pairs), size=min(SPREAD_SAMPLE_PAIRS, len(train_pairs)), replace=False)
    )
    sample = ensemble.score_pairs(
        [train_pairs[i] for i in rows if not train_pairs[i].tie],
        overlong=config.overlong,
        batch_size=config.eval_batch_size,
    )
    spread_threshold = float(np.quantile(sample.spread, QUANTILE)) if sample.pairs else None

    metrics, heldout = {}, {}
    if eval_pairs:
        scored = ensemble.score_pairs(
            eval_pairs,
            overlong=config.overlong,
            batch_size=config.eval_batch_size,
            progress=progress,
        )
        metrics = core_metrics(
            scored, len(eval_pairs), ensemble.primary.info.max_length, ensemble.temperature
        )
        stats = FeatureStatistics.load(out / names[0])
        if stats is not None:
            stats.spread_threshold = spread_threshold
            distance = (
                stats.pair_distance(scored.features_chosen, scored.features_rejected)
                if scored.features_chosen is not None
                else None
            )
            flags = ood_flags(len(scored.pairs), distance, scored.spread, stats, spread_threshold)
            heldout = {
                "source": f"held-out eval split ({len(scored.pairs)} pairs)",
                **{
                    f"fraction_flagged{'' if k == 'any' else '_' + k}": float(v.mean())
                    for k, v in flags.items()
                },
            }
            stats.heldout = heldout
        sections = proxy_sections(
            ensemble,
            scored,
            metrics,
            ProxyOptions(
                probes=[],
                stats=stats,
                spread_threshold=spread_threshold,
                plots=False,
                skip_probes_reason="not run at training time "
                "(rewardkit eval --model OUT runs them)",
            ),
        )
        metrics.update(sections.sections)
    metrics.update(
        {
            "split": "eval",
            "data": config.eval_data or config.data,
            "model": str(out),
            "ensemble": ensemble.describe(),
            "ensemble_training": {
                "form": "members",
                "k": config.ensemble,
                "seeds": [config.seed + j for j in range(config.ensemble)],
                "member_accuracy": metrics.get("uncertainty", {}).get("member_accuracy"),
            },
        }
    )
    write_members_manifest(
        out,
        names,
        seeds=[config.seed + j for j in range(config.ensemble)],
        spread_threshold=spread_threshold,
        heldout=heldout,
        metrics={k: metrics.get(k) for k in ("n", "accuracy", "bt_loss")},
    )
    write_json_atomic(out / "metrics.json", metrics)
    if not quiet and metrics:
        console.print(
            f"ensemble of {config.ensemble}: eval accuracy of the mean reward "
            f"{100 * metrics['accuracy']:.1f}% on {metrics['n']} pairs; saved to {out}",
            highlight=False,
        )
    return TrainResult(out, metrics, result.state)
