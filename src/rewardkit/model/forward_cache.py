"""A cache around the forward loop: each distinct text is computed once.

Evaluation rescores the same texts again and again (every probe edits only the rejected
response, so the chosen one comes back unchanged); :meth:`rewardkit.model.scorer.Scorer.cached`
puts this cache in front of :func:`rewardkit.model.inference.forward_sequences` for a scorer's
lifetime. Entries are keyed by the model and the exact token ids, so a hit returns exactly the
numbers a fresh forward pass gave. A server sees a stream of new texts and uses no cache (it
would grow without bound).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rewardkit.model.inference import Forward


class CachedForward:
    """``forward(model, sequences, features=..., **kwargs) -> Forward``, memoized."""

    def __init__(self, forward: Callable[..., Forward]):
        self.forward = forward
        self._memo: dict[int, dict[bytes, tuple[float, np.ndarray | None]]] = {}

    def __call__(
        self,
        model,
        sequences: Sequence[Sequence[int]],
        *,
        features: bool = False,
        feature_map: Callable[[np.ndarray], np.ndarray] | None = None,
        **kwargs,
    ) -> Forward:
        if feature_map is not None:  # the cache keeps the features anyway: measure them here
            out = self(model, sequences, features=True, **kwargs)
            return Forward(out.rewards, mapped=feature_map(out.features))
        memo = self._memo.setdefault(id(model), {})
        keys = [np.asarray(s, dtype="<i8").tobytes() for s in sequences]
        todo = sorted({k for k in keys if k not in memo or (features and memo[k][1] is None)})
        if todo:
            fresh = self.forward(
                model, [np.frombuffer(k, dtype="<i8") for k in todo], features=features, **kwargs
            )
            for row, key in enumerate(todo):
                memo[key] = (
                    float(fresh.rewards[row]),
                    None if fresh.features is None else fresh.features[row],
                )
        rewards = np.array([memo[k][0] for k in keys], dtype=np.float64)
        if not features:
            return Forward(rewards)
        if not keys:
            return Forward(rewards, self.forward(model, [], features=True, **kwargs).features)
        return Forward(rewards, np.stack([memo[k][1] for k in keys]))
