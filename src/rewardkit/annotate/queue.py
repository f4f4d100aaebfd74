"""``--queue uncertainty``: serve first the items the reward model is least sure of.

For a single model the uncertainty of a pair is how close P(a ≻ b) = σ(r_a − r_b)
(Bradley & Terry 1952; :func:`rewardkit.bradley_terry.preference_probability`) is to 0.5;
an item with K > 2 responses counts its least certain pair. For an ensemble the same rule
is applied to the members' mean reward (the model's own aggregate). Rewards come from
rewardkit's one scorer (:func:`rewardkit.model.loading.load_reward_model`), each response
scored once.

The order is recomputed when the model folder changes (a file's name, size or modification
time: a retrained model written in place) or when items are added.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from rewardkit.annotate.schema import Item
from rewardkit.annotate.store import Store
from rewardkit.bradley_terry import preference_probability

CHECK_EVERY_S = 2.0  # how often a request may look at the model folder


def folder_signature(folder: Path) -> tuple:
    """Names, sizes and modification times of the files under ``folder``."""
    entries = []
    for root, _, files in os.walk(folder):
        for name in files:
            stat = os.stat(os.path.join(root, name))
            entries.append(
                (os.path.relpath(os.path.join(root, name), folder), stat.st_size, stat.st_mtime_ns)
            )
    return tuple(sorted(entries))


def least_certain_pair(rewards: list[float]) -> float:
    """min over pairs of |P(i ≻ j) − 0.5| (0 = a coin flip)."""
    return min(
        abs(float(preference_probability(rewards[i] - rewards[j])) - 0.5)
        for i in range(len(rewards))
        for j in range(i + 1, len(rewards))
    )


def uncertainty_order(store: Store, scorer) -> dict[int, int]:
    """Item id → rank (0 = least certain) over the items without a known answer."""
    with store.transaction() as session:
        items = list(session.scalars(select(Item).where(Item.gold.is_(None)).order_by(Item.id)))
    prompts, responses, spans = [], [], []
    for item in items:
        start = len(responses)
        prompts += [item.prompt] * len(item.responses)
        responses += list(item.responses)
        spans.append((start, len(responses)))
    if not items:
        return {}
    rewards = scorer.score(prompts, responses).rewards.tolist()
    closeness = [least_certain_pair(rewards[a:b]) for a, b in spans]
    ranked = sorted(range(len(items)), key=lambda n: (closeness[n], items[n].id))
    return {items[n].id: rank for rank, n in enumerate(ranked)}


class UncertaintyQueue:
    """The current uncertainty order, recomputed when the model folder or the items change."""

    def __init__(self, store: Store, model_dir: str | Path, load_kwargs: dict | None = None):
        self.store = store
        self.model_dir = Path(model_dir)
        self.load_kwargs = dict(load_kwargs or {})
        self.lock = threading.Lock()
        self.signature: tuple | None = None
        self.order: dict[int, int] = {}
        self.checked_at = 0.0
        self.refreshes = 0

    def current_signature(self) -> tuple:
        with self.store.transaction() as session:
            n_items = session.scalar(select(func.count()).select_from(Item))
        return (folder_signature(self.model_dir), n_items)

    def refresh(self) -> None:
        """Reload the model and rescore every item (blocks callers of :meth:`priority`)."""
        from rewardkit.model.loading import load_reward_model

        signature = self.current_signature()
        scorer = load_reward_model(self.model_dir, **self.load_kwargs)
        self.order = uncertainty_order(self.store, scorer)
        self.signature = signature
        self.refreshes += 1

    def priority(self) -> dict[int, int]:
        with self.lock:
            now = time.monotonic()
            if self.signature is None or now - self.checked_at >= CHECK_EVERY_S:
                self.checked_at = now
                if self.current_signature() != self.signature:
                    self.refresh()
            return self.order
