"""The lab's measurements, from numbers alone: per selector, the best-of-n curves of gold and
proxy, the fitted overoptimization curve and its peaks, intervals, and the tricks selected.

A *selector* is a way of picking the best of n candidates: a proxy reward model, an ensemble's
mean, worst case or uncertainty-weighted reward (:mod:`rewardkit.model.aggregate`), a merged
(WARM) model, a centered proxy. Each is given as one score per candidate; the gold reward (the
demo world's, or a stronger reward model's) is given the same way. Curves are averages over
prompts of the exact best-of-n expectation (:mod:`rewardkit.overopt.estimator`) on the
d = √KL axis, fitted as in Gao et al. 2022 (:mod:`rewardkit.overopt.curves`).

Curves are also shown as *gains over n = 1 in standard deviations*: each score minus its value
at n = 1, divided by the score's standard deviation over all candidates (pooled within
prompts), so gold and any proxy share one axis. The proxy–gold gap at the largest n is the
difference of these gains.
"""

from __future__ import annotations

import numpy as np

from rewardkit.overopt.curves import (
    best_of_n_distance,
    bootstrap_fits,
    fit_gold_curve,
    observed_peak,
    percentile_interval,
)
from rewardkit.overopt.estimator import prompt_curves
from rewardkit.overopt.tricks import trick_probes, trick_shares

DEFAULT_BOOTSTRAP = 1000


def within_prompt_std(values: list[np.ndarray]) -> float:
    """Std of the scores around their own prompt's mean, pooled over prompts (1.0 if 0)."""
    centered = np.concatenate([v - v.mean() for v in values])
    std = float(np.sqrt(np.mean(centered**2)))
    return std if std > 0 else 1.0


def gold_trend(
    gold_by_prompt: np.ndarray, proxy_gain: np.ndarray, gold_gain: np.ndarray, *, samples: int
) -> dict:
    """Whether the gold curve *falls* (peak before the largest n, and the drop from it to the
    largest n has a 95% bootstrap interval above 0), *flattens* (over the second half of the n
    range gold gains less than a quarter of what the proxy gains, in standard deviations), or
    *rises*."""
    mean_gold = gold_by_prompt.mean(axis=0)
    n_max = mean_gold.size
    peak = observed_peak(mean_gold)
    rng = np.random.default_rng(1)
    picks = rng.integers(gold_by_prompt.shape[0], size=(samples, gold_by_prompt.shape[0]))
    drops = gold_by_prompt[picks][:, :, peak - 1].mean(1) - gold_by_prompt[picks][:, :, -1].mean(1)
    drop_interval = percentile_interval(drops)
    half = n_max // 2
    late_gold = float(gold_gain[-1] - gold_gain[half - 1]) if half >= 1 else 0.0
    late_proxy = float(proxy_gain[-1] - proxy_gain[half - 1]) if half >= 1 else 0.0
    if peak < n_max and drop_interval[0] is not None and drop_interval[0] > 0:
        verdict = "falls"
    elif late_proxy > 0 and late_gold < 0.25 * late_proxy:
        verdict = "flattens"
    else:
        verdict = "rises"
    return {
        "verdict": verdict,
        "drop_from_peak": float(mean_gold[peak - 1] - mean_gold[-1]),
        "drop_from_peak_interval": drop_interval,
        "late_gold_gain_sd": late_gold,
        "late_proxy_gain_sd": late_proxy,
    }


