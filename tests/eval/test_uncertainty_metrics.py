"""AUROC, accuracy–coverage and the ensemble uncertainty block against hand values."""

import numpy as np
import pytest

from rewardkit.eval.uncertainty import (
    PAIR_UNCERTAINTY,
    accuracy_coverage,
    auroc,
    pair_uncertainties,
    uncertainty_section,
)


def test_auroc_by_hand():
    """Positives score 0.35 and 0.8, negatives 0.1 and 0.4: of the 4 (pos, neg) pairs the
    positive is higher in 3 → 0.75."""
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool)) == 0.75


def test_auroc_counts_ties_as_half():
    """(pos 1 vs neg 1) = ½, (pos 2 vs neg 1) = 1 → 0.75."""
    assert auroc(np.array([1.0, 1.0, 2.0]), np.array([1, 0, 1], bool)) == 0.75
    assert auroc(np.array([1.0, 2.0]), np.array([1, 1], bool)) is None


def test_accuracy_coverage_by_hand():
    """Sorted by uncertainty the pairs are right, right, wrong, right: running accuracy
    1, 1, 2/3, 3/4; AURC = mean risk = (0 + 0 + 1/3 + 1/4)/4 = 7/48."""
    curve = accuracy_coverage(np.array([0.3, 0.1, 0.4, 0.2]), np.array([0, 1, 1, 1], bool))
    # order by uncertainty: 0.1 (right), 0.2 (right), 0.3 (wrong), 0.4 (right)
    assert curve["aurc"] == pytest.approx(7 / 48)
    assert curve["accuracy_at"]["0.5"] == 1.0
    assert curve["accuracy_at"]["0.8"] == pytest.approx(0.75)  # ⌈0.8·4⌉ = 4 pairs
    assert curve["accuracy"][-1] == pytest.approx(0.75)


def test_uncertainty_section_for_an_ensemble():
    """Three members, four pairs. Mean Δ: 1, 1, −1/3 (wrong), 2/3. Spread (ddof 0): 0, 0,
    √(42/27) ≈ 1.25, √(24/27) ≈ 0.94 — largest on the one wrong pair, so its error AUROC is 1.
    Members' accuracies 4/4, 2/4, 2/4; all three agree in sign on pairs 0 and 1 only."""
    delta = np.array([[1.0, 1.0, 1.0, 2.0], [1.0, 1.0, -2.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    block = uncertainty_section(delta)
    spread = delta.std(axis=0)
    assert block["spread"]["mean"] == pytest.approx(spread.mean())
    assert block["error_rate"] == pytest.approx(0.25)
    assert block["spread"]["error_auroc"] == 1.0
    assert block["member_accuracy"] == pytest.approx([1.0, 0.5, 0.5])
    assert block["members_agree_fraction"] == pytest.approx(0.5)
    p_spread = (1 / (1 + np.exp(-delta))).std(axis=0)
    assert block["probability_spread"]["mean"] == pytest.approx(p_spread.mean())
    assert block["probability_spread"]["error_auroc"] == 1.0
    single = uncertainty_section(delta[:1])
    assert "spread" not in single and single["members"] == 1


def test_pair_uncertainties_by_hand():
    """Two members, two pairs: Δ = [[2, 0], [0, 0]] → mean Δ [1, 0]; margin 1 − |2σ(Δ) − 1|
    = [1 − tanh(½), 1]; spread (ddof 0) [1, 0]; MC passes [[1, −1], [3, −1]] → std [1, 0]."""
    delta = np.array([[2.0, 0.0], [0.0, 0.0]])
    values = pair_uncertainties(delta, mc_deltas=np.array([[1.0, -1.0], [3.0, -1.0]]))
    assert values["margin"] == pytest.approx([1 - np.tanh(0.5), 1.0])
    assert values["spread"] == pytest.approx([1.0, 0.0])
    p = 1 / (1 + np.exp(-delta))
    assert values["probability_spread"] == pytest.approx(p.std(axis=0))
    assert values["mc_dropout"] == pytest.approx([1.0, 0.0])
    single = pair_uncertainties(delta[:1])
    assert set(single) == {"margin"}


def test_the_section_names_its_default_and_judges_mc_dropout():
    """One model, four pairs, Δ = [2, 1, −1, 0.5] (pair 2 wrong). MC passes spread most on
    pair 2 → error AUROC 1; the margin of pair 2 (|Δ| = 1) ties pair 1 and is below pair 3's
    (|Δ| = 0.5): AUROC (½ + 1 + 0)/3 = ½."""
    delta = np.array([[2.0, 1.0, -1.0, 0.5]])
    mc = np.array([[2.0, 1.0, 1.0, 0.5], [2.0, 1.0, -3.0, 0.6]])
    block = uncertainty_section(delta, mc_dropout=mc)
    assert block["default"] == PAIR_UNCERTAINTY == "margin"
    assert block["mc_dropout"]["error_auroc"] == 1.0
    assert block["margin"]["error_auroc"] == pytest.approx(0.5)
    assert "mc_dropout" not in uncertainty_section(delta)
