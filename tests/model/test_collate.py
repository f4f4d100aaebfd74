"""Dynamic padding: right padding keeps positions; left padding gives position ids that count
real tokens only."""

import numpy as np
import pytest
import torch

from rewardkit.errors import UserError
from rewardkit.model.collate import pad_left, pad_right, scoring_batches


def test_pad_right_pads_to_the_longest_row():
    """[5, 6, 7] and [8] with pad 0 → ids [[5,6,7],[8,0,0]], mask [[1,1,1],[1,0,0]]."""
    ids, mask = pad_right([[5, 6, 7], [8]], pad_id=0)
    assert torch.equal(ids, torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert torch.equal(mask, torch.tensor([[1, 1, 1], [1, 0, 0]]))


def test_pad_right_rounds_length_up_to_a_multiple():
    """Longest row 3, multiple_of 4 → width 4."""
    ids, mask = pad_right([[5, 6, 7], [8]], pad_id=9, multiple_of=4)
    assert ids.shape == (2, 4) and ids[0, 3] == 9 and mask[0].tolist() == [1, 1, 1, 0]


def test_pad_left_counts_positions_over_real_tokens():
    """[5, 6, 7] and [8] left-padded with 0 → ids [[5,6,7],[0,0,8]], mask [[1,1,1],[0,0,1]],
    positions [[0,1,2],[0,0,0]] (the lone token keeps position 0)."""
    ids, mask, positions = pad_left([[5, 6, 7], [8]], pad_id=0)
    assert torch.equal(ids, torch.tensor([[5, 6, 7], [0, 0, 8]]))
    assert torch.equal(mask, torch.tensor([[1, 1, 1], [0, 0, 1]]))
    assert torch.equal(positions, torch.tensor([[0, 1, 2], [0, 0, 0]]))


CPU, CUDA = torch.device("cpu"), torch.device("cuda")  # planning only: nothing runs on CUDA


def test_scoring_batches_sort_by_length_and_keep_every_row_once():
    """Lengths [5, 1, 3, 1, 9] in batches of 2 → rows [1, 3], [2, 0], [4]: shortest first,
    ties in input order, every row exactly once."""
    batches = scoring_batches([5, 1, 3, 1, 9], 2, CPU)
    assert [b.tolist() for b in batches] == [[1, 3], [2, 0], [4]]


def test_scoring_batches_auto_is_32_texts_on_a_cpu():
    """70 texts, batch_size 0 on a CPU → 32 + 32 + 6."""
    assert [len(b) for b in scoring_batches([10] * 70, 0, CPU)] == [32, 32, 6]


def test_scoring_batches_auto_on_cuda_fills_a_token_budget():
    """On CUDA, auto fills 65,536 padded tokens: 2,000 texts of 100 tokens padded to 128 →
    512 per batch; 300 texts of 512 tokens → 128 per batch; tiny texts stop at 1,024."""
    assert [len(b) for b in scoring_batches([100] * 2000, 0, CUDA, 64)] == [512, 512, 512, 464]
    assert [len(b) for b in scoring_batches([512] * 300, 0, CUDA, 64)] == [128, 128, 44]
    assert [len(b) for b in scoring_batches([3] * 1500, 0, CUDA, 1)] == [1024, 476]


def test_scoring_batches_auto_on_cuda_counts_the_longest_row():
    """Sorted lengths 100 ×600 then 1,000 ×70 (pad 1): the batch that reaches the long rows
    stops where count × 1,000 would pass 65,536, and no batch passes the budget."""
    lengths = [100] * 600 + [1000] * 70
    batches = scoring_batches(lengths, 0, CUDA, 1)
    assert sorted(np.concatenate(batches).tolist()) == list(range(670))
    for rows in batches:
        assert len(rows) * max(lengths[i] for i in rows) <= 65_536
    assert len(batches) == 3 and len(batches[0]) == 600


def test_scoring_batches_reject_a_negative_size():
    with pytest.raises(UserError, match="--batch-size must be 0"):
        scoring_batches([1, 2], -1, CPU)