def paired_peak_difference(
    ours: np.ndarray, theirs: np.ndarray, *, samples: int, seed: int = 2
) -> dict:
    """Gold peak of ``ours`` minus that of ``theirs`` (per-prompt gold curves ``(P, n)``), with
    a 95% interval from resampling the same prompts for both."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(ours.shape[0], size=(samples, ours.shape[0]))
    differences = ours[picks].mean(1).max(1) - theirs[picks].mean(1).max(1)
    return {
        "difference": float(ours.mean(0).max() - theirs.mean(0).max()),
        "interval": percentile_interval(differences),
    }


def analyse_selector(
    scores: list[np.ndarray],
    gold: list[np.ndarray],
    responses: list[list[str]],
    *,
    n_max: int,
    bootstrap: int,
    world: bool,
) -> dict:
    """Every measurement of one selector (see the module docstring); JSON-ready."""
    distance = best_of_n_distance(np.arange(1, n_max + 1))
    gold_by_prompt = prompt_curves(scores, gold, n_max)
    proxy_by_prompt = prompt_curves(scores, scores, n_max)
    gold_curve, proxy_curve = gold_by_prompt.mean(0), proxy_by_prompt.mean(0)
    gold_sd = within_prompt_std(gold)
    gold_gain = (gold_curve - gold_curve[0]) / gold_sd
    proxy_gain = (proxy_curve - proxy_curve[0]) / within_prompt_std(scores)
    fit = fit_gold_curve(distance, gold_curve)
    peak = observed_peak(gold_curve)
    tricks = {}
    for probe in trick_probes(world):
        share = trick_shares(responses, scores, n_max, probe)
        if share is not None:
            tricks[probe.name] = share
    return {
        "gold": gold_curve.tolist(),
        "proxy": proxy_curve.tolist(),
        "gold_sd": gold_sd,
        "gold_gain_sd": gold_gain.tolist(),
        "proxy_gain_sd": proxy_gain.tolist(),
        "fit": {
            "alpha": fit.alpha,
            "beta": fit.beta,
            "predicted_peak_distance": fit.peak_distance,
            "predicted_peak_n": fit.peak_n,
        },
        "observed_peak": {
            "n": peak,
            "distance": float(distance[peak - 1]),
            "gold": float(gold_curve[peak - 1]),
        },
        "gold_at_largest_n": float(gold_curve[-1]),
        "proxy_gold_gap_sd": float(proxy_gain[-1] - gold_gain[-1]),
        "bootstrap": bootstrap_fits(distance, gold_by_prompt, samples=bootstrap),
        "trend": gold_trend(gold_by_prompt, proxy_gain, gold_gain, samples=bootstrap),
        "tricks": tricks,
    }


def analyse(
    selectors: dict[str, list[np.ndarray]],
    gold: list[np.ndarray],
    responses: list[list[str]],
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    world: bool = False,
) -> dict:
    """The lab on ``selectors`` (name → per-prompt candidate scores), against ``gold``. Every
    prompt contributes n = 1 … the smallest candidate count over prompts."""
    n_max = min(len(g) for g in gold)
    distance = best_of_n_distance(np.arange(1, n_max + 1))
    results = {
        name: analyse_selector(
            scores, gold, responses, n_max=n_max, bootstrap=bootstrap, world=world
        )
        for name, scores in selectors.items()
    }
    curves = {name: prompt_curves(scores, gold, n_max) for name, scores in selectors.items()}
    first = next(iter(selectors))
    for name in list(selectors)[1:]:
        results[name]["peak_vs_first"] = paired_peak_difference(
            curves[name], curves[first], samples=bootstrap
        )
    return {
        "prompts": len(gold),
        "candidates_per_prompt": n_max,
        "n": list(range(1, n_max + 1)),
        "kl_bound": (distance**2).tolist(),
        "distance": distance.tolist(),
        "gold_best": float(np.mean([g.max() for g in gold])),
        "gold_mean": float(np.mean([g.mean() for g in gold])),
        "selectors": results,
    }


def exploited_example(
    prompts: list, responses: list[list[str]], scores: list[np.ndarray], gold: list[np.ndarray]
) -> dict:
    """The prompt where the selector's favourite (best-of-all) loses the most gold against the
    gold-best candidate, with both responses: what the proxy exploited, in text."""
    regrets = [float(g.max() - g[int(np.argmax(s))]) for s, g in zip(scores, gold)]
    k = int(np.argmax(regrets))
    picked, best = int(np.argmax(scores[k])), int(np.argmax(gold[k]))
    return {
        "prompt": prompts[k],
        "proxy_pick": {
            "response": responses[k][picked],
            "gold": float(gold[k][picked]),
            "proxy": float(scores[k][picked]),
        },
        "gold_best": {
            "response": responses[k][best],
            "gold": float(gold[k][best]),
            "proxy": float(scores[k][best]),
        },
        "gold_lost": regrets[k],
        "prompts_where_pick_is_not_gold_best": float(np.mean([r > 0 for r in regrets])),
    }
