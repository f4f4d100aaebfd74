"""Training on frozen features: the fast path, head ensembles, and OOD statistics.

Three uses of one idea — a backbone's head-input features, computed once, with linear heads
fitted on them (:mod:`rewardkit.train.heads`):

``rewardkit train --freeze-backbone [--ensemble K]``
    Embed every training and eval text once with the untouched backbone (cached on disk,
    keyed by the backbone's weights and the exact token ids), then fit the head — or K
    bootstrap heads whose exact mean becomes the saved head — in seconds.

``rewardkit train --ensemble K`` (after a full fine-tune)
    Fine-tune once, embed the training pairs with the fine-tuned backbone, fit K bootstrap
    heads; their mean replaces the trained head (both accuracies are reported).

every training run (``--proxy-eval``, on by default)
    Fit the Mahalanobis statistics of the training features (up to 1,000 pairs), flag the
    held-out eval split with them (the in-distribution reference fraction), save
    ``feature_stats.safetensors``, and add the proxy sections to ``metrics.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from rewardkit.data import data_fingerprint
from rewardkit.data.records import prompt_hash
from rewardkit.eval.ood import fit_feature_statistics, ood_flags
from rewardkit.eval.proxy import ProxyOptions, core_metrics, proxy_sections
from rewardkit.model.encode import EncodedPair
from rewardkit.model.ensemble import RewardEnsemble, ScoredPairs, save_ensemble_heads
from rewardkit.model.features import (
    FeatureCache,
    FeatureRecorder,
    backbone_fingerprint,
    cached_features,
    extract_features,
    head_has_bias,
    head_input_description,
    head_parameters,
    set_head_parameters,
)
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import write_json_atomic
from rewardkit.progress import console
from rewardkit.train.config import TrainConfig
from rewardkit.train.heads import HeadObjective, LinearHeads, PairFeatures, fit_heads, pair_spread

OOD_SAMPLE_PAIRS = 1000


def objective_of(config: TrainConfig) -> HeadObjective:
    return HeadObjective(
        ties=config.ties,
        tie_nu=config.tie_nu,
        center_coef=config.center_coef,
        label_smoothing=config.label_smoothing,
        use_margin=config.use_margin,
    )


def pair_features_of(
    encoded: list[EncodedPair],
    chosen: np.ndarray,
    rejected: np.ndarray,
) -> PairFeatures:
    return PairFeatures(
        chosen,
        rejected,
        np.array([e.margin for e in encoded]),
        np.array([e.tie for e in encoded], dtype=bool),
        np.array([e.weight for e in encoded]),
    )


def features_of_pairs(
    model: RewardModel,
    encoded: list[EncodedPair],
    *,
    recorder: FeatureRecorder | None = None,
    cache: FeatureCache | None = None,
    backbone_key: str | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
    description: str = "embedding",
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(chosen (N, H), rejected (N, H), cache_hit)``: from the recorder where it saw the
    text, else from the cache, else computed."""
    sequences = [e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]
    n = len(encoded)
    if recorder is not None:
        found = recorder.lookup(sequences)
        missing = [i for i, f in enumerate(found) if f is None]
        if missing:
            extra, _ = extract_features(
                model,
                [sequences[i] for i in missing],
                batch_size=batch_size,
                progress=progress,
                description=description,
            )
            for row, i in enumerate(missing):
                found[i] = extra[row]
        if not found:
            empty, _ = extract_features(model, [])
            return empty, empty, False
        features = np.stack(found)
        return features[:n], features[n:], False
    features, hit = cached_features(
        model,
        sequences,
        cache=cache,
        batch_size=batch_size,
        progress=progress,
        description=description,
        backbone_key=backbone_key,
    )
    return features[:n], features[n:], hit


