"""Dynamic micro-batching: texts of concurrent requests share one forward pass.

OpenRLHF's ``serve_rm`` scores each HTTP request on its own; under PPO/GRPO load many small
requests arrive at once (OpenRLHF's agent sends one sample per request), and a forward pass
over 32 texts costs far less than 32 passes over one. Here:

* request handlers (asyncio) put a *job* — the token ids of one request — on a queue and
  await a future;
* one worker thread owns the model (torch forwards are not run concurrently) and gathers jobs
  until the padded batch would exceed ``max_batch_tokens`` (rows × longest text) or the first
  job has waited ``max_wait_ms``; jobs already queued join without waiting;
* it sorts their texts by length, cuts them into forward passes within the token budget and
  with little padding (:func:`forward_groups`), scores each with ``score_ids`` (right-padded:
  a text's reward does not depend on its batch, to 1e-5 in fp32) and resolves each job's
  future with its slice (rewards, the members' rewards, and the head-input features when the
  score function keeps them, for the trust signals);
* when a shared forward fails, it scores each job of the batch on its own, so the error
  reaches only the requests whose texts cause it (isolation costs nothing until something
  fails).

With batching off, each job is scored alone (the anchor of ``bench/serve_load.py``).
:meth:`MicroBatcher.close` stops taking jobs and finishes every queued one before returning,
so requests in flight complete on shutdown.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rewardkit.model.scores import Scores

ScoreFn = Callable[[list[list[int]]], Scores]  # called as fn(sequences, batch_size=...)


class BatcherClosed(RuntimeError):
    """A job was submitted after :meth:`MicroBatcher.close`."""


@dataclass
class _Job:
    sequences: list[list[int]]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    enqueued: float
    longest: int = field(init=False)

    def __post_init__(self):
        self.longest = max((len(s) for s in self.sequences), default=0)


@dataclass
class BatcherStats:
    """Counters for ``/info`` and the tests: gathered batches, forward passes, requests (jobs)
    and texts scored."""

    batches: int = 0
    forwards: int = 0
    jobs: int = 0
    texts: int = 0
    largest_batch_jobs: int = 0


_STOP = object()


class MicroBatcher:
    """Score token-id sequences of many requests in shared forward passes.

    Args:
        score_fn: ``score_fn(sequences, batch_size=B) -> Scores`` (raw rewards in input order;
            its ``features``, when it keeps them, are passed on too).
        max_batch_tokens: bound on rows × longest text of one forward pass.
        max_wait_ms: how long the first job of a batch waits for others.
        enabled: False scores every job alone.
        min_fill: least share of real (not padding) tokens in one forward pass.
    """

    def __init__(
        self,
        score_fn: ScoreFn,
        *,
        max_batch_tokens: int = 8192,
        max_wait_ms: float = 5.0,
        enabled: bool = True,
        min_fill: float = 0.75,
    ):
        self.score_fn = score_fn
        self.min_fill = float(min_fill)
        self.max_batch_tokens = int(max_batch_tokens)
        self.max_wait = max(float(max_wait_ms), 0.0) / 1000.0
        self.enabled = enabled
        self.stats = BatcherStats()
        self._queue: queue.Queue = queue.Queue()
        self._carry: _Job | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rewardkit-batcher", daemon=True)
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "MicroBatcher":
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs, finish the queued ones, stop the worker. True if it stopped."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        if self._started:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # ------------------------------------------------------------------ submitting
    async def score(self, sequences: list[list[int]]) -> Scores:
        """Scores of ``sequences`` once the worker has run them (in the caller's order)."""
        if not sequences:
            return Scores(np.zeros(0), np.zeros((1, 0)))
        loop = asyncio.get_running_loop()
        job = _Job(sequences, loop.create_future(), loop, time.monotonic())
        with self._lock:
            if self._closed:
                raise BatcherClosed("the server is shutting down")
            self.start()  # an app run without its lifespan (a bare TestClient) still answers
            self._queue.put(job)
        return await job.future

    # ------------------------------------------------------------------ worker
    def _run(self) -> None:
        # close() puts _STOP last (no job can follow it), so taking _STOP means every job
        # queued before it has been scored.
        while True:
            if self._carry is not None:
                first, self._carry = self._carry, None
            else:
                first = self._queue.get()
            if first is _STOP:
                return
            self._execute(self._gather(first))

    def _gather(self, first: _Job) -> list[_Job]:
        """``first`` plus the jobs that arrive before its deadline and fit the token budget;
        a job that does not fit (or the stop mark) is carried to the next round."""
        batch, longest, rows = [first], first.longest, len(first.sequences)
        if not self.enabled:
            return batch
        deadline = first.enqueued + self.max_wait
        while True:
            wait = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                return batch
            if job is _STOP:
                self._carry = job
                return batch
            new_longest = max(longest, job.longest)
            if new_longest * (rows + len(job.sequences)) > self.max_batch_tokens:
                self._carry = job
                return batch
            batch.append(job)
            longest, rows = new_longest, rows + len(job.sequences)

    def _execute(self, batch: list[_Job]) -> None:
        """Score a gathered batch and resolve each job's future. When the shared forward
        fails, each job is scored on its own and only the jobs that fail again get the error:
        one request's bad text never fails the requests it was batched with."""
        try:
            results = self._score_jobs(batch)
        except BaseException as exc:
            if len(batch) > 1:
                for job in batch:
                    self._execute([job])
                return
            _deliver(batch[0], _set_exception, exc)
            return
        self.stats.batches += 1
        self.stats.jobs += len(batch)
        self.stats.texts += sum(len(job.sequences) for job in batch)
        self.stats.largest_batch_jobs = max(self.stats.largest_batch_jobs, len(batch))
        for job, result in zip(batch, results):
            _deliver(job, _set_result, result)

    def _score_jobs(self, batch: list[_Job]) -> list[Scores]:
        """Each job's scores, from forward passes over all of the batch's texts."""
        sequences = [seq for job in batch for seq in job.sequences]
        rewards = np.zeros(len(sequences))
        members = features = None  # (K, N), (N, H) once the first forward pass says K, H
        for group in forward_groups(
            [len(s) for s in sequences], self.max_batch_tokens, self.min_fill
        ):
            scores = self.score_fn([sequences[i] for i in group], batch_size=len(group))
            rewards[group] = scores.rewards
            if members is None:
                members = np.zeros((scores.members.shape[0], len(sequences)))
            members[:, group] = scores.members
            if scores.features is not None:
                if features is None:
                    features = np.zeros((len(sequences), scores.features.shape[1]), np.float32)
                features[group] = scores.features
            self.stats.forwards += 1
        combined, results, start = Scores(rewards, members, features), [], 0
        for job in batch:
            results.append(combined.rows(start, start + len(job.sequences)))
            start += len(job.sequences)
        return results


def forward_groups(lengths: list[int], max_tokens: int, min_fill: float) -> list[list[int]]:
    """Indices of texts grouped into forward passes.

    Texts are sorted by length and cut into consecutive runs whose padded size (rows × longest)
    stays within ``max_tokens`` and whose real tokens fill at least ``min_fill`` of it: a long
    text is not padded onto many short ones (on a CPU that costs more than it saves)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    group: list[int] = []
    real = 0
    for i in order:
        rows, longest = len(group) + 1, max(lengths[i], 1)  # sorted: i is the longest
        if group and (rows * longest > max_tokens or real + lengths[i] < min_fill * rows * longest):
            groups.append(group)
            group, real = [], 0
        group.append(i)
        real += lengths[i]
    if group:
        groups.append(group)
    return groups


def _deliver(job: _Job, setter, value) -> None:
    """Hand ``value`` to the job's future on its event loop (from the worker thread)."""
    try:
        job.loop.call_soon_threadsafe(setter, job.future, value)
    except RuntimeError:  # that loop is closed: nobody waits for this job any more
        pass


def _set_result(future: asyncio.Future, value) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
