"""auto's rule between the temperature and the power form, on given paired differences."""

import pytest

from rewardkit.eval.calibrators import choose_form


def _differences(nll: float, brier_ci: tuple[float, float]) -> dict:
    brier = sum(brier_ci) / 2
    return {
        "nll": {"difference": nll, "ci95": [nll - 0.01, nll + 0.01]},
        "brier": {"difference": brier, "ci95": list(brier_ci)},
    }


@pytest.mark.parametrize(
    ("nll", "brier_ci", "form", "said"),
    [
        (-0.002, (-0.001, 0.0005), "power", "predicts held-out pairs better"),
        (-0.002, (0.0001, 0.001), "temperature", "Brier score is worse"),
        (0.001, (-0.002, -0.001), "temperature", "NLL is not lower"),
    ],
)
def test_auto_stores_power_for_lower_nll_unless_its_brier_is_clearly_worse(
    nll, brier_ci, form, said
):
    chosen, why = choose_form("auto", _differences(nll, brier_ci))
    assert chosen == form and said in why and "95% CI" in why
    assert choose_form("power", None) == ("power", "--calibrator power")
