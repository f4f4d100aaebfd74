"""How many labels are flipped: shares of negative margins, and two estimates of the flipped share.

Every pair has an out-of-fold ``p_i`` = P(label right) = σ(mean margin) from models that never
saw it (:mod:`rewardkit.audit.margins`). A flipped label turns the pair around, so it turns the
margin's sign around too.

``share_negative``
    the share of pairs whose mean out-of-fold margin is negative: Wang et al. (2024, "Secrets
    of RLHF part II", arXiv 2401.06080, §2.1) report about 25% for the full hh-rlhf training
    set under an ensemble of ten reward models (trained in-sample, not out of fold). It counts
    every pair the models get wrong as well as every wrong label.
``share_confident_negative``
    the share the audit calls ``likely-flipped``.
``estimated_flip_share`` — anchor pairs, what it estimates: labels flipped regardless of content
    Mixture-proportion estimation (Scott 2015, "A rate of convergence for mixture proportion
    estimation, with application to learning from noisy labels", AISTATS; Blanchard, Flaska,
    Handy, Pozzi & Scott 2016, JMLR 17; the anchor points of Liu & Tao 2016, "Classification
    with noisy labels by importance reweighting", TPAMI 38). If a share ε of the labels is
    flipped whatever the pair says (swapped columns, a careless click), the observed margins
    are a mixture ``(1 − ε)·G + ε·G⁻`` of the clean margins' distribution and its mirror
    image. Where the clean labels are (nearly) never against the models — the *anchor* pairs,
    those the models are most sure of — the share of negative margins is ε itself; anywhere
    else it is ε plus the pairs the annotators or the models get wrong. The estimate is the
    share of negative margins among the :data:`ANCHOR_SHARE` of pairs with the largest
    ``|p − ½|`` (at least :data:`MIN_ANCHORS` of them). It is biased upward by whatever the
    models still get wrong on those pairs, so it needs strong out-of-fold models.
    Mistakes that depend on the pair (an annotator who prefers flattery, a close call) are not
    flips in this sense: no audit of the labels alone can tell a consistent bias from taste.
``confident_learning`` — what it estimates: labels that disagree with the true preference
    (on the demo world, whose truth is a deterministic gold reward: the planted flips plus the
    annotators' own mistakes). Confident learning (Northcutt, Jiang & Chuang 2021, "Confident
    Learning: Estimating Uncertainty in Dataset Labels", JAIR 70) for the symmetric binary
    case: the per-class threshold is the average self-confidence ``t = mean(p_i)`` (each pair
    and its mirror image give both classes the same threshold); a label is confidently wrong
    when ``1 − p_i ≥ t`` and confidently right when ``p_i ≥ t``; pairs that are neither are
    left out, and the confident joint is calibrated to the label counts (their eq. 3), so the
    estimate is ``#wrong / (#wrong + #right)``. Wrong pairs include those the models get
    wrong, so weak models push it up.

Both come with a bootstrap interval over pairs (95%), which covers the resampling of pairs, not
an estimator's bias. Both were checked on the demo world with planted flips
(``bench/audit_planted.py``): :data:`VALIDATED_MODES` names the ``--mode`` in which their
intervals covered their truth on three worlds, and :func:`validation` tells an audit whether its
mode is one.
"""

from __future__ import annotations

import numpy as np

BOOTSTRAP = 1000
MIN_GROUP = 20  # pairs a subset or annotator needs before it gets estimates of its own
ANCHOR_SHARE = 0.2  # the most confident fifth of the pairs are the anchors
MIN_ANCHORS = 30  # anchors the estimate needs: fewer, and its interval says nothing
ANCHOR_ESTIMATOR = (
    "anchor pairs (Scott 2015; Liu & Tao 2016): the share of negative margins among the "
    f"{ANCHOR_SHARE:.0%} of pairs the out-of-fold models are surest of; estimates the share of "
    "labels flipped regardless of content"
)
# The --mode in which both estimates were checked against the demo world's truth and their
# intervals covered it on three worlds (seeds 0, 1 and 2, the last run after the estimators
# were fixed; BENCHMARKS.md, "Planted flips on the demo world"): the anchor estimate the
# planted share, confident learning the share of labels that disagree with gold. In any other
# mode both are unvalidated (there they overestimated).
VALIDATED_MODES: tuple[str, ...] = ("finetune",)


def confident_flip_share(p_right: np.ndarray) -> float:
    """Confident learning's share of wrong labels, calibrated (module docstring)."""
    if len(p_right) == 0:
        return float("nan")
    threshold = float(np.mean(p_right))
    wrong = int(np.sum(1.0 - p_right >= threshold))
    right = int(np.sum(p_right >= threshold))
    return wrong / (wrong + right) if wrong + right else float("nan")


