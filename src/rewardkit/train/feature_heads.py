"""Linear heads on a backbone's features, for the training paths that fit them.

Two uses of one idea — a backbone's head-input features (:mod:`rewardkit.model.features`),
computed once, with linear heads fitted on them (:mod:`rewardkit.train.heads`):

``rewardkit train --freeze-backbone [--ensemble K]`` (:mod:`rewardkit.train.frozen`)
    the untouched backbone's features, cached on disk; the head, or K bootstrap heads whose
    exact mean becomes the saved head, fitted in seconds.

``rewardkit train --ensemble K`` after a full fine-tune (:mod:`rewardkit.train.final_report`)
    the fine-tuned backbone's features; K bootstrap heads replace the trained head.
"""

from __future__ import annotations

import numpy as np

from rewardkit.data.records import prompt_hash
from rewardkit.model.encode import EncodedPair
from rewardkit.model.ensemble import HEADS_FILE, LinearHeads
from rewardkit.model.feature_cache import FeatureCache, cached_features
from rewardkit.model.features import head_has_bias, head_input_description, set_head_parameters
from rewardkit.model.reward_model import RewardModel
from rewardkit.train.config import TrainConfig
from rewardkit.train.heads import PairFeatures
from rewardkit.train.prepare import PreparedData

OOD_SAMPLE_PAIRS = 1000  # training pairs whose features are the OOD reference


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
        np.array([e.label for e in encoded], dtype=np.float64),
    )


def prompt_groups(data: PreparedData, encoded: list[EncodedPair]) -> np.ndarray:
    """One prompt hash per training pair: cross-validation folds stay prompt-disjoint."""
    return np.array([prompt_hash(data.train_pairs[e.index].prompt) % (1 << 62) for e in encoded])


def train_rows(n: int, config: TrainConfig, need_all: bool) -> np.ndarray:
    """Which training pairs to embed: all of them (heads are fitted on every pair), else a
    sample of :data:`OOD_SAMPLE_PAIRS` for the OOD reference."""
    if need_all or n <= OOD_SAMPLE_PAIRS:
        return np.arange(n)
    rng = np.random.default_rng(config.seed)
    return np.sort(rng.choice(n, size=OOD_SAMPLE_PAIRS, replace=False))


def features_of_pairs(
    model: RewardModel,
    encoded: list[EncodedPair],
    *,
    cache: FeatureCache | None = None,
    backbone_key: str | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
    description: str = "embedding",
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(chosen (N, H), rejected (N, H), cache_hit)``: each distinct text embedded once,
    from ``cache`` when it holds them."""
    sequences = [e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]
    features, hit = cached_features(
        model,
        sequences,
        cache=cache,
        batch_size=batch_size,
        progress=progress,
        description=description,
        backbone_key=backbone_key,
    )
    n = len(encoded)
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
            "file": HEADS_FILE,
            "head_input": head_input_description(model),
            "method": "bootstrap resamples of the training pairs (Coste et al. 2023)",
            "trained_from": trained_from,
            "l2": heads.l2,
            "saved_head": "the exact mean of the K heads",
        }


def ensemble_note(heads: LinearHeads, metrics: dict, trained_accuracy) -> dict:
    """``metrics.json``'s ``ensemble_training`` block of a heads ensemble."""
    return {
        "form": "heads",
        "k": heads.k,
        "l2": heads.l2,
        "mean_head_accuracy": metrics.get("accuracy"),
        "trained_head_accuracy": trained_accuracy,
        "member_accuracy": metrics.get("uncertainty", {}).get("member_accuracy"),
    }
