"""``--queue uncertainty``: serve first the items the reward model is least sure of.

For a single model the uncertainty of a pair is how close P(a ≻ b) = σ(r_a − r_b)
(Bradley & Terry 1952; :func:`rewardkit.bradley_terry.preference_probability`) is to 0.5;
an item with K > 2 responses counts its least certain pair. For an ensemble the same rule
is applied to the members' mean reward (the model's own aggregate). Rewards come from
rewardkit's one scorer (:func:`rewardkit.model.loading.load_reward_model`), each response
scored once.

Scoring stays out of the page requests: :meth:`UncertaintyQueue.update` scores every item
once at start, then, from a background thread every ``CHECK_EVERY_S``, only the items added
since (items are never changed once imported), and everything again with a reloaded model
when the model folder changes (a file's name, size or modification time: a retrained model
written in place). A page reads the order the last update left.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from sqlalchemy import select

from rewardkit.annotate.schema import Item
from rewardkit.annotate.store import Store
from rewardkit.bradley_terry import preference_probability

CHECK_EVERY_S = 2.0  # how often the background thread looks at the model folder and the items

log = logging.getLogger("rewardkit.annotate")


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


def item_closeness(items: list[Item], scorer) -> dict[int, float]:
    """Item id → its least certain pair's |P − 0.5|, every response scored in one call."""
    prompts, responses, spans = [], [], []
    for item in items:
        start = len(responses)
        prompts += [item.prompt] * len(item.responses)
        responses += list(item.responses)
        spans.append((start, len(responses)))
    if not items:
        return {}
    rewards = scorer.score(prompts, responses).rewards.tolist()
    return {item.id: least_certain_pair(rewards[a:b]) for item, (a, b) in zip(items, spans)}


def uncertainty_ranks(closeness: dict[int, float]) -> dict[int, int]:
    """Item id → rank (0 = least certain; ties by item id)."""
    ranked = sorted(closeness, key=lambda item_id: (closeness[item_id], item_id))
    return {item_id: rank for rank, item_id in enumerate(ranked)}


class UncertaintyQueue:
    """The uncertainty order of the items without a known answer, kept current off the
    request path (:meth:`start`); :meth:`priority` only reads it."""

    def __init__(self, store: Store, model_dir: str | Path, load_kwargs: dict | None = None):
        self.store = store
        self.model_dir = Path(model_dir)
        self.load_kwargs = dict(load_kwargs or {})
        self.lock = threading.Lock()  # one update at a time
        self.scorer = None
        self.model_signature: tuple | None = None
        self.closeness: dict[int, float] = {}  # item id → |P − 0.5| under the loaded model
        self.seen_up_to = 0  # the highest item id looked at under the loaded model
        self.order: dict[int, int] = {}
        self.loads = 0  # model loads (the first, then one per change of its folder)
        self.scored_items = 0  # items scored, over all updates
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self) -> None:
        """Reload the model and forget every score when its folder changed; score the items
        added since the last update; publish the new order."""
        from rewardkit.model.loading import load_reward_model

        with self.lock:
            signature = folder_signature(self.model_dir)
            if signature != self.model_signature:
                self.scorer = load_reward_model(self.model_dir, **self.load_kwargs)
                self.model_signature, self.closeness, self.seen_up_to = signature, {}, 0
                self.loads += 1
            with self.store.reading() as session:
                added = list(
                    session.scalars(select(Item).where(Item.id > self.seen_up_to).order_by(Item.id))
                )
            if not added:
                return
            unanswered = [item for item in added if item.gold is None]
            self.closeness.update(item_closeness(unanswered, self.scorer))
            self.seen_up_to = added[-1].id
            self.scored_items += len(unanswered)
            self.order = uncertainty_ranks(self.closeness)  # one assignment: readers see either

    def priority(self) -> dict[int, int]:
        """Item id → rank (0 first), as the last update left it (no scoring here)."""
        return self.order

    def start(self, every_s: float | None = None) -> None:
        """Update now (every item scored before the first page), then every ``every_s``
        (default ``CHECK_EVERY_S``) in a daemon thread until :meth:`stop`."""
        self.update()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._keep_updating,
            args=(CHECK_EVERY_S if every_s is None else every_s,),
            daemon=True,
            name="rewardkit-uncertainty-queue",
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _keep_updating(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.update()
            except Exception as exc:  # a model caught mid-write: keep the last order, retry
                log.warning("--queue uncertainty: the order was not updated (%s)", exc)