def anchor_count(n: int) -> int:
    """How many of ``n`` pairs are anchors: :data:`ANCHOR_SHARE` of them, rounded down."""
    return int(ANCHOR_SHARE * n)


def anchor_flip_share(p_right: np.ndarray) -> float:
    """The share of negative margins among the anchor pairs (module docstring). Raises
    ``ValueError`` when there are fewer than :data:`MIN_ANCHORS` anchors."""
    p_right = np.asarray(p_right, dtype=np.float64)
    k = anchor_count(len(p_right))
    if k < MIN_ANCHORS:
        raise ValueError(
            f"{len(p_right)} pairs give {k} anchor pairs; the anchor estimate needs at least "
            f"{MIN_ANCHORS} ({int(np.ceil(MIN_ANCHORS / ANCHOR_SHARE))} pairs)"
        )
    anchors = np.argsort(-np.abs(p_right - 0.5), kind="stable")[:k]
    return float(np.mean(p_right[anchors] < 0.5))


def bootstrap_interval(
    p_right: np.ndarray, statistic, *, draws: int = BOOTSTRAP, seed: int = 0
) -> list[float]:
    """The 2.5% and 97.5% percentiles of ``statistic`` over resamples of the pairs."""
    if len(p_right) == 0:
        return [float("nan"), float("nan")]
    rng = np.random.default_rng(seed)
    values = [statistic(p_right[rng.integers(0, len(p_right), len(p_right))]) for _ in range(draws)]
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def _share_negative(p_right: np.ndarray) -> float:
    return float(np.mean(p_right < 0.5)) if len(p_right) else float("nan")


def _anchor_estimate(p_right: np.ndarray, seed: int) -> dict:
    """The anchor estimate with its interval, or ``None`` and why not."""
    try:
        value = anchor_flip_share(p_right)
    except ValueError as err:
        return {
            "estimated_flip_share": None,
            "estimated_flip_share_ci95": None,
            "why_not": str(err),
        }
    return {
        "estimated_flip_share": value,
        "estimated_flip_share_ci95": bootstrap_interval(p_right, anchor_flip_share, seed=seed),
        "anchor_pairs": anchor_count(len(p_right)),
    }


def flip_estimates(p_right: np.ndarray, confident: np.ndarray, *, seed: int = 0) -> dict:
    """The shares of the module docstring, each with a bootstrap interval (95%)."""
    p_right = np.asarray(p_right, dtype=np.float64)
    confident = np.asarray(confident, dtype=np.float64)
    return {
        "n": int(len(p_right)),
        "share_negative": _share_negative(p_right),
        "share_negative_ci95": bootstrap_interval(p_right, _share_negative, seed=seed),
        "share_confident_negative": float(confident.mean()) if len(confident) else float("nan"),
        "share_confident_negative_ci95": bootstrap_interval(
            confident, lambda c: float(np.mean(c)), seed=seed
        ),
        **_anchor_estimate(p_right, seed),
        "estimator": ANCHOR_ESTIMATOR,
        "confident_learning": confident_flip_share(p_right),
        "confident_learning_ci95": bootstrap_interval(p_right, confident_flip_share, seed=seed),
    }


def validation(mode: str) -> dict:
    """Whether the estimates of an audit in ``mode`` were checked against the demo world's
    truth (:data:`VALIDATED_MODES`), and a sentence saying so."""
    if mode in VALIDATED_MODES:
        return {
            "validated": True,
            "note": f"validated in --mode {mode}: on three demo worlds the anchor estimate's "
            "interval covered the share of labels flipped on purpose, confident learning's the "
            "share that disagree with the world's gold reward (BENCHMARKS.md)",
        }
    where = ", ".join(f"--mode {m}" for m in VALIDATED_MODES) or "no mode"
    return {
        "validated": False,
        "note": f"not validated in --mode {mode}: on the demo world both estimates came out "
        "above the truth they estimate, and their intervals missed it on at least one of two "
        f"worlds (BENCHMARKS.md); validated in {where}",
    }


def group_estimates(
    p_right: np.ndarray, confident: np.ndarray, names: list[str | None], *, seed: int = 0
) -> dict[str, dict]:
    """:func:`flip_estimates` per named group (subset or annotator) with at least
    :data:`MIN_GROUP` pairs; ``{}`` when the data names none."""
    names_array = np.array([name if name is not None else "" for name in names], dtype=object)
    out = {}
    for name in sorted(set(names_array) - {""}):
        rows = names_array == name
        if rows.sum() >= MIN_GROUP:
            out[name] = flip_estimates(p_right[rows], confident[rows], seed=seed)
    return out