def install_heads(model: RewardModel, heads: LinearHeads, *, trained_from: str) -> None:
    """Put the heads' exact mean into the model and note the ensemble in rewardkit.json."""
    if not head_has_bias(model.model):
        heads.bias[:] = 0.0  # e.g. decoders' bias-free `score`: rewards stay uncentred
    weight, bias = heads.mean_head()
    set_head_parameters(model.model, weight, bias)
    if heads.k > 1:
        model.info.ensemble = {
            "form": "heads",
            "k": heads.k,
            "file": "ensemble_heads.safetensors",
            "head_input": head_input_description(model),
            "method": "bootstrap resamples of the training pairs (Coste et al. 2023)",
            "trained_from": trained_from,
            "l2": heads.l2,
            "saved_head": "the exact mean of the K heads",
        }


def scored_from_features(
    model: RewardModel, pairs, encoded, report, chosen, rejected, heads: LinearHeads | None
) -> ScoredPairs:
    """:class:`ScoredPairs` computed from features (no forward pass)."""
    w, b = head_parameters(model.model)
    r_c, r_r = chosen.astype(np.float64) @ w + b, rejected.astype(np.float64) @ w + b
    if heads is not None and heads.k > 1:
        m_c, m_r = heads.member_rewards(chosen), heads.member_rewards(rejected)
    else:
        m_c, m_r = r_c[None, :], r_r[None, :]
    return ScoredPairs(
        [pairs[e.index] for e in encoded], encoded, report, r_c, r_r, m_c, m_r, chosen, rejected
    )


def evaluate_on_features(
    model: RewardModel,
    data,
    config: TrainConfig,
    heads,
    train_features,
    eval_features,
    out: Path,
    is_main: bool,
    base: dict | None = None,
) -> dict:
    """``final`` (metrics, r_c, r_r) of the eval split from its features; with
    ``--proxy-eval`` also fits and saves the OOD statistics and adds the proxy sections."""
    if not data.eval_encoded:  # nothing held out: statistics without a reference fraction
        if config.proxy_eval and train_features is not None and is_main:
            spread = (
                pair_spread(heads, *train_features) if heads is not None and heads.k > 1 else None
            )
            out.mkdir(parents=True, exist_ok=True)
            fit_feature_statistics(
                *train_features,
                spread=spread,
                seed=config.seed,
                reference=f"training pairs ({len(train_features[0])})",
            ).save(out)
        return {"metrics": {}, "r_c": np.zeros(0), "r_r": np.zeros(0)}
    scored = scored_from_features(
        model, data.eval_pairs, data.eval_encoded, data.eval_report, *eval_features, heads
    )
    metrics = (
        dict(base)
        if base
        else core_metrics(scored, len(data.eval_pairs), model.info.max_length, model.temperature)
    )
    if config.proxy_eval and train_features is not None:
        spread = pair_spread(heads, *train_features) if heads is not None and heads.k > 1 else None
        stats = fit_feature_statistics(
            *train_features,
            spread=spread,
            seed=config.seed,
            reference=f"training pairs ({len(train_features[0])})",
        )
        ensemble = RewardEnsemble(
            model,
            heads=(heads.weight, heads.bias) if heads is not None and heads.k > 1 else None,
            source=str(out),
            primary_dir=out,
        )
        flags = ood_flags(
            len(scored.pairs),
            stats.pair_distance(*eval_features),
            scored.spread if ensemble.k > 1 else None,
            stats,
            stats.spread_threshold,
        )
        stats.heldout = {
            "source": f"held-out eval split ({len(scored.pairs)} pairs)",
            **{
                f"fraction_flagged{'' if name == 'any' else '_' + name}": float(mask.mean())
                for name, mask in flags.items()
            },
        }
        result = proxy_sections(
            ensemble,
            scored,
            metrics,
            ProxyOptions(
                probes=[],
                stats=stats,
                plots=False,
                skip_probes_reason="not run at training time "
                "(rewardkit eval --model OUT runs them)",
            ),
        )
        metrics.update(result.sections)
        # the keys `rewardkit eval` adds, so that both metrics.json share one schema
        metrics.update(
            {"data_fingerprint": data_fingerprint(data.eval_pairs), "ensemble": ensemble.describe()}
        )
        if is_main:
            out.mkdir(parents=True, exist_ok=True)
            stats.save(out)
    return {"metrics": metrics, "r_c": scored.r_chosen, "r_r": scored.r_rejected}


