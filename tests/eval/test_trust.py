"""Trust signals by hand: per-text distance, percentile and flag, the pair's uncertainty, spread
and flag, and what a model without statistics (or with an older file) gets."""

from types import SimpleNamespace

import numpy as np
import pytest

from rewardkit.bradley_terry import Calibration
from rewardkit.eval.ood import FeatureStatistics
from rewardkit.eval.trust import NO_REFERENCE, NO_STATISTICS, TextTrust, Trust
from rewardkit.model.scores import Scores


def stub_scorer(k: int = 1, temperature: float = 2.0, exponent: float = 1.0):
    """What Trust reads of a scorer: no folder, so only the statistics it is given count."""
    return SimpleNamespace(
        has_linear_head=True,
        k=k,
        kind="heads" if k > 1 else "single",
        calibration=Calibration(temperature, exponent),
        primary_dir=None,
        manifest={},
    )


def stats_1d(**kwargs) -> FeatureStatistics:
    """μ = 0, Σ = 4 (a distance is |f| / 2); reference distances 0.5, 1, 1.5, 2; pair
    threshold 1.2, spread threshold 0.3, quantile 0.75."""
    return FeatureStatistics(
        np.zeros(1),
        np.array([[4.0]]),
        0.0,
        1.2,
        0.3,
        quantile=0.75,
        text_distances=np.array([0.5, 1.0, 1.5, 2.0]),
        **kwargs,
    )


def test_text_signals_by_hand():
    """Features 1, −3, 5 → distances 0.5, 1.5, 2.5 → percentiles 25, 75, 100 → flagged only the
    last (above 75%)."""
    trust = Trust(stub_scorer(), stats_1d())
    scores = Scores(np.zeros(3), np.zeros((1, 3)), np.array([[1.0], [-3.0], [5.0]]))
    texts = trust.texts(scores)
    assert texts.distance.tolist() == [0.5, 1.5, 2.5]
    assert texts.percentile.tolist() == [25.0, 75.0, 100.0]
    assert texts.flagged.tolist() == [False, False, True]
    assert texts.spread is None  # a single model
    assert texts.numbers() == {
        "ood_distance": [0.5, 1.5, 2.5],
        "ood_percentile": [25.0, 75.0, 100.0],
        "ood_flag": [0.0, 0.0, 1.0],
    }
    assert texts.row(2) == {"ood_distance": 2.5, "ood_percentile": 100.0, "ood_flag": True}
    assert texts.ood_block()["flagged"] == [False, False, True]


def test_a_pair_is_judged_with_the_stored_exponent():
    """T = 2, γ = 2, Δ = 1 − 0 = 1: z = (1/2)² = 0.25, uncertainty 1 − |2σ(0.25) − 1|; the
    same pair at γ = 1 (z = 0.5) is more certain."""
    scores = Scores(np.array([1.0, 0.0]), np.array([[1.0, 0.0]]))
    bent = Trust(stub_scorer(exponent=2.0), None).pair(scores, TextTrust())
    p = 1 / (1 + np.exp(-0.25))
    assert bent["uncertainty"] == pytest.approx(1 - abs(2 * p - 1))
    plain = Trust(stub_scorer(), None).pair(scores, TextTrust())
    assert plain["uncertainty"] < bent["uncertainty"]


def test_pair_signals_of_an_ensemble_by_hand():
    """Three members; text a: rewards (1, 2, 3), text b: (1, 1, 1) → Δ_k = (0, 1, 2), mean
    Δ = 1 (the rewards' difference), T = 2: p = σ(0.5), uncertainty = 1 − |2p − 1|; spread =
    std(0, 1, 2) = √(2/3) > 0.3 → flagged by the spread although the distance (max of 0.5 and
    1.0 = 1.0) is under 1.2. Probability spread = std of σ(Δ_k / 2)."""
    trust = Trust(stub_scorer(k=3), stats_1d())
    members = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    scores = Scores(members.mean(axis=0), members, np.array([[1.0], [2.0]]))
    texts = trust.texts(scores)
    assert texts.spread.tolist() == pytest.approx([np.sqrt(2 / 3), 0.0])
    pair = trust.pair(scores, texts)
    p = 1 / (1 + np.exp(-0.5))
    assert pair["uncertainty"] == pytest.approx(1 - abs(2 * p - 1))
    assert pair["uncertainty_kind"] == "margin"
    assert pair["spread"] == pytest.approx(np.sqrt(2 / 3))
    sigmoid = 1 / (1 + np.exp(-np.array([0.0, 0.5, 1.0])))
    assert pair["probability_spread"] == pytest.approx(sigmoid.std())
    assert pair["distance"] == 1.0 and pair["flagged"] is True
    calm = Scores(np.array([1.0, 1.0]), np.ones((3, 2)), np.array([[1.0], [2.0]]))
    assert trust.pair(calm, trust.texts(calm))["flagged"] is False  # spread 0, distance 1
    far = Scores(np.array([1.0, 1.0]), np.ones((3, 2)), np.array([[1.0], [3.0]]))
    assert trust.pair(far, trust.texts(far))["flagged"] is True  # distance 1.5 > 1.2


def test_without_statistics_only_the_margin_and_spread():
    trust = Trust(stub_scorer(k=3), None)
    assert trust.stats is None and not trust.needs_features
    members = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    scores = Scores(members.mean(axis=0), members)
    texts = trust.texts(scores)
    assert texts.distance is None and texts.ood_block() is None
    assert set(texts.numbers()) == {"ensemble_spread"}
    pair = trust.pair(scores, texts)
    assert pair["distance"] is None and pair["flagged"] is None and pair["spread"] == 0.0
    info = trust.describe()
    assert info["ood"]["distance_available"] is False and info["ood"]["note"] == NO_STATISTICS
    assert info["pair_flag"] is None and info["spread"]["available"] is True


def test_an_older_statistics_file_gives_distances_without_percentiles():
    old = stats_1d()
    old.text_distances = None
    trust = Trust(stub_scorer(), old)
    texts = trust.texts(Scores(np.zeros(1), np.zeros((1, 1)), np.array([[4.0]])))
    assert texts.distance.tolist() == [2.0] and texts.percentile is None
    assert texts.numbers() == {"ood_distance": [2.0]}
    assert texts.row(0) == {"ood_distance": 2.0}
    assert texts.ood_block() == {"distance": [2.0], "percentile": None, "flagged": None}
    info = trust.describe()["ood"]
    assert info["distance_available"] and not info["percentile_available"]
    assert info["note"] == NO_REFERENCE and "flag_above_percentile" not in info


def test_describe_names_the_thresholds():
    info = Trust(stub_scorer(k=3), stats_1d()).describe()
    assert info["ood"]["flag_above_percentile"] == 75.0 and info["ood"]["reference_texts"] == 4
    assert info["pair_flag"]["distance_threshold"] == 1.2
    assert info["pair_flag"]["spread_threshold"] == 0.3
    assert info["pair_uncertainty"]["kind"] == "margin"
    assert info["pair_uncertainty"]["temperature"] == 2.0
    assert info["pair_uncertainty"]["calibration_exponent"] == 1.0
    assert info["pair_uncertainty"]["also"] == ["spread", "probability_spread"]
