"""The lab's figure: gold and proxy against d = √KL for every selector (matplotlib, Agg; a
``data:image/png;base64`` URI from :mod:`rewardkit.eval.plots`, so the report is one file)."""

from __future__ import annotations

import numpy as np

from rewardkit.eval.plots import figure_data_uri, new_figure
from rewardkit.overopt.curves import CurveFit

COLORS = ("#2b6cb0", "#c53030", "#2f855a", "#b7791f", "#6b46c1", "#dd6b20", "#718096")
KL_NOTE = "d = √KL, KL = log n − (n−1)/n: an upper bound on the true KL (Beirami et al. 2024)"


def overoptimization_plot(lab: dict, title: str = "Best-of-n: gold vs proxy") -> str:
    """Left: gold gain over n = 1 (solid, with the fitted d(α − βd) dotted) and proxy gain
    (dashed), both in standard deviations. Right: gold reward itself, with its observed peak."""
    plt, fig, (gains, gold) = new_figure(11.0, 4.2, ncols=2)
    distance = np.asarray(lab["distance"])
    fine = np.linspace(0, distance[-1], 200)
    for (name, result), color in zip(lab["selectors"].items(), COLORS):
        gains.plot(distance, result["gold_gain_sd"], color=color, label=f"gold, by {name}")
        gains.plot(distance, result["proxy_gain_sd"], color=color, linestyle="--", alpha=0.7)
        fit = CurveFit(result["fit"]["alpha"], result["fit"]["beta"])
        gains.plot(
            fine, fit.predict(fine) / result["gold_sd"], color=color, linestyle=":", alpha=0.8
        )
        gold.plot(distance, result["gold"], color=color, marker=".", label=name)
        peak = result["observed_peak"]
        gold.scatter([peak["distance"]], [peak["gold"]], color=color, s=60, zorder=3)
    gains.set_xlabel(KL_NOTE, fontsize=7.5)
    gains.set_ylabel("gain over n = 1 (standard deviations)")
    gains.set_title(f"{title}: gold (solid), proxy (dashed), fit (dotted)", fontsize=9)
    gains.legend(fontsize=7.5)
    gold.axhline(lab["gold_best"], color="#a0aec0", linestyle="--", linewidth=1)
    gold.text(0, lab["gold_best"], " gold-best candidate", fontsize=7.5, va="bottom")
    gold.set_xlabel("d = √KL (upper bound)")
    gold.set_ylabel("expected gold reward of the best-of-n pick")
    gold.set_title("Gold reward; dots mark each observed peak", fontsize=9)
    top = gold.secondary_xaxis("top", functions=(lambda d: d, lambda d: d))
    ticks = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n <= len(distance)]
    top.set_xticks([distance[n - 1] for n in ticks], labels=[f"n={n}" for n in ticks], fontsize=7)
    return figure_data_uri(plt, fig)
