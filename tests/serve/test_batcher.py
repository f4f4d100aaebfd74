"""MicroBatcher on a fake model: the token budget, the wait, batching off, errors, draining."""

import asyncio
import threading
import time

import numpy as np
import pytest

from rewardkit.model.scores import Scores
from rewardkit.serve.batcher import BatcherClosed, MicroBatcher

POISON = 666  # a token id RecordingModel(poison=True) cannot score


class RecordingModel:
    """reward = sum of ids; records every call's sequences and batch size. ``fail``: every
    call raises; ``poison``: a call raises when one of its texts holds the id POISON."""

    def __init__(self, delay: float = 0.0, fail: bool = False, poison: bool = False):
        self.calls: list[tuple[list[list[int]], int]] = []
        self.delay, self.fail, self.poison = delay, fail, poison
        self.busy = threading.Event()

    def __call__(self, sequences, *, batch_size):
        self.busy.set()
        time.sleep(self.delay)
        self.calls.append((sequences, batch_size))
        if self.fail or (self.poison and any(POISON in s for s in sequences)):
            raise RuntimeError("model exploded")
        rewards = np.array([float(sum(s)) for s in sequences])
        return Scores(rewards, rewards[None, :])


def run_jobs(batcher, jobs, gap_s=0.0):
    async def main():
        tasks = []
        for job in jobs:
            tasks.append(asyncio.ensure_future(batcher.score(job)))
            await asyncio.sleep(gap_s)
        return await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.run(main())


def test_jobs_share_a_batch_and_get_their_own_slice():
    """Three jobs sent 1 ms apart inside a 200 ms wait: one forward, each job its rewards."""
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=1000, max_wait_ms=200).start()
    results = run_jobs(batcher, [[[1, 2]], [[3, 3], [4, 5]], [[6, 0]]], gap_s=0.001)
    batcher.close()
    assert len(model.calls) == 1 and batcher.stats.batches == 1 and batcher.stats.jobs == 3
    assert [r.rewards.tolist() for r in results] == [[3.0], [6.0, 9.0], [6.0]]


def test_features_follow_their_texts_across_forward_passes():
    """A score function that keeps features (the trust signals need them): feature row =
    (first id, length). Jobs of mixed lengths are cut into several passes (min_fill), and each
    job still gets its own texts' rows, in its order."""

    def with_features(sequences, *, batch_size):
        rewards = np.array([float(sum(s)) for s in sequences])
        features = np.array([[s[0], len(s)] for s in sequences], dtype=np.float32)
        return Scores(rewards, rewards[None, :], features)

    batcher = MicroBatcher(with_features, max_batch_tokens=1000, max_wait_ms=200).start()
    jobs = [[[1] * 9, [2]], [[3, 3], [4] * 8], [[5]]]
    results = run_jobs(batcher, jobs, gap_s=0.001)
    batcher.close()
    assert batcher.stats.forwards > 1 and batcher.stats.batches == 1
    for job, result in zip(jobs, results):
        assert result.features.tolist() == [[s[0], len(s)] for s in job]


def test_forward_groups_bound_padding_and_tokens():
    """Lengths sorted: 2, 3, 4, 8, 9. min_fill 0.75: [2, 3, 4] fills 9 of 3 × 4 = 12 (75%);
    adding 8 would fill 17 of 32; [8, 9] fills 17 of 18. A 20-token budget splits [8, 9]
    (2 × 9 = 18 fits) but not more."""
    from rewardkit.serve.batcher import forward_groups

    lengths = [8, 2, 9, 4, 3]
    assert forward_groups(lengths, 1000, 0.75) == [[1, 4, 3], [0, 2]]
    assert forward_groups(lengths, 8, 0.75) == [[1, 4], [3], [0], [2]]
    assert forward_groups(lengths, 1000, 0.0) == [[1, 4, 3, 0, 2]]


def test_mixed_lengths_are_scored_in_input_order():
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=1000, max_wait_ms=100).start()
    results = run_jobs(batcher, [[[1] * 9, [2]], [[3] * 2], [[1] * 40]])
    batcher.close()
    assert [r.rewards.tolist() for r in results] == [[9.0, 2.0], [6.0], [40.0]]
    assert len(model.calls) > 1  # the 40-token text is not padded onto the short ones


