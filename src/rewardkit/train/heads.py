"""Linear Bradley–Terry heads on frozen features, and bootstrap head ensembles.

A reward head is linear in the head-input features of :mod:`rewardkit.model.features`:
``r(x) = w·f(x) + b``. Fitting it is a convex problem — the training objective of
:func:`rewardkit.train.losses.preference_loss` (Bradley & Terry 1952, with margins, pair
weights, ties and centering exactly as in full training) plus ``(λ/2)·‖w‖²`` — solved in
float64 with L-BFGS on the whole data set: seconds, where fine-tuning takes minutes.

Ensembles (Coste et al. 2023, "Reward Model Ensembles Help Mitigate Overoptimization",
arXiv 2310.02743): the objective is convex, so heads started from different seeds on the same
data converge to the *same* head. Members therefore see bootstrap resamples of the training
pairs (Efron 1979): pair ``i`` gets weight ``weight_i · c_i`` with ``c ~ Multinomial(N, 1/N)``.
Their disagreement is the spread reported by ``rewardkit eval``.

The bias cancels in ``r_c − r_r``; unless reward centering fixes it, each head's bias is set
so that its rewards average 0 over the training texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rewardkit.data.splits import fold_assignments
from rewardkit.model.ensemble import LinearHeads
from rewardkit.train.losses import Objective, preference_loss

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass
class PairFeatures:
    """Features of training pairs: ``chosen (N, H)``, ``rejected (N, H)`` and per-pair data."""

    chosen: np.ndarray
    rejected: np.ndarray
    margin: np.ndarray
    tie: np.ndarray
    weight: np.ndarray
    label: np.ndarray | None = None  # soft labels P(c ≻ r) (N,), or None: all hard

    def __len__(self) -> int:
        return int(self.chosen.shape[0])

    def subset(self, rows: np.ndarray) -> "PairFeatures":
        return PairFeatures(
            self.chosen[rows],
            self.rejected[rows],
            self.margin[rows],
            self.tie[rows],
            self.weight[rows],
            None if self.label is None else self.label[rows],
        )

    def label_tensor(self) -> torch.Tensor | None:
        """The soft labels as a float64 tensor, or None when every label is hard."""
        if self.label is None or np.all(self.label == 1.0):
            return None
        return torch.as_tensor(np.asarray(self.label, dtype=np.float64))


def fit_linear_head(
    pairs: PairFeatures,
    objective: Objective = Objective(),
    *,
    l2: float = 1e-3,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
    max_iter: int = 200,
) -> tuple[np.ndarray, float]:
    """One head ``(w (H,), b)`` minimising the weighted objective + ``(l2/2)‖w‖²``."""
    f_c = torch.as_tensor(np.asarray(pairs.chosen), dtype=torch.float64)
    f_r = torch.as_tensor(np.asarray(pairs.rejected), dtype=torch.float64)
    weight = np.asarray(pairs.weight, dtype=np.float64)
    if sample_weight is not None:
        weight = weight * np.asarray(sample_weight, dtype=np.float64)
    margin_t = torch.as_tensor(np.asarray(pairs.margin, dtype=np.float64))
    tie_t = torch.as_tensor(np.asarray(pairs.tie, dtype=bool))
    weight_t = torch.as_tensor(weight)
    label_t = pairs.label_tensor()
    generator = torch.Generator().manual_seed(seed)
    w = (0.02 * torch.randn(f_c.shape[1], generator=generator, dtype=torch.float64)).requires_grad_(
        True
    )
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [w, b],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = preference_loss(
            f_c @ w + b,
            f_r @ w + b,
            margin=margin_t,
            tie=tie_t,
            weight=weight_t,
            objective=objective,
            label=label_t,
        )
        loss = loss + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    w_np = w.detach().numpy().copy()
    if objective.center_coef:
        return w_np, float(b.detach())
    texts = np.concatenate([np.asarray(pairs.chosen), np.asarray(pairs.rejected)])
    return w_np, -float(np.mean(texts @ w_np))


def heldout_loss(pairs: PairFeatures, w: np.ndarray, b: float, objective: Objective) -> float:
    """The weighted objective (no penalty) of head ``(w, b)`` on ``pairs``."""
    r_c = torch.as_tensor(np.asarray(pairs.chosen, dtype=np.float64) @ w + b)
    r_r = torch.as_tensor(np.asarray(pairs.rejected, dtype=np.float64) @ w + b)
    loss = preference_loss(
        r_c,
        r_r,
        margin=torch.as_tensor(np.asarray(pairs.margin, dtype=np.float64)),
        tie=torch.as_tensor(np.asarray(pairs.tie, dtype=bool)),
        weight=torch.as_tensor(np.asarray(pairs.weight, dtype=np.float64)),
        objective=objective,
        label=pairs.label_tensor(),
    )
    return float(loss)


def choose_l2(
    pairs: PairFeatures,
    objective: Objective = Objective(),
    *,
    grid: tuple[float, ...] = L2_GRID,
    folds: int = 4,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[float, dict[float, float]]:
    """The L2 strength with the lowest k-fold held-out loss; ``groups`` (e.g. prompt hashes)
    keep all pairs of a group in one fold. Returns ``(best, {l2: mean held-out loss})``."""
    n = len(pairs)
    if n < 2 * folds:
        return grid[len(grid) // 2], {}
    fold_of = fold_assignments(n, folds, np.random.default_rng(seed), groups)
    scores = {}
    for l2 in grid:
        losses = []
        for fold in range(folds):
            test = fold_of == fold
            if test.all() or not test.any():
                continue
            w, b = fit_linear_head(pairs.subset(np.flatnonzero(~test)), objective, l2=l2, seed=seed)
            losses.append(heldout_loss(pairs.subset(np.flatnonzero(test)), w, b, objective))
        scores[l2] = float(np.mean(losses)) if losses else float("inf")
    best = min(scores, key=scores.get)
    return best, scores


def fit_heads(
    pairs: PairFeatures,
    k: int = 1,
    objective: Objective = Objective(),
    *,
    l2: float | None = None,
    seed: int = 0,
    bootstrap: bool = True,
    groups: np.ndarray | None = None,
) -> LinearHeads:
    """``k`` heads. ``k = 1``: one head on all pairs. ``k > 1``: member ``j`` is fitted on a
    bootstrap resample drawn with ``seed + j`` (and initialised from that seed). ``l2=None``
    picks the strength by 4-fold cross-validation on all pairs (:func:`choose_l2`)."""
    if len(pairs) == 0:
        raise ValueError("no training pairs to fit a head on")
    if l2 is None:
        l2, _ = choose_l2(pairs, objective, seed=seed, groups=groups)
    weights, biases = [], []
    n = len(pairs)
    for member in range(k):
        counts = None
        if k > 1 and bootstrap:
            rng = np.random.default_rng(seed + member)
            counts = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        w, b = fit_linear_head(pairs, objective, l2=l2, sample_weight=counts, seed=seed + member)
        weights.append(w)
        biases.append(b)
    return LinearHeads(np.stack(weights), np.asarray(biases, dtype=np.float64), float(l2))


def pair_spread(heads: LinearHeads, chosen: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """Per pair, the standard deviation over members (ddof 0) of ``Δ_k = r_k(c) − r_k(r)``."""
    delta = heads.member_rewards(chosen) - heads.member_rewards(rejected)
    return delta.std(axis=0)
