"""Evaluating a reward model as a proxy: the one entry point, :func:`evaluate_proxy`.

``rewardkit eval`` and every training path call it, so train's ``metrics.json`` and eval's have
one schema. Given pairs scored by the one scorer (:class:`rewardkit.model.scorer.ScoredPairs`)
it returns ``metrics`` — the accuracy block, then calibration, length bias, probes,
uncertainty, OOD and the accuracy breakdowns — plus the report's plots and one row per pair
(``pairs.jsonl``, which ``rewardkit compare`` pairs up across models).

OOD flags need a reference (:class:`rewardkit.eval.ood.FeatureStatistics`): the statistics a
model was saved with, ones fitted on ``--reference-data``, or, at the end of training, ones
just fitted on the training pairs. When the scored pairs are the model's own held-out split
(``ProxyOptions.heldout``), the fractions flagged among them are written into the statistics
as the in-distribution reference that later evaluations compare against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rewardkit.bradley_terry import Calibration
from rewardkit.data import data_fingerprint
from rewardkit.data.records import PreferencePair, prompt_text
from rewardkit.eval import plots
from rewardkit.eval.accuracy_breakdown import (
    accuracy_by_strength,
    reward_distribution,
    section_scores,
    tie_summary,
)
from rewardkit.eval.calibration import calibration_summary
from rewardkit.eval.length_bias import length_bias, response_length
from rewardkit.eval.ood import FeatureStatistics, fit_feature_statistics, ood_flags, ood_section
from rewardkit.eval.pairwise import pairwise_metrics
from rewardkit.eval.probes import Probe, default_probes, probe_summary, run_probes
from rewardkit.eval.uncertainty import PAIR_UNCERTAINTY, pair_uncertainties, uncertainty_section
from rewardkit.model.mc_dropout import DropoutDeltas

NOT_AT_TRAINING_TIME = "not run at training time (rewardkit eval --model OUT runs them)"


@dataclass
class ReferenceFeatures:
    """Head-input features ``(N, H)`` of the pairs a model learned from, the reference its
    OOD statistics are fitted on (with the members' spread on them, for an ensemble)."""

    chosen: np.ndarray
    rejected: np.ndarray
    spread: np.ndarray | None
    description: str
    seed: int = 0

    def fit(self) -> FeatureStatistics:
        return fit_feature_statistics(
            self.chosen,
            self.rejected,
            spread=self.spread,
            seed=self.seed,
            reference=self.description,
        )


@dataclass
class ProxyOptions:
    """What to compute. ``probes=None`` runs the default registry, ``[]`` skips probes.

    The OOD reference is ``stats`` (stored with the model), else statistics fitted on
    ``reference``; ``spread_threshold`` is the ensemble-spread cut (default: the one in the
    statistics). ``heldout`` marks the pairs as the model's held-out split: their flagged
    fractions go into the statistics as the in-distribution reference."""

    probes: Sequence[Probe] | None = None
    skip_probes_reason: str = "skipped"
    n_bins: int = 10
    binning: str = "equal-mass"
    stats: FeatureStatistics | None = None
    reference: ReferenceFeatures | None = None
    spread_threshold: float | None = None
    heldout: bool = False
    overlong: str = "truncate"  # the policy the pairs were scored with (probes rescore alike)
    plots: bool = True
    batch_size: int = 0
    progress: bool | None = False
    calibration_fit: dict | None = None  # from rewardkit.eval.cross_fitted (--calibrate)
    mc_dropout: DropoutDeltas | None = None  # Scorer.mc_dropout_deltas of the scored pairs


@dataclass
class ProxyResult:
    """The metrics block, the report's plots, one row per pair, and the OOD statistics used
    (to save with a model trained just now)."""

    metrics: dict
    plots: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    stats: FeatureStatistics | None = None


@dataclass
class _OodInputs:
    """Per pair: Mahalanobis distance, ensemble spread, and the flags they raise."""

    distance: np.ndarray | None
    spread: np.ndarray | None
    spread_threshold: float | None
    flags: dict


def pair_key(pair: PreferencePair) -> str:
    """A content key for a pair, stable across runs and files (for ``compare``)."""
    text = "\x00".join([prompt_text(pair.prompt), pair.chosen, pair.rejected])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def evaluate_proxy(
    scorer, pairs: Sequence[PreferencePair], scored, options: ProxyOptions = ProxyOptions()
) -> ProxyResult:
    """Judge ``scorer`` (a :class:`~rewardkit.model.scorer.Scorer`) on ``scored``, the kept
    ones of the input ``pairs``: the whole metrics block, plots and per-pair rows."""
    calibration = scorer.calibration
    metrics = core_metrics(scored, len(pairs), scorer.max_length, calibration)
    stats = options.stats
    if stats is None and options.reference is not None:
        stats = options.reference.fit()
    ood = _ood_inputs(scorer, scored, stats, options.spread_threshold)
    if options.heldout and stats is not None:
        stats.heldout = _heldout_fractions(ood.flags, len(scored.pairs))
    result = ProxyResult(metrics, stats=stats)
    judged = np.array([not p.tie for p in scored.pairs], dtype=bool)
    metrics.update(_accuracy_sections(scored, metrics, calibration))
    metrics.update(_calibration_and_length(scored, judged, calibration, options))
    probe_results = _probe_section(scorer, scored, metrics, options)
    mc = options.mc_dropout
    _uncertainty_and_ood(scorer, scored, judged, ood, metrics, stats, mc)
    metrics.update({"data_fingerprint": data_fingerprint(pairs), "ensemble": scorer.describe()})
    result.rows = _pair_rows(scored, calibration, ood, mc)
    if options.plots:
        result.plots = _plots(metrics, scored, judged, probe_results, ood.distance, stats)
    return result


def core_metrics(scored, n_pairs_in: int, max_length: int, calibration: Calibration) -> dict:
    """The accuracy block of ``metrics.json`` (also each evaluation during training); its
    BT log-loss under the model's ``calibration``."""
    metrics = pairwise_metrics(
        scored.r_chosen,
        scored.r_rejected,
        tie=[p.tie for p in scored.pairs],
        subset=[p.subset for p in scored.pairs],
        truncated=[e.truncated for e in scored.encoded],
        calibration=calibration,
    )
    metrics["n_pairs_in"] = n_pairs_in
    metrics["overlong"] = scored.report.to_dict()
    metrics["max_length"] = max_length
    return metrics


def _ood_inputs(
    scorer, scored, stats: FeatureStatistics | None, spread_threshold: float | None
) -> _OodInputs:
    distance = None
    if stats is not None and scored.features_chosen is not None:
        distance = stats.pair_distance(scored.features_chosen, scored.features_rejected)
    spread = scored.spread if scorer.k > 1 else None
    threshold = spread_threshold
    if threshold is None and stats is not None and scorer.k > 1:
        threshold = stats.spread_threshold
    flags = ood_flags(len(scored.pairs), distance, spread, stats, threshold)
    return _OodInputs(distance, spread, threshold, flags)


def _heldout_fractions(flags: dict, n: int) -> dict:
    """The fractions of the held-out split flagged (by either measure, by each)."""
    fractions = {
        f"fraction_flagged{'' if name == 'any' else '_' + name}": float(mask.mean())
        for name, mask in flags.items()
    }
    return {"source": f"held-out eval split ({n} pairs)", **fractions}


def _accuracy_sections(scored, metrics: dict, calibration: Calibration) -> dict:
    r_c, r_r = scored.r_chosen, scored.r_rejected
    tie = np.array([p.tie for p in scored.pairs], dtype=bool)
    sections: dict = {}
    strength = accuracy_by_strength(scored.pairs, r_c, r_r, calibration)
    if strength:
        sections["accuracy_by_strength"] = strength
    by_section = section_scores(metrics.get("per_subset") or {})
    if by_section:
        sections["section_scores"] = by_section
    sections["ties_detail"] = tie_summary(r_c, r_r, tie)
    sections["reward_distribution"] = reward_distribution(r_c, r_r)
    return sections


def _calibration_and_length(
    scored, judged, calibration: Calibration, options: ProxyOptions
) -> dict:
    r_c, r_r = scored.r_chosen, scored.r_rejected
    section = calibration_summary((r_c - r_r)[judged], calibration, options.n_bins, options.binning)
    section["formula"] = calibration.formula
    section["binning"] = f"{options.n_bins} {options.binning} bins"
    if options.calibration_fit:
        section["calibration_fit"] = options.calibration_fit
    len_c, len_r = _lengths(scored)
    bias = length_bias(r_c[judged], r_r[judged], len_c[judged], len_r[judged])
    return {"calibration": section, "length_bias": bias}


def _lengths(scored) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([response_length(p.chosen) for p in scored.pairs]),
        np.array([response_length(p.rejected) for p in scored.pairs]),
    )


