"""Trust signals beside every served reward: how far a text lies from what the model learned
from, how much an ensemble's members disagree, and how uncertain a pair's preference is.

Per text (``/score``, ``/get_reward``'s ``extra_logs``, ``rewardkit score`` rows, the TRL
adapter):

==============  ===========================================================================
signal          meaning
==============  ===========================================================================
ood_distance    Mahalanobis distance of the text's head-input features from the training
                texts' (:mod:`rewardkit.eval.ood`: Lee et al. 2018, Ledoit–Wolf covariance)
ood_percentile  the share of the training texts, in %, whose own out-of-fold distance is at
                most this one (absent for statistics saved before the reference was stored)
ood_flag        ood_percentile above ``100 · quantile`` (95): further than 95% of the
                training texts
spread          ensembles: the std over members of the text's reward (ddof 0; Coste et al.
                2023)
==============  ===========================================================================

Per pair of responses to one prompt (two-response ``/score``), the figures ``rewardkit eval``
writes per pair in ``pairs.jsonl``: ``uncertainty`` (the margin ``1 − |2p − 1|``, p under the
stored calibration; :data:`rewardkit.eval.uncertainty.PAIR_UNCERTAINTY`), for ensembles
``spread`` (std over members of Δ_k) and ``probability_spread``, ``distance`` (the larger of
the two texts') and ``flagged`` (eval's pair rule: the distance or the spread over its
stored 95th percentile).

The features come from the forward pass that computes the rewards (a hook on the reward
head's input); the only extra work is one matrix product on them, and none at all for a model
saved without ``feature_stats.safetensors`` (:attr:`Trust.needs_features` is then False).
:meth:`Trust.score` measures the distances pass by pass (the scorer's ``feature_map``), so
``rewardkit score`` keeps a distance per text, never a file's ``(N, H)`` features; the server,
whose requests are small, keeps the features and measures them in :meth:`Trust.texts`. Either
way a text's distance is the same bits whatever it is measured with
(:func:`rewardkit.model.features.by_row_blocks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rewardkit.eval.ood import FeatureStatistics, ood_flags, stored_statistics
from rewardkit.eval.uncertainty import (
    MARGIN_FORMULA,
    PAIR_UNCERTAINTY,
    margin_uncertainty,
    member_spread,
    probability_spread,
)
from rewardkit.model.scores import Scores

NO_STATISTICS = (
    "the model has no feature_stats.safetensors (train it with rewardkit, whose default "
    "--proxy-eval saves them): no OOD distance"
)
NO_LINEAR_HEAD = "the model's reward head is not linear: no head-input features to measure"
NO_REFERENCE = (
    "feature_stats.safetensors predates the stored reference distances (text_distances): "
    "distances only, no percentile or flag; retrain to get them"
)


@dataclass
class TextTrust:
    """Per-text signals of N texts (``None``: the model does not have that signal)."""

    distance: np.ndarray | None = None
    percentile: np.ndarray | None = None
    flagged: np.ndarray | None = None
    spread: np.ndarray | None = None

    def row(self, i: int) -> dict:
        """Text ``i``'s signals for a JSON row (``ood_distance``, ``ood_percentile``,
        ``ood_flag``, ``spread``), only those the model has."""
        out: dict = {}
        if self.distance is not None:
            out["ood_distance"] = float(self.distance[i])
        if self.percentile is not None:
            out["ood_percentile"] = float(self.percentile[i])
            out["ood_flag"] = bool(self.flagged[i])
        if self.spread is not None:
            out["spread"] = float(self.spread[i])
        return out

    def numbers(self) -> dict[str, list[float]]:
        """The signals as lists of numbers (OpenRLHF logs ``extra_logs``, which must be
        numbers; the flag is 1.0/0.0): ``ood_distance``, ``ood_percentile``, ``ood_flag``,
        ``ensemble_spread``."""
        out: dict[str, list[float]] = {}
        if self.distance is not None:
            out["ood_distance"] = self.distance.astype(float).tolist()
        if self.percentile is not None:
            out["ood_percentile"] = self.percentile.astype(float).tolist()
            out["ood_flag"] = self.flagged.astype(float).tolist()
        if self.spread is not None:
            out["ensemble_spread"] = self.spread.astype(float).tolist()
        return out

    def ood_block(self) -> dict | None:
        """``/score``'s per-response ``ood`` block, or None without a distance."""
        if self.distance is None:
            return None
        return {
            "distance": self.distance.astype(float).tolist(),
            "percentile": None if self.percentile is None else self.percentile.tolist(),
            "flagged": None if self.flagged is None else self.flagged.tolist(),
        }


