"""Dynamic padding: right padding keeps positions; left padding gives position ids that count
real tokens only."""

import torch

from rewardkit.model.collate import pad_left, pad_right


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
