"""The Bradley–Terry preference probability, the one formula every room shares.

Bradley & Terry (1952): a reward model (or an annotator) with rewards ``r_a``, ``r_b`` prefers
``a`` with probability σ(r_a − r_b), σ(x) = 1 / (1 + e^{−x}) = (1 + tanh(x/2)) / 2. A stored
calibration (:class:`Calibration`: temperature ``T``, exponent ``γ``) bends the reward
difference ``Δ = r_a − r_b`` before the sigmoid:

    P(a ≻ b) = σ(z),    z = sign(Δ)·|Δ/T|^γ

* ``γ = 1`` is temperature scaling, σ(Δ/T) (Guo et al. 2017, "On Calibration of Modern Neural
  Networks"), exactly: BT rewards have an arbitrary scale and ``T > 1`` repairs
  over-confidence. ``T = γ = 1`` is the raw model.
* ``γ ≠ 1`` (the "power" form, fitted by ``rewardkit eval --calibrate --calibrator power|auto``)
  also bends the map's shape: with ``γ < 1`` large margins are tempered more than small ones,
  with ``γ > 1`` less. It is a signed power of the scaled log-odds, described here plainly;
  it is *not* beta calibration (Kull, Silva Filho & Flach 2017), whose map is linear in
  ``ln s`` and ``ln(1 − s)`` on the log-odds scale and, made order-free on pairs (a = b, no
  intercept), is the temperature again.

``z`` is odd in ``Δ``, so P(b ≻ a) = 1 − P(a ≻ b) for every ``T`` and ``γ``: the order a pair is
shown in never matters. The tanh form of σ never overflows, for scalars and arrays alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sigmoid(x):
    """σ(x) for a number (returns a float) or an array (returns float64)."""
    value = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    return float(value) if value.ndim == 0 else value


def calibrated_logit(delta, temperature: float = 1.0, exponent: float = 1.0):
    """``z = sign(Δ)·|Δ/T|^γ`` for a reward difference ``Δ`` (number or array, float64)."""
    scaled = np.asarray(delta, dtype=np.float64) / float(temperature)
    return np.sign(scaled) * np.abs(scaled) ** float(exponent)


def preference_probability(delta, temperature: float = 1.0, exponent: float = 1.0):
    """P(a ≻ b) = σ(sign(Δ)·|Δ/T|^γ) for ``Δ = r_a − r_b`` (number or array); the defaults,
    and any ``T`` with ``γ = 1``, give σ(Δ/T)."""
    return sigmoid(calibrated_logit(delta, temperature, exponent))


def log_sigmoid(x) -> np.ndarray:
    """log σ(x) = −log(1 + e^{−x}), stable for large |x| (the Bradley–Terry log-likelihood)."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


@dataclass(frozen=True)
class Calibration:
    """A model's calibration of P(chosen ≻ rejected): temperature ``T`` and exponent ``γ``
    (see the module docstring; ``Calibration()`` is the raw model)."""

    temperature: float = 1.0
    exponent: float = 1.0

    @classmethod
    def stored(cls, temperature: float | None, exponent: float | None) -> "Calibration":
        """From a model's saved fields, where None (an uncalibrated or older folder) is 1."""
        return cls(float(temperature or 1.0), float(exponent or 1.0))

    def logit(self, delta):
        """``z = sign(Δ)·|Δ/T|^γ``."""
        return calibrated_logit(delta, self.temperature, self.exponent)

    def probability(self, delta):
        """P(a ≻ b) for ``Δ = r_a − r_b`` (:func:`preference_probability`)."""
        return preference_probability(delta, self.temperature, self.exponent)

    @property
    def formula(self) -> str:
        return "σ(Δ/T)" if self.exponent == 1.0 else "σ(sign(Δ)·|Δ/T|^γ)"

    def label(self) -> str:
        """``T = 1.29`` or ``T = 1.29, γ = 0.75`` (three significant digits)."""
        text = f"T = {self.temperature:.3g}"
        return text if self.exponent == 1.0 else f"{text}, γ = {self.exponent:.3g}"

    def to_dict(self) -> dict:
        return {"temperature": self.temperature, "exponent": self.exponent}


UNCALIBRATED = Calibration()
