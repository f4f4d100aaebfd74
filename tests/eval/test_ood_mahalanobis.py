"""Mahalanobis distance, Ledoit–Wolf, the out-of-fold threshold and the OOD block."""

import json

import numpy as np
import pytest

from rewardkit.eval.ood import (
    FeatureStatistics,
    fit_feature_statistics,
    ledoit_wolf,
    mahalanobis,
    ood_flags,
    ood_section,
)


def test_mahalanobis_on_a_2d_toy():
    """Σ = diag(4, 1): (2, 1) → √(4/4 + 1/1) = √2; (0, 3) → 3.
    Σ = [[2, 1], [1, 2]], Σ⁻¹ = ⅓[[2, −1], [−1, 2]]: (1, 1) → √(2/3)."""
    mean = np.zeros(2)
    d = mahalanobis(np.array([[2.0, 1.0], [0.0, 3.0]]), mean, np.linalg.inv(np.diag([4.0, 1.0])))
    assert d == pytest.approx([np.sqrt(2), 3.0])
    p = np.linalg.inv(np.array([[2.0, 1.0], [1.0, 2.0]]))
    assert mahalanobis(np.array([[1.0, 1.0]]), mean, p)[0] == pytest.approx(np.sqrt(2 / 3))


def test_a_distance_does_not_depend_on_the_texts_measured_with_it():
    """301 texts measured whole, in pieces of awkward sizes, or shuffled: the same bits for each
    text (``rewardkit score`` measures pass by pass what the server measures per request)."""
    rng = np.random.default_rng(0)
    mean, cov, _ = ledoit_wolf(rng.normal(size=(200, 32)))
    precision = np.linalg.inv(cov)
    features = rng.normal(size=(301, 32)).astype(np.float32)
    whole = mahalanobis(features, mean, precision)
    for size in (1, 3, 7, 47, 49, 100):
        pieces = [mahalanobis(features[i : i + size], mean, precision) for i in range(0, 301, size)]
        assert np.array_equal(np.concatenate(pieces), whole), size
    order = rng.permutation(301)
    assert np.array_equal(mahalanobis(features[order], mean, precision), whole[order])


def test_ledoit_wolf_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.covariance")
    x = np.random.default_rng(0).normal(size=(50, 8)) @ np.diag(np.arange(1, 9))
    mean, cov, shrinkage = ledoit_wolf(x)
    ref = sklearn.LedoitWolf().fit(x)
    assert np.allclose(cov, ref.covariance_, atol=1e-10)
    assert shrinkage == pytest.approx(ref.shrinkage_)
    assert np.allclose(mean, x.mean(axis=0))


def test_shrinkage_makes_few_samples_invertible():
    x = np.random.default_rng(1).normal(size=(5, 20))
    _, cov, shrinkage = ledoit_wolf(x)
    assert 0 < shrinkage <= 1
    assert np.all(np.linalg.eigvalsh(cov) > 0)


@pytest.mark.parametrize("rows", [2, 1])
def test_two_texts_or_two_distinct_ones_still_give_an_invertible_covariance(rows):
    """Two texts (one pair), or many copies of two: the formula gives no shrinkage, the
    sample covariance has rank 1; the estimate falls back to the target μ·I (a tiny eval
    split used to end training with LinAlgError: Singular matrix)."""
    x = np.random.default_rng(2).normal(size=(2, 16))
    x = np.repeat(x, rows, axis=0) if rows > 1 else x
    _, cov, shrinkage = ledoit_wolf(x)
    assert shrinkage == 1.0 and np.all(np.linalg.eigvalsh(cov) > 0)
    stats = fit_feature_statistics(x[:1], x[1:2])
    assert np.isfinite(stats.distance_threshold)


def test_out_of_fold_threshold_flags_about_five_percent_in_distribution():
    rng = np.random.default_rng(2)
    scale = np.diag(np.linspace(0.5, 2.0, 16))
    train = [rng.normal(size=(1500, 16)) @ scale for _ in range(2)]
    stats = fit_feature_statistics(*train)
    fresh = [rng.normal(size=(2000, 16)) @ scale for _ in range(2)]
    in_rate = np.mean(stats.pair_distance(*fresh) > stats.distance_threshold)
    assert 0.02 < in_rate < 0.09
    shifted = [f + 3.0 for f in fresh]
    assert np.mean(stats.pair_distance(*shifted) > stats.distance_threshold) > 0.95


def test_statistics_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    stats = fit_feature_statistics(
        rng.normal(size=(40, 3)), rng.normal(size=(40, 3)), spread=rng.random(40)
    )
    stats.heldout = {"fraction_flagged": 0.07, "source": "eval"}
    stats.save(tmp_path)
    loaded = FeatureStatistics.load(tmp_path)
    assert np.allclose(loaded.covariance, stats.covariance)
    assert loaded.distance_threshold == pytest.approx(stats.distance_threshold)
    assert loaded.spread_threshold == pytest.approx(stats.spread_threshold)
    assert loaded.heldout == stats.heldout
    assert FeatureStatistics.load(tmp_path / "missing") is None