def _train_rows(n: int, config: TrainConfig, need_all: bool) -> np.ndarray:
    if need_all or n <= OOD_SAMPLE_PAIRS:
        return np.arange(n)
    rng = np.random.default_rng(config.seed)
    return np.sort(rng.choice(n, size=OOD_SAMPLE_PAIRS, replace=False))


def _groups(data, encoded: list[EncodedPair]) -> np.ndarray:
    return np.array([prompt_hash(data.train_pairs[e.index].prompt) % (1 << 62) for e in encoded])


def finish_with_features(
    model: RewardModel,
    data,
    config: TrainConfig,
    final: dict,
    out: Path,
    *,
    recorder: FeatureRecorder | None = None,
    is_main: bool = True,
    progress: bool | None = None,
    quiet: bool = False,
) -> dict:
    """After a full fine-tune: K bootstrap heads (``--ensemble K``), OOD statistics and the
    proxy sections (``--proxy-eval``). Returns ``final`` for :func:`trainer._finish`."""
    need_heads = config.ensemble > 1
    if not (config.proxy_eval or need_heads):
        return final
    out = Path(out)
    rows = _train_rows(len(data.train_encoded), config, need_heads)
    train_encoded = [data.train_encoded[i] for i in rows]
    train_features = features_of_pairs(
        model,
        train_encoded,
        recorder=recorder,
        batch_size=config.eval_batch_size,
        progress=progress,
        description="embedding training pairs",
    )[:2]
    eval_features = features_of_pairs(
        model,
        data.eval_encoded,
        recorder=recorder,
        batch_size=config.eval_batch_size,
        progress=progress,
        description="embedding eval pairs",
    )[:2]
    heads, base = None, final["metrics"]
    if need_heads:
        trained_accuracy = final["metrics"].get("accuracy")
        heads = fit_heads(
            pair_features_of(train_encoded, *train_features),
            k=config.ensemble,
            objective=objective_of(config),
            l2=config.head_l2,
            seed=config.seed,
            groups=_groups(data, train_encoded),
        )
        install_heads(model, heads, trained_from="the fine-tuned backbone's features")
        if is_main:
            out.mkdir(parents=True, exist_ok=True)
            save_ensemble_heads(out, heads.weight, heads.bias, {"k": heads.k, "l2": heads.l2})
        base = None  # the head changed: recompute the eval metrics
    result = evaluate_on_features(
        model, data, config, heads, train_features, eval_features, out, is_main, base=base
    )
    if need_heads:
        result["metrics"]["ensemble_training"] = _ensemble_note(heads, result, trained_accuracy)
        if not quiet and is_main:
            console.print(
                f"ensemble: {heads.k} bootstrap heads; mean head eval accuracy "
                f"{_pct(result['metrics'].get('accuracy'))} (trained head "
                f"{_pct(trained_accuracy)})",
                highlight=False,
            )
    return result


