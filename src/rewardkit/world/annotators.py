"""Simulated annotators: Bradley–Terry choosers with their own noise and one shared bias.

Annotator k judges responses A and B by a *perceived* reward

    s(x) = g(x) + b * flattery(x)

where g is the gold reward and b the shared flattery bias (gold ignores flattery), and
prefers A with the Bradley–Terry (1952) probability

    P(A ≻ B) = σ((s(A) - s(B)) / τ_k)

τ_k is annotator k's noise temperature: small τ is a careful annotator, large τ a noisy
one. The τ_k are evenly spaced over ``WorldConfig.annotator_tau_range`` (in gold units; gold
steps are 0.5, so τ = 0.3 is quite consistent and τ = 1.0 flips a 0.5 step about 38% of
the time).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    """σ(x) = 1 / (1 + e^-x), computed without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class Annotator:
    """One simulated annotator: a name, a noise temperature τ and the shared flattery bias b."""

    name: str
    tau: float
    flattery_bias: float

    def perceived_reward(self, gold: float, flattered: bool) -> float:
        """s(x) = g(x) + b * flattery(x): what this annotator effectively rewards."""
        return gold + self.flattery_bias * float(flattered)

    def prob_prefers(
        self, gold_a: float, gold_b: float, flattered_a: bool, flattered_b: bool
    ) -> float:
        """P(A ≻ B) = σ((s(A) - s(B)) / τ)."""
        delta = self.perceived_reward(gold_a, flattered_a) - self.perceived_reward(
            gold_b, flattered_b
        )
        return float(sigmoid(delta / self.tau))

    def judge(
        self,
        rng: np.random.Generator,
        gold_a: float,
        gold_b: float,
        flattered_a: bool,
        flattered_b: bool,
    ) -> bool:
        """Sample one label: True when this annotator prefers A."""
        return bool(rng.random() < self.prob_prefers(gold_a, gold_b, flattered_a, flattered_b))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_annotators(
    n_annotators: int, tau_range: tuple[float, float], flattery_bias: float
) -> list[Annotator]:
    """``n_annotators`` annotators with τ evenly spaced over ``tau_range`` (inclusive) and the
    same flattery bias. Deterministic: no randomness is needed to define the population."""
    low, high = tau_range
    taus = (
        np.linspace(low, high, n_annotators) if n_annotators > 1 else np.array([(low + high) / 2])
    )
    return [
        Annotator(
            name=f"annotator-{k}", tau=round(float(tau), 6), flattery_bias=float(flattery_bias)
        )
        for k, tau in enumerate(taus)
    ]
