"""Which calibrator ``rewardkit eval --calibrate`` stores: one temperature, or the power form.

Both forms (:class:`rewardkit.bradley_terry.Calibration`) are odd in Δ, so order-free:

===========  ====================  ==================================================
form         P(chosen ≻ rejected)  fitted by maximum likelihood (:mod:`.calibration`)
===========  ====================  ==================================================
temperature  σ(Δ/T)                T (temperature scaling, Guo et al. 2017)
power        σ(sign(Δ)·|Δ/T|^γ)    T and γ together (γ < 1 tempers large margins more)
===========  ====================  ==================================================

``--calibrator temperature|power`` fits that form. ``--calibrator auto`` fits both on the same
folds and judges them on the same held-out pairs: the power form has one parameter more, so it
must earn its place. It is stored only when its held-out NLL — the proper scoring rule both
fits minimise — is lower than the temperature's with a **paired bootstrap** interval of the
per-pair NLL difference (power − temperature; the same resampled pairs for both, Efron &
Tibshirani 1993; :func:`rewardkit.eval.pairwise.paired_bootstrap`) that lies entirely below 0;
otherwise the simpler temperature is stored. The Brier difference is reported beside it with
its own interval, and each form's held-out ECE with its interval, but neither decides: the ECE
is binned and noisy at these sizes (see the noise floor, :mod:`.cross_fitted`).
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
    nll = differences["nll"]
    low, high = nll["ci95"]
    interval = f"{nll['difference']:+.4f}, 95% CI {low:+.4f} to {high:+.4f}"
    if high < 0:
        return "power", (
            f"auto: the power form's held-out NLL is lower than the temperature's ({interval}, "
            "paired bootstrap: excludes 0)"
        )
    return "temperature", (
        f"auto: the power form's held-out NLL is not lower by an interval that excludes 0 "
        f"({interval}, paired bootstrap), so the simpler temperature is kept"
    )
