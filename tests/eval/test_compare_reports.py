"""``rewardkit compare``: the paired bootstrap and matching pairs across reports."""

import json

import numpy as np
import pytest

from rewardkit.errors import UserError
from rewardkit.eval.compare import CompareConfig, compare
from rewardkit.eval.pairwise import paired_bootstrap


def test_paired_bootstrap_by_hand():
    """a right on 3 of 4 pairs, b on 1 of 4 → difference b − a = −0.5; every resample's
    difference lies in [−1, 0] (b is never right where a is wrong)."""
    a, b = np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0])
    diff, lo, hi = paired_bootstrap(a, b, n_boot=500, seed=0)
    assert diff == -0.5
    assert -1.0 <= lo <= diff <= hi <= 0.0
    same = paired_bootstrap(a, a)
    assert same == (0.0, 0.0, 0.0)  # identical models: no spread at all


def test_paired_interval_is_tighter_than_separate_intervals():
    """Two models that agree on most pairs: the paired interval is much narrower than the
    spread of either accuracy alone."""
    rng = np.random.default_rng(0)
    a = rng.random(400) < 0.7
    b = a.copy()
    b[:20] = ~b[:20]
    _, lo, hi = paired_bootstrap(a, b, n_boot=1000)
    boot_a = [a[rng.integers(0, 400, 400)].mean() for _ in range(1000)]
    assert hi - lo < (np.percentile(boot_a, 97.5) - np.percentile(boot_a, 2.5)) / 2


def _report(folder, model, correct_by_key, ties=()):
    folder.mkdir()
    (folder / "metrics.json").write_text(
        json.dumps({"model": model, "accuracy": 0.5, "n": 4, "data_fingerprint": "f"})
    )
    rows = [{"key": k, "correct": v} for k, v in correct_by_key.items()]
    rows += [{"key": k, "correct": None, "tie": True} for k in ties]
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(folder)


def test_compare_two_reports_on_their_common_pairs(tmp_path):
    """Common non-tie pairs: k1, k2, k3 (k4 only in a; t is a tie). a: 3/3, b: 1/3."""
    a = _report(
        tmp_path / "a", "model-a", {"k1": True, "k2": True, "k3": True, "k4": False}, ties=["t"]
    )
    b = _report(tmp_path / "b", "model-b", {"k1": True, "k2": False, "k3": False}, ties=["t"])
    result = compare(CompareConfig(inputs=[a, b], out=str(tmp_path / "cmp"), n_boot=200))
    assert result["n_common"] == 3
    first, second = result["models"]
    assert first["accuracy"] == 1.0 and second["accuracy"] == pytest.approx(1 / 3)
    assert second["difference_to_first"]["difference"] == pytest.approx(-2 / 3)
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "model-b" in html and "paired bootstrap" in html
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["n_common"] == 3


def test_compare_needs_two_inputs_and_data_for_models(tmp_path):
    a = _report(tmp_path / "a", "a", {"k": True})
    with pytest.raises(UserError):
        compare(CompareConfig(inputs=[a]))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    with pytest.raises(UserError, match="--data"):
        compare(CompareConfig(inputs=[a, str(model_dir)]))
    other = _report(tmp_path / "other", "o", {"z": True})
    with pytest.raises(UserError, match="share no pairs"):
        compare(CompareConfig(inputs=[a, other]))
