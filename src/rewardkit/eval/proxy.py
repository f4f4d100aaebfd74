"""Evaluating a reward model as a proxy: every section of ``metrics.json`` beyond accuracy.

:func:`proxy_sections` takes scored pairs (:class:`rewardkit.model.ensemble.ScoredPairs`)
and returns the sections — calibration, length bias, probes, uncertainty, OOD, and the
accuracy breakdowns — plus the report's plots and one row per pair (``pairs.jsonl``, which
``rewardkit compare`` pairs up across models). ``rewardkit eval`` and training share it, so
train's ``metrics.json`` and eval's have the same schema.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
from rewardkit.eval.ood import FeatureStatistics, ood_flags, ood_section
from rewardkit.eval.pairwise import pairwise_metrics
from rewardkit.eval.probes import Probe, default_probes, probe_summary, run_probes
from rewardkit.eval.uncertainty import uncertainty_section


@dataclass
class ProxyOptions:
    """What to compute. ``probes=None`` runs the default registry, ``[]`` skips probes."""

    probes: Sequence[Probe] | None = None
    n_bins: int = 10
    binning: str = "equal-mass"
    stats: FeatureStatistics | None = None
    spread_threshold: float | None = None
    plots: bool = True
    batch_size: int = 0
    progress: bool | None = False
    skip_probes_reason: str = "skipped"
    temperature_fit: dict | None = None  # from calibration.temperature_fit_report


@dataclass
class ProxyResult:
    sections: dict
    plots: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)


def pair_key(pair: PreferencePair) -> str:
    """A content key for a pair, stable across runs and files (for ``compare``)."""
    text = "\x00".join([prompt_text(pair.prompt), pair.chosen, pair.rejected])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def core_metrics(scored, n_pairs_in: int, max_length: int, temperature: float) -> dict:
    """The accuracy block of ``metrics.json`` (as :func:`evaluate_encoded` computes it)."""
    metrics = pairwise_metrics(
        scored.r_chosen,
        scored.r_rejected,
        tie=[p.tie for p in scored.pairs],
        subset=[p.subset for p in scored.pairs],
        truncated=[e.truncated for e in scored.encoded],
        temperature=temperature,
    )
    metrics["n_pairs_in"] = n_pairs_in
    metrics["overlong"] = scored.report.to_dict()
    metrics["max_length"] = max_length
    return metrics


def proxy_sections(
    target,
    scored,
    metrics: dict,
    options: ProxyOptions = ProxyOptions(),
) -> ProxyResult:
    """Every proxy section for ``scored`` (``metrics`` is its core accuracy block)."""
    tie = np.array([p.tie for p in scored.pairs], dtype=bool)
    judged = ~tie
    r_c, r_r = scored.r_chosen, scored.r_rejected
    delta = r_c - r_r
    temperature = target.temperature
    sections: dict = {}
    result = ProxyResult(sections)

    strength = accuracy_by_strength(scored.pairs, r_c, r_r, temperature)
    if strength:
        sections["accuracy_by_strength"] = strength
    sections_score = section_scores(metrics.get("per_subset") or {})
    if sections_score:
        sections["section_scores"] = sections_score
    sections["ties_detail"] = tie_summary(r_c, r_r, tie)
    sections["reward_distribution"] = reward_distribution(r_c, r_r)

    sections["calibration"] = calibration_summary(
        delta[judged], temperature, options.n_bins, options.binning
    )
    sections["calibration"]["binning"] = f"{options.n_bins} {options.binning} bins"
    if options.temperature_fit:
        sections["calibration"]["temperature_fit"] = options.temperature_fit

    len_c = np.array([response_length(p.chosen) for p in scored.pairs])
    len_r = np.array([response_length(p.rejected) for p in scored.pairs])
    sections["length_bias"] = length_bias(r_c[judged], r_r[judged], len_c[judged], len_r[judged])

    if options.probes is not None and len(options.probes) == 0:
        sections["probes"] = {"skipped": options.skip_probes_reason}
        probe_results = {}
    else:
        probes = list(options.probes) if options.probes is not None else default_probes()
        probe_results = run_probes(
            target, scored, probes, batch_size=options.batch_size, progress=options.progress
        )
        sections["probes"] = {
            "applied_to": "the rejected response of every non-tie pair",
            "flip_rate": "among pairs ranked correctly before the edit, the "
            "fraction where the edited rejected response "
            "outscores the chosen one",
            "results": probe_results,
            "summary": probe_summary(probe_results),
        }

    members_delta = scored.members_chosen - scored.members_rejected
    sections["uncertainty"] = uncertainty_section(members_delta[:, judged], temperature)
    sections["uncertainty"]["ensemble"] = target.describe()
    spread = scored.spread if target.k > 1 else None
    distance = None
    stats = options.stats
    if stats is not None and scored.features_chosen is not None:
        distance = stats.pair_distance(scored.features_chosen, scored.features_rejected)
    spread_threshold = options.spread_threshold
    if spread_threshold is None and stats is not None and target.k > 1:
        spread_threshold = stats.spread_threshold
    sections["ood"] = ood_section(delta > 0, distance, spread, stats, spread_threshold, tie=tie)
    if stats is None:
        sections["ood"]["note"] = (
            "no feature statistics: train with rewardkit, or pass "
            "--reference-data FILE (the model's training data)"
        )

    flags = ood_flags(len(scored.pairs), distance, spread, stats, spread_threshold)
    p = 1.0 / (1.0 + np.exp(-delta / temperature))
    for i, pair in enumerate(scored.pairs):
        row = {
            "key": pair_key(pair),
            "id": pair.id,
            "subset": pair.subset,
            "tie": bool(pair.tie),
            "reward_chosen": float(r_c[i]),
            "reward_rejected": float(r_r[i]),
            "p_chosen": float(p[i]),
            "correct": bool(delta[i] > 0) if not pair.tie else None,
            "flagged": bool(flags["any"][i]),
        }
        if spread is not None:
            row["spread"] = float(spread[i])
        if distance is not None:
            row["distance"] = float(distance[i])
        result.rows.append(row)

    if options.plots:
        result.plots = _plots(
            sections, r_c, r_r, len_c, len_r, judged, probe_results, distance, stats
        )
    return result


def _plots(sections, r_c, r_r, len_c, len_r, judged, probe_results, distance, stats) -> dict:
    out = {"reward_distributions": plots.reward_distributions(r_c, r_r)}
    curves = {f"T = {sections['calibration']['temperature']:.3g}": sections["calibration"]["bins"]}
    fit = sections["calibration"].get("temperature_fit")
    if fit:
        curves = {
            f"before (T = {fit['before']['temperature']:.3g})": fit["before"]["bins"],
            f"after (T = {fit['after']['temperature']:.3g})": fit["after"]["bins"],
        }
    out["reliability"] = plots.reliability_diagram(curves)
    out["length"] = plots.length_scatter(
        len_c[judged], len_r[judged], r_c[judged], r_r[judged], sections["length_bias"]
    )
    if probe_results:
        out["probes"] = plots.probe_flip_rates(probe_results)
    unc = sections["uncertainty"]
    coverage = {"margin 1−|2p−1|": unc["margin"]["accuracy_coverage"]}
    if "spread" in unc:
        coverage = {
            "ensemble spread": unc["spread"]["accuracy_coverage"],
            "probability spread": unc["probability_spread"]["accuracy_coverage"],
            **coverage,
        }
    out["coverage"] = plots.accuracy_coverage(coverage)
    if distance is not None and distance.size:
        out["ood"] = plots.distance_histogram(distance, stats.distance_threshold)
    return out