def _probe_section(scorer, scored, metrics: dict, options: ProxyOptions) -> dict:
    """Runs the probes into ``metrics["probes"]``; returns their results (for the plot)."""
    if options.probes is not None and len(options.probes) == 0:
        metrics["probes"] = {"skipped": options.skip_probes_reason}
        return {}
    probes = list(options.probes) if options.probes is not None else default_probes()
    results = run_probes(
        scorer,
        scored,
        probes,
        batch_size=options.batch_size,
        progress=options.progress,
        overlong=options.overlong,
    )
    metrics["probes"] = {
        "applied_to": "the rejected response of every non-tie pair",
        "flip_rate": "among pairs ranked correctly before the edit, the fraction where the "
        "edited rejected response outscores the chosen one",
        "results": results,
        "summary": probe_summary(results),
    }
    return results


def _uncertainty_and_ood(
    scorer,
    scored,
    judged,
    ood: _OodInputs,
    metrics: dict,
    stats: FeatureStatistics | None,
    mc: DropoutDeltas | None,
) -> None:
    members_delta = scored.members_chosen - scored.members_rejected
    metrics["uncertainty"] = uncertainty_section(
        members_delta[:, judged],
        scorer.calibration,
        mc_dropout=None if mc is None else mc.deltas[:, judged],
    )
    metrics["uncertainty"]["ensemble"] = scorer.describe()
    if mc is not None:
        metrics["uncertainty"]["mc_dropout"].update(mc.describe())
    correct = scored.r_chosen - scored.r_rejected > 0
    metrics["ood"] = ood_section(
        correct, ood.distance, ood.spread, stats, ood.spread_threshold, tie=~judged
    )
    if stats is None:
        metrics["ood"]["note"] = (
            "no feature statistics: train with rewardkit, or pass "
            "--reference-data FILE (the model's training data)"
        )