def test_token_budget_splits_batches():
    """Budget 8 padded tokens, jobs of one 4-token text: at most 2 per forward (2 × 4 = 8)."""
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=8, max_wait_ms=100).start()
    results = run_jobs(batcher, [[[1, 1, 1, 1]]] * 5)
    batcher.close()
    assert [r.rewards.tolist() for r in results] == [[4.0]] * 5
    sizes = [len(seqs) for seqs, _ in model.calls]
    assert sum(sizes) == 5 and max(sizes) <= 2
    assert all(4 * len(seqs) <= 8 for seqs, _ in model.calls)


def test_one_job_over_budget_runs_in_chunks():
    """A single request bigger than the budget still runs, in forwards of budget // longest."""
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=10, max_wait_ms=0).start()
    (result,) = run_jobs(batcher, [[[1] * 5] * 7])
    batcher.close()
    assert result.rewards.tolist() == [5.0] * 7
    assert model.calls[0][1] == 2  # rows per forward = 10 // 5


def test_batching_off_scores_each_job_alone():
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=1000, max_wait_ms=200, enabled=False).start()
    run_jobs(batcher, [[[1]], [[2]], [[3]]])
    batcher.close()
    assert [len(seqs) for seqs, _ in model.calls] == [1, 1, 1]


def test_lone_job_does_not_wait_longer_than_max_wait():
    """A lone job is scored after about max_wait (50 ms), not held for others."""
    model = RecordingModel()
    batcher = MicroBatcher(model, max_batch_tokens=1000, max_wait_ms=50).start()
    started = time.perf_counter()
    run_jobs(batcher, [[[1]]])
    elapsed = time.perf_counter() - started
    batcher.close()
    assert 0.04 <= elapsed < 1.0


def test_a_failing_job_fails_alone():
    """Three jobs gathered in one batch, the second holding a text the model cannot score:
    the shared forward fails, each job is then scored on its own, and only the second gets
    the error; the others get their rewards."""
    model = RecordingModel(poison=True)
    batcher = MicroBatcher(model, max_batch_tokens=1000, max_wait_ms=200, min_fill=0).start()
    results = run_jobs(batcher, [[[1]], [[2], [POISON]], [[3, 4]]], gap_s=0.001)
    batcher.close()
    assert results[0].rewards.tolist() == [1.0] and results[2].rewards.tolist() == [7.0]
    assert isinstance(results[1], RuntimeError) and "exploded" in str(results[1])
    assert [len(seqs) for seqs, _ in model.calls] == [4, 1, 2, 1]  # shared, then each alone
    assert batcher.stats.jobs == 2 and batcher.stats.texts == 2


def test_model_error_reaches_every_job_that_fails_alone():
    model = RecordingModel(fail=True)
    batcher = MicroBatcher(model, max_wait_ms=100).start()
    results = run_jobs(batcher, [[[1]], [[2]]])
    batcher.close()
    assert all(isinstance(r, RuntimeError) and "exploded" in str(r) for r in results)
    assert len(model.calls) == 3  # the shared forward, then each job's own


def test_the_worker_keeps_serving_after_a_failure():
    batcher = MicroBatcher(RecordingModel(poison=True), max_wait_ms=0).start()
    first, second = run_jobs(batcher, [[[POISON]], [[5]]])
    batcher.close()
    assert isinstance(first, RuntimeError) and second.rewards.tolist() == [5.0]


def test_score_starts_the_worker_when_nobody_did():
    """An app run without its lifespan (a bare TestClient) must not hang on its first request."""
    batcher = MicroBatcher(RecordingModel(), max_wait_ms=0)
    (result,) = run_jobs(batcher, [[[2, 3]]])
    batcher.close()
    assert result.rewards.tolist() == [5.0]


def test_close_finishes_queued_jobs_then_refuses_new_ones():
    """Jobs queued while the model is busy are all scored before close() returns."""
    model = RecordingModel(delay=0.05)
    batcher = MicroBatcher(model, max_batch_tokens=1, max_wait_ms=0).start()

    async def main():
        tasks = [asyncio.ensure_future(batcher.score([[i]])) for i in range(1, 6)]
        await asyncio.sleep(0.01)
        closer = asyncio.get_running_loop().run_in_executor(None, batcher.close, 10)
        results = await asyncio.gather(*tasks)
        assert await closer is True
        with pytest.raises(BatcherClosed):
            await batcher.score([[9]])
        return results

    results = asyncio.run(main())
    assert [r.rewards.tolist() for r in results] == [[1.0], [2.0], [3.0], [4.0], [5.0]]
    assert len(model.calls) == 5  # budget 1: one text per forward