def _ensemble_note(heads: LinearHeads, final: dict, trained_accuracy) -> dict:
    members = final["metrics"].get("uncertainty", {}).get("member_accuracy")
    return {
        "form": "heads",
        "k": heads.k,
        "l2": heads.l2,
        "mean_head_accuracy": final["metrics"].get("accuracy"),
        "trained_head_accuracy": trained_accuracy,
        "member_accuracy": members,
    }


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def train_frozen(config: TrainConfig, *, quiet: bool = False, progress: bool | None = None):
    """``--freeze-backbone``: features once (cached), then linear head(s); saves a standard
    model (plus ``ensemble_heads.safetensors`` for K > 1) with metrics.json as usual."""
    from accelerate import Accelerator

    from rewardkit.train.checkpoint import TrainState
    from rewardkit.train.prepare import prepare_data
    from rewardkit.train.trainer import TrainResult, _finish

    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    out = Path(config.out)
    torch.manual_seed(config.seed)
    model = RewardModel.from_backbone(
        config.backbone,
        max_length=config.max_length,
        precision=config.precision,
        disable_dropout=config.disable_dropout,
    )
    data = prepare_data(config, model)
    say = (lambda msg: None) if quiet else (lambda msg: console.print(msg, highlight=False))
    for note in data.notes:
        say(note)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            out / "train_config.json",
            {"config": asdict(config), "data_fingerprint": data.fingerprint},
        )
    cache = (
        None
        if config.feature_cache == "off"
        else FeatureCache(None if config.feature_cache == "default" else config.feature_cache)
    )
    key = backbone_fingerprint(model)
    embed_started = time.perf_counter()
    f_c, f_r, hit_train = features_of_pairs(
        model,
        data.train_encoded,
        cache=cache,
        backbone_key=key,
        batch_size=config.eval_batch_size,
        progress=progress,
        description="embedding train",
    )
    e_c, e_r, hit_eval = features_of_pairs(
        model,
        data.eval_encoded,
        cache=cache,
        backbone_key=key,
        batch_size=config.eval_batch_size,
        progress=progress,
        description="embedding eval",
    )
    embed_seconds = time.perf_counter() - embed_started
    fit_started = time.perf_counter()
    heads = fit_heads(
        pair_features_of(data.train_encoded, f_c, f_r),
        k=config.ensemble,
        objective=objective_of(config),
        l2=config.head_l2,
        seed=config.seed,
        groups=_groups(data, data.train_encoded),
    )
    install_heads(model, heads, trained_from="the frozen backbone's features")
    fit_seconds = time.perf_counter() - fit_started
    if accelerator.is_main_process and heads.k > 1:
        save_ensemble_heads(out, heads.weight, heads.bias, {"k": heads.k, "l2": heads.l2})
    rows = _train_rows(len(data.train_encoded), config, need_all=False)
    final = evaluate_on_features(
        model,
        data,
        config,
        heads,
        (f_c[rows], f_r[rows]),
        (e_c, e_r),
        out,
        accelerator.is_main_process,
    )
    final["metrics"]["frozen_backbone"] = {
        "cache": "off" if cache is None else str(cache.root),
        "cache_hit": {"train": hit_train, "eval": hit_eval},
        "embed_seconds": round(embed_seconds, 3),
        "fit_seconds": round(fit_seconds, 3),
        "heads": heads.k,
        "l2": heads.l2,
        "head_input": head_input_description(model),
    }
    if heads.k > 1:
        final["metrics"]["ensemble_training"] = _ensemble_note(heads, final, None)
    state = TrainState(step=heads.k, epoch=1, pairs_seen=len(data.train_encoded))
    if accelerator.is_main_process:
        entry = {
            "step": state.step,
            "epoch": 1,
            "pairs_seen": state.pairs_seen,
            "frozen_backbone": True,
            "elapsed_s": round(time.perf_counter() - started, 3),
        }
        if final["metrics"]:
            entry["eval"] = {
                k: final["metrics"].get(k) for k in ("n", "accuracy", "mean_margin", "bt_loss")
            }
        (out / "metrics.jsonl").write_text(json.dumps(entry) + "\n")
    # trainer._finish writes metrics.json, rewardkit.json and the model exactly as full
    # training does (same schema)
    metrics = _finish(
        model,
        data,
        config,
        state,
        out,
        final,
        time.perf_counter() - started,
        accelerator,
        loop_seconds=embed_seconds + fit_seconds,
    )
    say(
        f"frozen backbone: {len(data.train_encoded)} train pairs embedded in "
        f"{embed_seconds:.1f}s ({'cache hit' if hit_train else 'computed'}), {heads.k} head(s) "
        f"fitted in {fit_seconds:.1f}s; eval accuracy {_pct(metrics.get('accuracy'))}; saved "
        f"to {out}"
    )
    return TrainResult(out, metrics, state)
