"""Pairwise preference losses on reward differences.

Shapes: every tensor argument is ``(B,)`` — one entry per pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def bradley_terry_loss(
    r_chosen: torch.Tensor,
    r_rejected: torch.Tensor,
    margin: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    label: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-pair ``-log σ(r_c − r_r − m)``.

    Bradley & Terry (1952) model P(c ≻ r) = σ(r_c − r_r); the per-pair margin ``m`` (preference
    strength) follows Llama 2 (Touvron et al. 2023, §3.2.2). With label smoothing ε the target
    is 1−ε: ``−(1−ε) log σ(Δ) − ε log σ(−Δ)``.

    A soft label ``p = P(c ≻ r)`` per pair (``label``, shape ``(B,)``) makes the loss the binary
    cross-entropy with a soft target, ``−p log σ(Δ) − (1−p) log σ(−Δ)``: the Bradley–Terry
    likelihood of a pair judged ``c ≻ r`` with probability ``p`` (the soft-label form used for
    noisy preferences by Wang et al. 2024, "Secrets of RLHF part II", arXiv 2401.06080, §3).
    ``p = 1`` is the hard loss; smoothing then applies to the soft target:
    ``p ← p(1−ε) + (1−p)ε``.
    """
    delta = r_chosen - r_rejected
    if margin is not None:
        delta = delta - margin
    target = None
    if label is not None:
        target = label.to(delta.dtype)
    if label_smoothing:
        one = torch.ones_like(delta) if target is None else target
        target = one * (1 - label_smoothing) + (1 - one) * label_smoothing
    if target is None:
        return -F.logsigmoid(delta)
    return -target * F.logsigmoid(delta) - (1 - target) * F.logsigmoid(-delta)


def davidson_loss(
    r_chosen: torch.Tensor,
    r_rejected: torch.Tensor,
    tie: torch.Tensor,
    nu: float = 1.0,
    margin: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-pair negative log-likelihood under Davidson's (1970) model with ties.

    With π = exp(r) and Δ = r_c − r_r − m, dividing by √(π_c π_r):

        P(c ≻ r) = e^{Δ/2} / (e^{Δ/2} + e^{−Δ/2} + ν)
        P(tie)   = ν       / (e^{Δ/2} + e^{−Δ/2} + ν)

    ν ≥ 0 sets how likely ties are (ν = 0 recovers Bradley–Terry). ``tie`` is a bool tensor.
    """
    delta = r_chosen - r_rejected
    if margin is not None:
        delta = delta - margin
    log_nu = torch.log(torch.as_tensor(nu, dtype=delta.dtype, device=delta.device))
    half = delta / 2
    stacked = torch.stack([half, -half, log_nu.expand_as(half)], dim=-1)
    log_norm = torch.logsumexp(stacked, dim=-1)
    log_win = half - log_norm
    log_tie = log_nu - log_norm
    return -torch.where(tie, log_tie, log_win)


def centering_penalty(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Per-pair ``(r_c + r_r)²``: keeps rewards centred on zero (Eisenstein et al. 2023,
    "Helping or Herding?", arXiv 2312.09244); TRL's ``center_rewards_coefficient``."""
    return (r_chosen + r_rejected) ** 2


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Σ w·v / Σ w``: rankings give each of a prompt's C(K,2) pairs weight 1/C(K,2)
    (InstructGPT, Ouyang et al. 2022), so a prompt counts once however many replies it has."""
    return (values * weights).sum() / weights.sum().clamp_min(1e-12)


@dataclass(frozen=True)
class Objective:
    """The per-pair training objective, as ``rewardkit train``'s options set it: how ties are
    modelled (dropped before training, or Davidson 1970 with ``tie_nu``), the reward-centering
    coefficient, label smoothing, and whether a pair's margin enters the loss."""

    ties: str = "drop"
    tie_nu: float = 1.0
    center_coef: float = 0.0
    label_smoothing: float = 0.0
    use_margin: bool = True

    @classmethod
    def of(cls, config) -> "Objective":
        """The objective a :class:`~rewardkit.train.config.TrainConfig` asks for."""
        return cls(
            ties=config.ties,
            tie_nu=config.tie_nu,
            center_coef=config.center_coef,
            label_smoothing=config.label_smoothing,
            use_margin=config.use_margin,
        )


def preference_loss(
    r_chosen,
    r_rejected,
    *,
    margin,
    tie,
    weight,
    objective: Objective = Objective(),
    label: torch.Tensor | None = None,
) -> torch.Tensor:
    """The training objective for one batch (a scalar). ``label``: per-pair soft labels
    P(chosen ≻ rejected), or None for hard labels (Davidson's tie model takes hard ones only)."""
    margin = margin if objective.use_margin else None
    if objective.ties == "davidson":
        per_pair = davidson_loss(r_chosen, r_rejected, tie, nu=objective.tie_nu, margin=margin)
    else:
        per_pair = bradley_terry_loss(
            r_chosen, r_rejected, margin, objective.label_smoothing, label=label
        )
    loss = weighted_mean(per_pair, weight)
    if objective.center_coef:
        penalty = weighted_mean(centering_penalty(r_chosen, r_rejected), weight)
        loss = loss + objective.center_coef * penalty
    return loss
