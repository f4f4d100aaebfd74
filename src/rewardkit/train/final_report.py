"""The end of a training run on features: K bootstrap heads (``--ensemble K``), the OOD
statistics of the training pairs, and the proxy evaluation of the eval split.

Every training run with ``--proxy-eval`` (the default) fits the Mahalanobis statistics of the
training features (up to 1,000 pairs), flags the held-out eval split with them (the
in-distribution reference), saves ``feature_stats.safetensors`` and adds the proxy sections to
``metrics.json`` — through :func:`rewardkit.eval.proxy.evaluate_proxy`, as ``rewardkit eval``
does, so both files share one schema.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rewardkit.eval.proxy import (
    NOT_AT_TRAINING_TIME,
    ProxyOptions,
    ReferenceFeatures,
    core_metrics,
    evaluate_proxy,
)
from rewardkit.formatting import percent
from rewardkit.model.ensemble import LinearHeads
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.scorer import Scorer
from rewardkit.model.scores import ScoredPairs
from rewardkit.train import feature_heads
from rewardkit.train.config import TrainConfig
from rewardkit.train.heads import fit_heads, pair_spread
from rewardkit.train.losses import Objective
from rewardkit.train.outputs import FinalEvaluation, say
from rewardkit.train.prepare import PreparedData


def scorer_for(model: RewardModel, heads: LinearHeads | None, out: Path) -> Scorer:
    """The model just trained, with its heads when there are several."""
    return Scorer(
        [model],
        heads=heads if heads is not None and heads.k > 1 else None,
        source=str(out),
        primary_dir=out,
    )


def scored_from_features(
    scorer: Scorer, data: PreparedData, chosen: np.ndarray, rejected: np.ndarray
) -> ScoredPairs:
    """The eval split scored from its features ``(N, H)`` each (no forward pass)."""
    scores = scorer.scores_from_features(np.concatenate([chosen, rejected]))
    kept = [data.eval_pairs[e.index] for e in data.eval_encoded]
    return ScoredPairs.from_scores(kept, data.eval_encoded, data.eval_report, scores)


def final_report(
    model: RewardModel,
    data: PreparedData,
    config: TrainConfig,
    scored: ScoredPairs | None,
    heads: LinearHeads | None,
    train_features: tuple[np.ndarray, np.ndarray],
) -> FinalEvaluation:
    """Metrics of the eval split (``scored``; None when it is empty) with the proxy sections,
    and the OOD statistics fitted on ``train_features`` and the K heads, for the save."""
    scorer = scorer_for(model, heads, Path(config.out))
    reference = None
    if config.proxy_eval:
        spread = pair_spread(heads, *train_features) if scorer.kind == "heads" else None
        reference = ReferenceFeatures(
            *train_features, spread, f"training pairs ({len(train_features[0])})", seed=config.seed
        )
    if scored is None:
        final = FinalEvaluation.empty()
        final.heads, final.stats = heads, reference.fit() if reference is not None else None
        return final
    if reference is None:
        metrics = core_metrics(scored, len(data.eval_pairs), scorer.max_length, scorer.calibration)
        return FinalEvaluation(metrics, scored.r_chosen, scored.r_rejected, heads)
    result = evaluate_proxy(
        scorer,
        data.eval_pairs,
        scored,
        ProxyOptions(
            probes=[],
            skip_probes_reason=NOT_AT_TRAINING_TIME,
            reference=reference,
            heldout=True,
            plots=False,
        ),
    )
    return FinalEvaluation(result.metrics, scored.r_chosen, scored.r_rejected, heads, result.stats)


def finish_with_features(
    model: RewardModel,
    data: PreparedData,
    config: TrainConfig,
    final,
    *,
    is_main: bool = True,
    progress: bool | None = None,
    quiet: bool = False,
) -> FinalEvaluation:
    """After a full fine-tune (``final``: its last evaluation, with the eval features): K
    bootstrap heads when ``--ensemble K``, then :func:`final_report`."""
    need_heads = config.ensemble > 1
    if not (config.proxy_eval or need_heads):
        return final.evaluation
    rows = feature_heads.train_rows(len(data.train_encoded), config, need_heads)
    train_encoded = [data.train_encoded[i] for i in rows]
    train_features = feature_heads.features_of_pairs(
        model,
        train_encoded,
        batch_size=config.eval_batch_size,
        progress=progress,
        description="embedding training pairs",
    )[:2]
    scored, heads = final.scored, None
    trained_accuracy = final.evaluation.metrics.get("accuracy")
    if need_heads:
        heads = fit_heads(
            feature_heads.pair_features_of(train_encoded, *train_features),
            k=config.ensemble,
            objective=Objective.of(config),
            l2=config.head_l2,
            seed=config.seed,
            groups=feature_heads.prompt_groups(data, train_encoded),
        )
        feature_heads.install_heads(model, heads, trained_from="the fine-tuned backbone's features")
        if scored is not None:  # the head changed: the eval rewards follow from the features
            scored = scored_from_features(
                scorer_for(model, heads, Path(config.out)),
                data,
                scored.features_chosen,
                scored.features_rejected,
            )
    result = final_report(model, data, config, scored, heads, train_features)
    if need_heads:
        result.metrics["ensemble_training"] = feature_heads.ensemble_note(
            heads, result.metrics, trained_accuracy
        )
        say(
            f"ensemble: {heads.k} bootstrap heads; mean head eval accuracy "
            f"{percent(result.metrics.get('accuracy'), missing='n/a')} (trained head "
            f"{percent(trained_accuracy, missing='n/a')})",
            quiet=quiet,
            is_main=is_main,
        )
    return result
