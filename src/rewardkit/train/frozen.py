"""``rewardkit train --freeze-backbone [--ensemble K]``: the frozen-feature fast path.

Embed every training and eval text once with the untouched backbone (cached on disk, keyed by
the backbone's weights and the exact token ids), then fit the linear head — or K bootstrap
heads whose exact mean becomes the saved head — with L-BFGS in seconds, where fine-tuning
takes minutes. The saved model is a standard one (plus ``ensemble_heads.safetensors`` for
K > 1), with ``metrics.json`` in the same schema as every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rewardkit.formatting import percent
from rewardkit.model.ensemble import LinearHeads
from rewardkit.model.feature_cache import FeatureCache, backbone_fingerprint
from rewardkit.model.features import head_input_description
from rewardkit.model.reward_model import RewardModel
from rewardkit.train import feature_heads, outputs
from rewardkit.train.accelerator import training_accelerator
from rewardkit.train.checkpoint import TrainState
from rewardkit.train.config import TrainConfig
from rewardkit.train.final_report import final_report, scored_from_features, scorer_for
from rewardkit.train.heads import fit_heads
from rewardkit.train.losses import Objective
from rewardkit.train.prepare import PreparedData, new_reward_model, prepare_data


@dataclass
class Embedded:
    """Features ``(N, H)`` of the chosen and rejected texts of both splits."""

    train: tuple[np.ndarray, np.ndarray]
    eval: tuple[np.ndarray, np.ndarray]
    cache: FeatureCache | None
    cache_hit: dict
    seconds: float


def train_frozen(
    config: TrainConfig, *, quiet: bool = False, progress: bool | None = None
) -> outputs.TrainResult:
    """Embed once (cached), fit the head(s), evaluate, save."""
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    is_main = training_accelerator().is_main_process
    out = Path(config.out)
    model = new_reward_model(config)
    data = prepare_data(config, model)
    for note in data.notes:
        outputs.say(note, quiet=quiet, is_main=is_main)
    outputs.start_run(out, config, data.fingerprint, is_main=is_main)
    embedded = _embed(model, data, config, progress)
    fit_started = time.perf_counter()
    heads = fit_heads(
        feature_heads.pair_features_of(data.train_encoded, *embedded.train),
        k=config.ensemble,
        objective=Objective.of(config),
        l2=config.head_l2,
        seed=config.seed,
        groups=feature_heads.prompt_groups(data, data.train_encoded),
    )
    feature_heads.install_heads(model, heads, trained_from="the frozen backbone's features")
    fit_seconds = time.perf_counter() - fit_started
    final = _evaluate(model, data, config, heads, embedded)
    final.metrics["frozen_backbone"] = {
        "cache": "off" if embedded.cache is None else str(embedded.cache.root),
        "cache_hit": embedded.cache_hit,
        "embed_seconds": round(embedded.seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
        "heads": heads.k,
        "l2": heads.l2,
        "head_input": head_input_description(model),
    }
    state = TrainState(step=heads.k, epoch=1, pairs_seen=len(data.train_encoded))
    outputs.MetricsLog(out, is_main=is_main).append(
        outputs.log_entry(state, started, final.metrics, frozen_backbone=True)
    )
    metrics = outputs.save_run(
        model,
        data,
        config,
        state,
        final,
        seconds=time.perf_counter() - started,
        loop_seconds=embedded.seconds + fit_seconds,
        is_main=is_main,
    )
    outputs.say(
        f"frozen backbone: {len(data.train_encoded)} train pairs embedded in "
        f"{embedded.seconds:.1f}s ({'cache hit' if embedded.cache_hit['train'] else 'computed'}),"
        f" {heads.k} head(s) fitted in {fit_seconds:.1f}s; eval accuracy "
        f"{percent(metrics.get('accuracy'), missing='n/a')}"
        f"{outputs.overlong_clause(metrics, config)}; saved to {out}",
        quiet=quiet,
        is_main=is_main,
    )
    return outputs.TrainResult(out, metrics, state)


def _embed(
    model: RewardModel, data: PreparedData, config: TrainConfig, progress: bool | None
) -> Embedded:
    """Every training and eval text through the untouched backbone, from the cache when it
    has them (``--feature-cache``)."""
    cache = (
        None
        if config.feature_cache == "off"
        else FeatureCache(None if config.feature_cache == "default" else config.feature_cache)
    )
    options = {
        "cache": cache,
        "backbone_key": backbone_fingerprint(model),
        "batch_size": config.eval_batch_size,
        "progress": progress,
    }
    started = time.perf_counter()
    *train, hit_train = feature_heads.features_of_pairs(
        model, data.train_encoded, **options, description="embedding train"
    )
    *held_out, hit_eval = feature_heads.features_of_pairs(
        model, data.eval_encoded, **options, description="embedding eval"
    )
    return Embedded(
        tuple(train),
        tuple(held_out),
        cache,
        {"train": hit_train, "eval": hit_eval},
        time.perf_counter() - started,
    )


def _evaluate(
    model: RewardModel,
    data: PreparedData,
    config: TrainConfig,
    heads: LinearHeads,
    embedded: Embedded,
) -> outputs.FinalEvaluation:
    """The eval split scored from its features, with the proxy sections and OOD statistics
    of a sample of the training pairs."""
    out = Path(config.out)
    scored = (
        scored_from_features(scorer_for(model, heads, out), data, *embedded.eval)
        if data.eval_encoded
        else None
    )
    rows = feature_heads.train_rows(len(data.train_encoded), config, need_all=False)
    f_c, f_r = embedded.train
    final = final_report(model, data, config, scored, heads, (f_c[rows], f_r[rows]))
    if heads.k > 1:
        final.metrics["ensemble_training"] = feature_heads.ensemble_note(heads, final.metrics, None)
    return final
