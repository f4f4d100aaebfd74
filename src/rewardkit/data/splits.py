"""Train/eval splits that are disjoint by prompt.

A pair goes to eval when its prompt's hash says so (:func:`is_eval_prompt`), so all pairs of
one prompt land on the same side, whatever order or process reads them. With
``eval_fraction = 1/k`` the rule is ``prompt_hash % k == 0``: for hh-rlhf with the default
0.2 that is the canonical split of ``../shared/data/README.md`` (1,874 train / 438 eval).
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardkit.data.records import PreferencePair, Prompt, prompt_hash, prompt_text
from rewardkit.errors import UserError

_BUCKETS = 10_000


def is_eval_prompt(prompt: Prompt, eval_fraction: float) -> bool:
    """Whether ``prompt`` belongs to the eval split.

    ``h = prompt_hash(prompt)``. If ``eval_fraction`` is ``1/k`` for an integer ``k``
    (within 1e-9): eval iff ``h % k == 0``; otherwise eval iff
    ``h % 10000 < eval_fraction * 10000``.
    """
    _check_fraction(eval_fraction)
    h = prompt_hash(prompt)
    k = round(1 / eval_fraction)
    if abs(1 / k - eval_fraction) < 1e-9:
        return h % k == 0
    return h % _BUCKETS < eval_fraction * _BUCKETS


def split_by_prompt(
    pairs: Sequence[PreferencePair], eval_fraction: float = 0.2
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """``(train, eval)``, each in input order; no prompt is on both sides."""
    _check_fraction(eval_fraction)
    train, eval_ = [], []
    for pair in pairs:
        (eval_ if is_eval_prompt(pair.prompt, eval_fraction) else train).append(pair)
    return train, eval_


def prompt_overlap(
    train: Sequence[PreferencePair], eval: Sequence[PreferencePair]
) -> list[PreferencePair]:
    """The pairs of ``train`` whose prompt also appears in ``eval`` (for ``--eval-data``)."""
    eval_prompts = {prompt_text(pair.prompt) for pair in eval}
    return [pair for pair in train if prompt_text(pair.prompt) in eval_prompts]


def check_disjoint(
    train: Sequence[PreferencePair],
    eval: Sequence[PreferencePair],
    *,
    eval_name: str = "the eval data",
) -> None:
    """Raise a one-line :class:`UserError` if any train prompt also appears in ``eval``.

    Callers that would rather drop the overlap can use :func:`prompt_overlap` instead.
    """
    overlap = prompt_overlap(train, eval)
    if overlap:
        first = overlap[0].source or overlap[0].id or "?"
        raise UserError(
            f"{len(overlap)} of {len(train)} training pairs share their prompt with "
            f"{eval_name} (first at {first}), so eval accuracy would be inflated; remove "
            "them from one side, or drop --eval-data and split by prompt with --eval-fraction"
        )


def _check_fraction(eval_fraction: float) -> None:
    if not 0 < eval_fraction < 1:
        raise UserError(f"--eval-fraction must be between 0 and 1 (exclusive), got {eval_fraction}")


def fold_assignments(n: int, folds: int, rng, groups: Sequence | None = None):
    """The fold (0..folds−1) of each of ``n`` items, drawn with ``rng`` (a numpy Generator):
    a random permutation taken modulo ``folds``. With ``groups`` (e.g. prompt hashes) all
    items of a group share one fold, so folds are disjoint by group (prompt-disjoint K-fold
    cross-validation)."""
    import numpy as np

    if groups is None:
        return rng.permutation(n) % folds
    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    return rng.permutation(group_index.max() + 1)[group_index] % folds
