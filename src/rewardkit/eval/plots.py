"""The report's plots, drawn with matplotlib (Agg) and returned as ``data:image/png;base64``
URIs, so ``report.html`` is one self-contained file that needs no network to view."""

from __future__ import annotations

import base64
import io

import numpy as np

CHOSEN, REJECTED, ACCENT, GREY = "#2b6cb0", "#dd6b20", "#c53030", "#718096"


def new_figure(width: float = 6.4, height: float = 3.6, **subplots):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100, **subplots)
    return plt, fig, ax


def figure_data_uri(plt, fig) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def reward_distributions(r_chosen: np.ndarray, r_rejected: np.ndarray) -> str:
    plt, fig, ax = new_figure()
    values = np.concatenate([r_chosen, r_rejected]) if len(r_chosen) else np.zeros(1)
    bins = np.linspace(values.min(), values.max() + 1e-9, 31)
    ax.hist(r_chosen, bins=bins, alpha=0.6, color=CHOSEN, label="chosen")
    ax.hist(r_rejected, bins=bins, alpha=0.6, color=REJECTED, label="rejected")
    ax.set_xlabel("raw reward")
    ax.set_ylabel("responses")
    ax.set_title("Reward distributions")
    ax.legend()
    return figure_data_uri(plt, fig)


def reliability_diagram(curves: dict[str, list[dict]]) -> str:
    """``curves``: label → reliability bins (from :func:`calibration.reliability_bins`)."""
    plt, fig, ax = new_figure(5.2, 4.2)
    ax.plot([0.5, 1.0], [0.5, 1.0], linestyle="--", color=GREY, label="perfect calibration")
    for (label, bins), color in zip(curves.items(), (CHOSEN, ACCENT, REJECTED)):
        if bins:
            ax.plot(
                [b["confidence"] for b in bins],
                [b["accuracy"] for b in bins],
                marker="o",
                color=color,
                label=label,
            )
    ax.set_xlabel("confidence max(p, 1−p)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0.48, 1.01)
    ax.set_ylim(0.0, 1.02)
    ax.set_title("Reliability diagram (equal-mass bins)")
    ax.legend(loc="lower right", fontsize=8)
    return figure_data_uri(plt, fig)


def length_scatter(
    len_chosen: np.ndarray,
    len_rejected: np.ndarray,
    r_chosen: np.ndarray,
    r_rejected: np.ndarray,
    rates: dict,
) -> str:
    plt, fig, (ax, bars) = new_figure(9.6, 3.6, ncols=2, gridspec_kw={"width_ratios": [3, 2]})
    ax.scatter(len_chosen, r_chosen, s=8, alpha=0.5, color=CHOSEN, label="chosen")
    ax.scatter(len_rejected, r_rejected, s=8, alpha=0.5, color=REJECTED, label="rejected")
    longest = max(np.max(len_chosen, initial=0), np.max(len_rejected, initial=0))
    if longest > 200:  # long-tailed lengths (hh-rlhf): a log axis, linear near zero
        ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("response length (words)")
    ax.set_ylabel("raw reward")
    rho = rates.get("spearman_reward_length")
    ax.set_title("Reward vs length" + (f" (Spearman ρ = {rho:.2f})" if rho is not None else ""))
    ax.legend(fontsize=8)
    names = [
        "data: chosen\nis longer",
        "model: prefers\nlonger",
        "acc. chosen\nlonger",
        "acc. chosen\nshorter",
    ]
    keys = [
        "data_prefers_longer",
        "rm_prefers_longer",
        "accuracy_chosen_longer",
        "accuracy_chosen_shorter",
    ]
    values = [rates.get(k) or 0.0 for k in keys]
    bars.bar(range(4), values, color=[GREY, ACCENT, CHOSEN, REJECTED])
    bars.set_xticks(range(4), names, fontsize=7)
    bars.set_ylim(0, 1)
    bars.axhline(0.5, color=GREY, linewidth=0.8, linestyle=":")
    bars.set_title("Length preference")
    return figure_data_uri(plt, fig)


def probe_flip_rates(results: dict) -> str:
    names = list(results)
    plt, fig, ax = new_figure(6.4, 0.35 * max(len(names), 3) + 1.2)
    rates = [results[n]["flip_rate"] or 0.0 for n in names]
    colors = [CHOSEN if results[n]["kind"] == "meaning-preserving" else ACCENT for n in names]
    ax.barh(range(len(names)), rates, color=colors)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("flip rate (correct pairs the edit flips)")
    ax.set_xlim(0, max(max(rates, default=0) * 1.15, 0.05))
    ax.set_title("Probes: blue = meaning-preserving, red = cheap trick")
    return figure_data_uri(plt, fig)


def accuracy_coverage(curves: dict[str, dict]) -> str:
    plt, fig, ax = new_figure(5.6, 3.8)
    for (label, curve), color in zip(curves.items(), (ACCENT, REJECTED, CHOSEN, GREY)):
        if curve and curve.get("coverage"):
            ax.plot(curve["coverage"], curve["accuracy"], color=color, label=label)
    ax.set_xlabel("coverage (most certain fraction of pairs)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_title("Accuracy–coverage")
    ax.legend(fontsize=8)
    return figure_data_uri(plt, fig)


def distance_histogram(
    distance: np.ndarray, threshold: float, reference: np.ndarray | None = None
) -> str:
    plt, fig, ax = new_figure()
    values = distance if reference is None else np.concatenate([distance, reference])
    bins = np.linspace(values.min(), max(values.max(), threshold) + 1e-9, 40)
    if reference is not None:
        ax.hist(reference, bins=bins, alpha=0.5, color=GREY, label="reference (training)")
    ax.hist(distance, bins=bins, alpha=0.6, color=CHOSEN, label="this data")
    ax.axvline(threshold, color=ACCENT, linestyle="--", label="95th pct. of training")
    ax.set_xlabel("Mahalanobis distance of the pair (max of its two responses)")
    ax.set_ylabel("pairs")
    ax.set_title("Feature-space distance from the training data")
    ax.legend(fontsize=8)
    return figure_data_uri(plt, fig)


def margin_histogram(margins: np.ndarray, marked: dict[str, float], title: str) -> str:
    """Histogram of per-pair margins with vertical lines at ``marked`` (label → x)."""
    plt, fig, ax = new_figure()
    values = np.asarray(margins, dtype=np.float64) if len(margins) else np.zeros(1)
    ax.hist(values, bins=40, color=CHOSEN)
    for (label, x), color in zip(marked.items(), (ACCENT, GREY, REJECTED)):
        ax.axvline(x, color=color, linestyle="--", label=label)
    ax.set_xlabel("mean out-of-fold margin r(chosen) − r(rejected)")
    ax.set_ylabel("pairs")
    ax.set_title(title)
    if marked:
        ax.legend(fontsize=8)
    return figure_data_uri(plt, fig)