def test_ood_section_by_hand():
    """Thresholds: distance 2, spread 0.5. Pairs (distance, spread, correct):
    (1, 0.1, ✓) (3, 0.1, ✗) (1, 0.9, ✗) (1, 0.2, ✓) → flagged: pairs 1 and 2 (½);
    accuracy flagged 0/2, unflagged 2/2; the in-distribution reference 0.1 → ratio 5."""
    stats = FeatureStatistics(
        np.zeros(1),
        np.eye(1),
        0.0,
        2.0,
        0.5,
        heldout={"fraction_flagged": 0.1, "source": "eval split"},
    )
    distance, spread = np.array([1.0, 3.0, 1.0, 1.0]), np.array([0.1, 0.1, 0.9, 0.2])
    correct = np.array([1, 0, 0, 1], bool)
    block = ood_section(correct, distance, spread, stats, 0.5)
    assert block["fraction_flagged"] == 0.5
    assert block["fraction_flagged_distance"] == 0.25
    assert block["fraction_flagged_spread"] == 0.25
    assert block["accuracy_flagged"] == 0.0 and block["accuracy_unflagged"] == 1.0
    assert block["ratio_to_in_distribution"] == pytest.approx(5.0)
    # ties count in the flagged fraction but not in accuracy
    tied = ood_section(correct, distance, spread, stats, 0.5, tie=np.array([0, 1, 0, 0], bool))
    assert tied["fraction_flagged"] == 0.5 and tied["accuracy_flagged"] == 0.0
    none = ood_flags(3, None, None, None, None)
    assert not none["any"].any() and none["any"].shape == (3,)


def test_abstaining_by_distance_by_hand():
    """Same four pairs: abstaining on the most distant first keeps (1, 1, 1) then (3): at
    74% coverage the kept pairs are 1, 3, 4 (2 of 3 right), at 50% pairs 1 and 3 (stable
    order: 1 of 2 right); abstaining on the flagged pairs (2 of 4) keeps half of them."""
    stats = FeatureStatistics(np.zeros(1), np.eye(1), 0.0, 2.0, 0.5)
    distance, spread = np.array([1.0, 3.0, 1.0, 1.0]), np.array([0.1, 0.1, 0.9, 0.2])
    correct = np.array([1, 0, 0, 1], bool)
    abstain = ood_section(correct, distance, spread, stats, 0.5)["abstain_by_distance"]
    assert abstain["accuracy_at"]["1.0"] == 0.5
    assert abstain["accuracy_at"]["0.5"] == 0.5
    at_74 = int(np.argmin(np.abs(np.array(abstain["coverage"]) - 0.74)))  # 3 of 4 pairs
    assert abstain["accuracy"][at_74] == pytest.approx(2 / 3)
    assert abstain["coverage_without_flagged"] == 0.5
    assert "abstain_by_distance" not in ood_section(correct, None, spread, stats, 0.5)


def test_text_percentile_and_flag_by_hand():
    """Reference distances 1, 2, 3, 4 (stored in any order, kept sorted); the percentile is
    the share at most as far: 0.5 → 0%, 2 → 50%, 2.5 → 50%, 4 → 100%, 9 → 100%. With quantile
    0.75 a text is flagged above 75%: 3 (75%) is not, 4 (100%) is."""
    stats = FeatureStatistics(
        np.zeros(1), np.eye(1), 0.0, 5.0, quantile=0.75, text_distances=np.array([3, 1, 4, 2.0])
    )
    percentile = stats.percentile(np.array([0.5, 2.0, 2.5, 3.0, 4.0, 9.0]))
    assert percentile.tolist() == [0.0, 50.0, 50.0, 75.0, 100.0, 100.0]
    assert stats.text_flags(percentile).tolist() == [False, False, False, False, True, True]
    assert stats.flag_percentile == 75.0


def test_text_percentiles_flag_about_five_percent_in_distribution():
    """The stored reference is out of fold: fresh texts from the training distribution are
    flagged about 5% of the time, and more often against the training texts' in-sample
    distances (a training text is closer to statistics fitted on itself); shifted texts
    nearly always."""
    rng = np.random.default_rng(4)
    scale = np.diag(np.linspace(0.5, 2.0, 16))
    train = [rng.normal(size=(150, 16)) @ scale for _ in range(2)]
    stats = fit_feature_statistics(*train)
    assert stats.text_distances.size == 300 and "out-of-fold" in stats.text_reference
    fresh = rng.normal(size=(4000, 16)) @ scale
    rate = stats.text_flags(stats.percentile(stats.distance(fresh))).mean()
    assert 0.03 < rate < 0.08
    in_sample = np.quantile(stats.distance(np.concatenate(train)), 0.95)
    assert rate < (stats.distance(fresh) > in_sample).mean()
    shifted = stats.text_flags(stats.percentile(stats.distance(fresh + 3.0))).mean()
    assert shifted > 0.95


def test_reference_distances_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    stats = fit_feature_statistics(rng.normal(size=(40, 3)), rng.normal(size=(40, 3)))
    stats.save(tmp_path)
    loaded = FeatureStatistics.load(tmp_path)
    assert np.array_equal(loaded.text_distances, stats.text_distances)
    assert loaded.text_reference == stats.text_reference and loaded.has_percentiles
    probe = rng.normal(size=(5, 3)) * 3
    assert np.array_equal(
        loaded.percentile(loaded.distance(probe)), stats.percentile(stats.distance(probe))
    )


def test_a_file_saved_before_the_reference_still_loads(tmp_path):
    """The file as older rewardkit wrote it (mean, covariance, no text_distances): it loads,
    gives distances, and has no percentiles (asking for one is our bug, a ValueError)."""
    from safetensors.numpy import save_file

    from rewardkit.eval.ood import STATS_FILE

    meta = {"shrinkage": 0.1, "distance_threshold": 2.5, "quantile": 0.95, "n_pairs": 40}
    save_file(
        {"mean": np.zeros(3), "covariance": np.eye(3)},
        str(tmp_path / STATS_FILE),
        metadata={k: json.dumps(v) for k, v in meta.items()},
    )
    stats = FeatureStatistics.load(tmp_path)
    assert stats.text_distances is None and not stats.has_percentiles
    assert stats.distance(np.array([[3.0, 4.0, 0.0]])).tolist() == [5.0]
    with pytest.raises(ValueError, match="no reference distances"):
        stats.percentile(np.array([1.0]))
