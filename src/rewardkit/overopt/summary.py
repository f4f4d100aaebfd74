"""The lab's findings in plain words, built from the computed numbers only (never assumed):
whether the proxy overoptimized, whether a mitigation reached a higher gold peak, and what the
members of an ensemble share (Eisenstein et al. 2023, "Helping or Herding? Reward Model
Ensembles Mitigate but do not Eliminate Reward Hacking")."""

from __future__ import annotations

from rewardkit.formatting import percent

TREND_WORDS = {
    "falls": "rises and then falls",
    "flattens": "rises and then flattens",
    "rises": "keeps rising",
}


def overoptimization_sentence(name: str, result: dict, n_max: int) -> str:
    """Did optimizing ``name`` overoptimize? From its gold trend and observed peak."""
    trend = result["trend"]["verdict"]
    peak = result["observed_peak"]
    if trend == "rises":
        return (
            f"Against the {name}, the gold reward keeps rising up to best-of-{n_max} while "
            f"the proxy rises too: this proxy does not overoptimize in this range."
        )
    return (
        f"Against the {name}, the gold reward {TREND_WORDS[trend]} (highest at "
        f"best-of-{peak['n']}, gold {peak['gold']:.3f}; {result['gold_at_largest_n']:.3f} "
        f"at best-of-{n_max}) while the proxy keeps rising: optimizing this proxy harder "
        "stops helping."
    )


def mitigation_sentence(baseline: str, mitigation: str, results: dict) -> str:
    """Whether ``mitigation`` reached a higher gold peak than ``baseline``, with both peaks and,
    when measured, the paired bootstrap interval of the difference."""
    ours = results[mitigation]["observed_peak"]["gold"]
    theirs = results[baseline]["observed_peak"]["gold"]
    verdict = "reached a higher" if ours > theirs else "did not reach a higher"
    sentence = (
        f"The {mitigation} curve {verdict} gold peak ({ours:.3f}) than the {baseline} curve "
        f"({theirs:.3f})"
    )
    paired = results[mitigation].get("peak_vs_first")
    low, high = paired["interval"] if paired else (None, None)
    if low is None:
        return sentence + "."
    noise = "within noise" if low <= 0 <= high else "beyond noise"
    return sentence + f"; difference 95% CI {low:+.3f} to {high:+.3f}: {noise}."


def shared_error_sentence(baseline: str, ensemble: str, results: dict, trick: str) -> str | None:
    """How much of ``trick`` the ensemble's selector still picks, against the single proxy."""
    single = results[baseline]["tricks"].get(trick)
    members = results[ensemble]["tricks"].get(trick)
    if not single or not members:
        return None
    still = members["share_of_winners"] > members["share_of_candidates"]
    verdict = (
        "its members, which share one pretrained backbone, share this error (as Eisenstein et "
        "al. 2023 found)"
        if still
        else "its members do not share this error"
    )
    return (
        f"The trick '{trick}' is {percent(single['share_of_candidates'])} of the candidates; "
        f"{percent(single['share_of_winners'])} of the best-of-{single['n']} winners by the "
        f"{baseline} and {percent(members['share_of_winners'])} by the {ensemble}: {verdict}."
    )
