"""Paired bootstrap intervals between two uncertainty measures, against hand values and a
brute-force recomputation with the same resamples."""

import numpy as np
import pytest

from rewardkit.eval.selective_bootstrap import FIGURES, paired_bootstrap, selective_figures
from rewardkit.eval.uncertainty import auroc


def test_selective_figures_by_hand():
    """Sorted by uncertainty: right, right, wrong, right → running accuracy 1, 1, 2/3, 3/4;
    AURC (0 + 0 + 1/3 + 1/4)/4 = 7/48; accuracy of the most certain ⌈0.5·4⌉ = 2 pairs 1, of
    ⌈0.8·4⌉ = 4 pairs 3/4; the wrong pair (0.3) is above 2 of the 3 right ones → AUROC 2/3."""
    figures = selective_figures(np.array([0.3, 0.1, 0.4, 0.2]), np.array([0, 1, 1, 1], bool))
    assert figures["aurc"] == pytest.approx(7 / 48)
    assert figures["accuracy_at_50"] == 1.0
    assert figures["accuracy_at_80"] == pytest.approx(0.75)
    assert figures["error_auroc"] == pytest.approx(2 / 3)


def test_the_same_measure_differs_by_exactly_zero():
    rng = np.random.default_rng(0)
    u, correct = rng.random(40), rng.random(40) < 0.6
    out = paired_bootstrap((u, correct), (u, correct), n_boot=200, seed=1)
    for name in FIGURES:
        assert out[name]["difference"] == 0.0
        assert out[name]["ci95"] == [0.0, 0.0]
        assert not out[name]["excludes_zero"] and not out[name]["better"]


def test_a_measure_that_knows_the_errors_beats_one_that_does_not():
    """Same 200 pairs, same errors: ``oracle`` is 1 on the wrong pairs and 0 on the right ones
    (error AUROC 1, AURC minimal), ``noise`` is unrelated. Every figure's interval favours the
    oracle: AUROC and accuracies above 0, AURC below 0."""
    rng = np.random.default_rng(0)
    correct = rng.random(200) < 0.6
    oracle, noise = (~correct).astype(float), rng.random(200)
    out = paired_bootstrap((noise, correct), (oracle, correct), n_boot=300, seed=0)
    assert out["error_auroc"]["value"] == 1.0
    assert out["aurc"]["difference"] < 0 and out["aurc"]["ci95"][1] < 0
    for name in FIGURES:
        assert out[name]["better"] and out[name]["excludes_zero"], name
    reverse = paired_bootstrap((oracle, correct), (noise, correct), n_boot=300, seed=0)
    assert not any(reverse[name]["better"] for name in FIGURES)
    assert all(reverse[name]["excludes_zero"] for name in FIGURES)


def test_the_interval_is_the_percentile_of_same_resample_differences():
    """Brute force: draw the resamples exactly as the function does (``default_rng(seed)
    .integers(0, n, (n_boot, n))``) and take the 2.5th/97.5th percentile of AUROC(B) − AUROC(A)
    on each — both measures on the same rows."""
    rng = np.random.default_rng(5)
    n, n_boot = 30, 100
    correct_a, correct_b = rng.random(n) < 0.5, rng.random(n) < 0.7
    a, b = rng.random(n), rng.random(n) + (~correct_b) * 0.5
    out = paired_bootstrap((a, correct_a), (b, correct_b), n_boot=n_boot, seed=7)
    draws = np.random.default_rng(7).integers(0, n, size=(n_boot, n))
    diffs = []
    for rows in draws:
        ua, ub = auroc(a[rows], ~correct_a[rows]), auroc(b[rows], ~correct_b[rows])
        if ua is not None and ub is not None:
            diffs.append(ub - ua)
    assert out["error_auroc"]["ci95"] == pytest.approx(list(np.percentile(diffs, [2.5, 97.5])))
    assert out["error_auroc"]["resamples"] == len(diffs)
    assert out["error_auroc"]["difference"] == pytest.approx(
        auroc(b, ~correct_b) - auroc(a, ~correct_a)
    )


def test_resamples_without_a_wrong_pair_are_left_out_and_counted():
    """Two pairs, one wrong: a resample of the same pair twice (probability ½) has no AUROC."""
    u, correct = np.array([0.2, 0.8]), np.array([True, False])
    out = paired_bootstrap((u, correct), (1 - u, correct), n_boot=400, seed=0)
    block = out["error_auroc"]
    assert 0 < block["resamples_left_out"] < 400
    assert block["resamples"] + block["resamples_left_out"] == 400
    assert out["accuracy_at_50"]["resamples_left_out"] == 0


def test_measures_must_cover_the_same_pairs():
    with pytest.raises(ValueError, match="same pairs"):
        paired_bootstrap((np.zeros(3), np.ones(3, bool)), (np.zeros(4), np.ones(4, bool)))