def _pair_rows(
    scored, calibration: Calibration, ood: _OodInputs, mc: DropoutDeltas | None
) -> list[dict]:
    delta = scored.r_chosen - scored.r_rejected
    p = calibration.probability(delta)
    uncertainties = pair_uncertainties(
        scored.members_chosen - scored.members_rejected,
        calibration,
        None if mc is None else mc.deltas,
    )
    rows = []
    for i, pair in enumerate(scored.pairs):
        row = {
            "key": pair_key(pair),
            "id": pair.id,
            "subset": pair.subset,
            "tie": bool(pair.tie),
            "reward_chosen": float(scored.r_chosen[i]),
            "reward_rejected": float(scored.r_rejected[i]),
            "p_chosen": float(p[i]),
            "uncertainty": float(uncertainties[PAIR_UNCERTAINTY][i]),
            "uncertainties": {name: float(values[i]) for name, values in uncertainties.items()},
            "correct": bool(delta[i] > 0) if not pair.tie else None,
            "flagged": bool(ood.flags["any"][i]),
            "tokens_removed_chosen": scored.encoded[i].removed_chosen,
            "tokens_removed_rejected": scored.encoded[i].removed_rejected,
        }
        if ood.spread is not None:
            row["spread"] = float(ood.spread[i])
        if ood.distance is not None:
            row["distance"] = float(ood.distance[i])
        rows.append(row)
    return rows


def _label(block: dict) -> str:
    """``T = 1.29`` (or ``T = 1.29, γ = 0.75``) of a calibration summary."""
    return Calibration.stored(block["temperature"], block.get("exponent")).label()


def _plots(metrics, scored, judged, probe_results, distance, stats) -> dict:
    r_c, r_r = scored.r_chosen, scored.r_rejected
    len_c, len_r = _lengths(scored)
    calibration = metrics["calibration"]
    out = {"reward_distributions": plots.reward_distributions(r_c, r_r)}
    curves = {_label(calibration): calibration["bins"]}
    fit = calibration.get("calibration_fit")
    if fit:
        curves = {f"before ({_label(fit['before'])})": fit["before"]["bins"]}
        for form, block in fit["forms"].items():
            held_out = "cross-fitted" if block["temperature"] is None else _label(block)
            stored = ", stored" if form == fit["form"] else ""
            curves[f"{form} ({held_out}{stored})"] = block["bins"]
    out["reliability"] = plots.reliability_diagram(curves)
    out["length"] = plots.length_scatter(
        len_c[judged], len_r[judged], r_c[judged], r_r[judged], metrics["length_bias"]
    )
    if probe_results:
        out["probes"] = plots.probe_flip_rates(probe_results)
    unc = metrics["uncertainty"]
    coverage = {"margin 1−|2p−1|": unc["margin"]["accuracy_coverage"]}
    if "spread" in unc:
        coverage = {
            "ensemble spread": unc["spread"]["accuracy_coverage"],
            "probability spread": unc["probability_spread"]["accuracy_coverage"],
            **coverage,
        }
    if "mc_dropout" in unc:
        coverage[f"MC dropout ({unc['mc_dropout']['passes']} passes)"] = unc["mc_dropout"][
            "accuracy_coverage"
        ]
    abstain = metrics["ood"].get("abstain_by_distance")
    if abstain:
        coverage["OOD distance (abstain on the most distant)"] = abstain
    out["coverage"] = plots.accuracy_coverage(coverage)
    if distance is not None and distance.size:
        out["ood"] = plots.distance_histogram(distance, stats.distance_threshold)
    return out