class Trust:
    """The trust signals a loaded model (a :class:`~rewardkit.model.scorer.Scorer`) can give,
    from its stored OOD statistics (:func:`rewardkit.eval.ood.stored_statistics`)."""

    def __init__(self, scorer, stats: FeatureStatistics | None = None):
        self.scorer = scorer
        self.linear_head = scorer.has_linear_head
        self.stats = stats if stats is not None else stored_statistics(scorer)
        if not self.linear_head:
            self.stats = None

    @property
    def needs_features(self) -> bool:
        """Whether scoring must keep the head-input features (only when they are measured)."""
        return self.stats is not None

    @property
    def ensemble(self) -> bool:
        return self.scorer.k > 1

    def feature_distances(self, features: np.ndarray) -> np.ndarray:
        """``(b, 1)``: the OOD distance of each row of head-input features ``(b, H)`` — the
        scorer's ``feature_map`` in :meth:`score`."""
        return self.stats.distance(features)[:, None]

    def score(self, prompts, responses, **kwargs) -> tuple[Scores, TextTrust]:
        """``(Scores, TextTrust)``: the scorer's :meth:`~rewardkit.model.scorer.Scorer.score`
        (``kwargs``: batch size, progress, over-long policy) and the signals of its texts,
        measured in the same forward passes as they come."""
        measure = self.feature_distances if self.needs_features else None
        scores = self.scorer.score(prompts, responses, feature_map=measure, **kwargs)
        return scores, self.texts(scores)

    def texts(self, scores: Scores) -> TextTrust:
        """Per-text signals of ``scores`` (:class:`~rewardkit.model.scores.Scores`, from
        :meth:`score`, or scored with ``features=self.needs_features``)."""
        out = TextTrust(spread=scores.spread if self.ensemble else None)
        if self.stats is not None and scores.mapped is not None:  # feature_distances
            out.distance = np.ascontiguousarray(scores.mapped[:, 0])
        elif self.stats is not None and scores.features is not None:
            out.distance = self.stats.distance(scores.features)
        if out.distance is not None and self.stats.has_percentiles:
            out.percentile = self.stats.percentile(out.distance)
            out.flagged = self.stats.text_flags(out.percentile)
        return out

    def pair(self, scores: Scores, texts: TextTrust, a: int = 0, b: int = 1) -> dict:
        """The pair (text ``a`` over text ``b``) as ``rewardkit eval`` judges it per pair."""
        calibration = self.scorer.calibration
        delta = float(scores.rewards[a] - scores.rewards[b])
        out: dict = {
            "uncertainty": float(margin_uncertainty(delta, calibration)),
            "uncertainty_kind": PAIR_UNCERTAINTY,
            "spread": None,
            "probability_spread": None,
            "distance": None,
            "flagged": None,
        }
        spread, threshold = None, None
        if self.ensemble:
            delta_members = (scores.members[:, a] - scores.members[:, b])[:, None]
            spread = member_spread(delta_members)
            out["spread"] = float(spread[0])
            out["probability_spread"] = float(probability_spread(delta_members, calibration)[0])
            threshold = self.stats.spread_threshold if self.stats is not None else None
        distance = None
        if texts.distance is not None:
            distance = np.maximum(texts.distance[[a]], texts.distance[[b]])
            out["distance"] = float(distance[0])
        if distance is not None or threshold is not None:
            flags = ood_flags(1, distance, spread, self.stats, threshold)
            out["flagged"] = bool(flags["any"][0])
        return out

    def describe(self) -> dict:
        """``/info``'s ``trust`` block: which signals the model has, and their thresholds."""
        stats = self.stats
        ood: dict = {
            "distance_available": stats is not None,
            "percentile_available": bool(stats is not None and stats.has_percentiles),
            "distance": "Mahalanobis distance of a text's head-input features from the "
            "training texts' (Ledoit–Wolf covariance)",
        }
        if stats is None:
            ood["note"] = NO_STATISTICS if self.linear_head else NO_LINEAR_HEAD
        else:
            ood["reference"] = stats.reference
            if stats.has_percentiles:
                ood["percentile_reference"] = stats.text_reference
                ood["reference_texts"] = int(stats.text_distances.size)
                ood["flag_above_percentile"] = stats.flag_percentile
            else:
                ood["note"] = NO_REFERENCE
        spread: dict = {"available": self.ensemble}
        if self.ensemble:
            spread["text"] = "std over members (ddof 0) of the text's reward"
            spread["pair"] = "std over members (ddof 0) of r_k(a) − r_k(b)"
        return {
            "ood": ood,
            "spread": spread,
            "pair_uncertainty": {
                "kind": PAIR_UNCERTAINTY,
                "formula": MARGIN_FORMULA,
                "temperature": self.scorer.calibration.temperature,
                "calibration_exponent": self.scorer.calibration.exponent,
                "also": ["spread", "probability_spread"] if self.ensemble else [],
            },
            "pair_flag": self._pair_flag(),
        }

    def _pair_flag(self) -> dict | None:
        """How a pair is flagged (eval's rule), with its thresholds; None without any."""
        stats = self.stats
        if stats is None:
            return None
        return {
            "rule": "flagged when the pair's distance (the larger of its two texts') or its "
            f"ensemble spread exceeds its {stats.flag_percentile:g}th percentile on the "
            "training pairs, as rewardkit eval flags pairs",
            "distance_threshold": stats.distance_threshold,
            "spread_threshold": stats.spread_threshold if self.ensemble else None,
        }
