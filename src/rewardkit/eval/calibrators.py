"""Which calibrator ``rewardkit eval --calibrate`` stores: one temperature, or the power form.

Both forms (:class:`rewardkit.bradley_terry.Calibration`) are odd in Δ, so order-free:

===========  ====================  ==================================================
form         P(chosen ≻ rejected)  fitted by maximum likelihood (:mod:`.calibration`)
===========  ====================  ==================================================
temperature  σ(Δ/T)                T (temperature scaling, Guo et al. 2017)
power        σ(sign(Δ)·|Δ/T|^γ)    T and γ together (γ < 1 tempers large margins more)
===========  ====================  ==================================================

``--calibrator temperature|power`` fits that form. ``--calibrator auto`` fits both on the same
prompt-disjoint folds and judges them on the same held-out pairs — cross-validated model
choice (Stone 1974): a pair's held-out probability comes from a calibrator that never saw it,
so the power form's extra parameter is already charged for in its held-out NLL, the proper
scoring rule both fits minimise. The power form is stored when its held-out NLL is lower than
the temperature's and its held-out Brier score is not worse by a **paired bootstrap** interval
of the per-pair difference (power − temperature; the same resampled pairs for both, Efron &
Tibshirani 1993; :func:`rewardkit.eval.pairwise.paired_bootstrap`) that lies entirely above 0;
otherwise the simpler temperature is stored. Both differences are reported with their
intervals, so a user sees whether the choice was clear or a near tie (then the two forms give
nearly the same probabilities and either is sound). Each form's held-out ECE is reported with
its interval but does not decide: it is binned and noisy at these sizes (see the noise floor,
:mod:`.cross_fitted`). The reported held-out figures of the stored form are those of the
form that won on them: a choice between two forms, so the optimism is small, but a user who
wants untouched figures passes ``--calibrator temperature`` or ``power``.
"""

from __future__ import annotations

import numpy as np

from rewardkit.bradley_terry import log_sigmoid, sigmoid
from rewardkit.eval.config import CALIBRATION_FORMS
from rewardkit.eval.pairwise import paired_bootstrap

N_BOOT = 2000  # paired bootstrap resamples of the per-pair differences
FIGURES = ("nll", "brier")


def forms_of(calibrator: str) -> tuple[str, ...]:
    """The forms ``--calibrator`` fits: both for ``auto``, else the one named."""
    return CALIBRATION_FORMS if calibrator == "auto" else (calibrator,)


def pair_losses(logit: np.ndarray) -> dict[str, np.ndarray]:
    """Per pair, from its calibrated log-odds ``z`` for the chosen side: ``nll`` = −log σ(z)
    and ``brier`` = (1 − σ(z))²; their means are the summary's NLL and Brier."""
    logit = np.asarray(logit, dtype=np.float64)
    return {"nll": -log_sigmoid(logit), "brier": (1.0 - sigmoid(logit)) ** 2}


def paired_differences(logits: dict[str, np.ndarray], seed: int = 0) -> dict[str, dict]:
    """Per figure (NLL, Brier): the mean per-pair ``difference`` power − temperature (below 0:
    the power form is better), its paired bootstrap ``ci95`` and whether it ``excludes_zero``.
    ``logits``: each form's held-out log-odds on the same pairs."""
    temperature, power = pair_losses(logits["temperature"]), pair_losses(logits["power"])
    out = {}
    for name in FIGURES:
        difference, low, high = paired_bootstrap(temperature[name], power[name], N_BOOT, seed)
        out[name] = {
            "difference": difference,
            "ci95": [low, high],
            "excludes_zero": not low <= 0.0 <= high,
        }
    return out


def choose_form(calibrator: str, differences: dict | None) -> tuple[str, str]:
    """``(form to store, why)``: the named form, or ``auto``'s rule (module docstring) on
    :func:`paired_differences`."""
    if calibrator != "auto":
        return calibrator, f"--calibrator {calibrator}"
    nll, brier = differences["nll"], differences["brier"]
    said = (
        f"power − temperature on held-out pairs, paired bootstrap: NLL {_interval(nll)}, "
        f"Brier {_interval(brier)}"
    )
    if nll["difference"] < 0 and brier["ci95"][0] <= 0:
        return "power", f"auto: the power form predicts held-out pairs better; {said}"
    if nll["difference"] < 0:
        return "temperature", (
            "auto: the simpler temperature is kept: the power form's held-out NLL is lower but "
            f"its Brier score is worse by an interval above 0; {said}"
        )
    return "temperature", (
        f"auto: the simpler temperature is kept: the power form's held-out NLL is not lower; {said}"
    )


def _interval(figure: dict) -> str:
    low, high = figure["ci95"]
    return f"{figure['difference']:+.4f} (95% CI {low:+.4f} to {high:+.4f})"
