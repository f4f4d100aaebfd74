"""The Bradley–Terry preference probability, the one formula every room shares.

Bradley & Terry (1952): a reward model (or an annotator) with rewards ``r_a``, ``r_b`` prefers
``a`` with probability

    P(a ≻ b) = σ((r_a − r_b) / T),    σ(x) = 1 / (1 + e^{−x}) = (1 + tanh(x/2)) / 2

where ``T`` is a temperature (1 for raw rewards; fitted by temperature scaling, Guo et al. 2017,
to calibrate them). The tanh form never overflows, for scalars and arrays alike.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    """σ(x) for a number (returns a float) or an array (returns float64)."""
    value = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    return float(value) if value.ndim == 0 else value


def preference_probability(delta, temperature: float = 1.0):
    """P(a ≻ b) = σ(Δ/T) for a reward difference ``Δ = r_a − r_b`` (number or array)."""
    return sigmoid(np.asarray(delta, dtype=np.float64) / float(temperature))


def log_sigmoid(x) -> np.ndarray:
    """log σ(x) = −log(1 + e^{−x}), stable for large |x| (the Bradley–Terry log-likelihood)."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))
