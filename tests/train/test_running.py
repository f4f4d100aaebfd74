"""RunningStats: the loop's loss and accuracy, read from the device only at a flush."""

import math

import pytest
import torch

from rewardkit.train.running import RunningStats


def _add(stats, step, loss, r_c, r_r, tie):
    stats.add(
        step, torch.tensor(loss), len(r_c), torch.tensor(r_c), torch.tensor(r_r), torch.tensor(tie)
    )


def test_flush_folds_in_weighted_loss_and_untied_accuracy():
    stats = RunningStats(sync_every=2)
    _add(stats, 1, 0.5, [1.0, 0.0], [0.0, 1.0], [False, False])  # 1 of 2 right
    _add(stats, 2, 2.0, [3.0, 1.0, 0.0, 5.0], [1.0, 0.0, 1.0, 5.0], [False, False, False, True])
    assert stats.loss_n == 0 and stats.judged == 0  # nothing read before the flush
    assert not stats.due(1) and stats.due(2) and not stats.eager
    stats.flush(pytest.fail)
    assert stats.loss == pytest.approx((0.5 * 2 + 2.0 * 4) / 6)
    assert (stats.correct, stats.judged) == (3, 5)  # the tied pair is not judged
    stats.reset_loss()
    assert stats.loss_n == 0 and stats.accuracy == pytest.approx(3 / 5)


def test_first_non_finite_loss_is_reported_with_its_step():
    stats = RunningStats(sync_every=10)
    seen = []
    _add(stats, 4, 0.7, [1.0], [0.0], [False])
    _add(stats, 5, float("nan"), [1.0], [0.0], [False])
    _add(stats, 6, float("inf"), [1.0], [0.0], [False])

    def stop(loss, step):
        seen.append((loss, step))
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError):
        stats.flush(stop)
    assert len(seen) == 1 and math.isnan(seen[0][0]) and seen[0][1] == 5


def test_cpu_reads_every_micro_batch_and_cuda_every_n_steps():
    assert RunningStats.for_device(torch.device("cpu")).eager
    cuda = RunningStats.for_device(torch.device("cuda"), sync_every=20)
    assert not cuda.eager and cuda.due(40) and not cuda.due(41)
