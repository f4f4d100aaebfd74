"""Length-grouped batches (deterministic, complete, little padding) and pair collation."""

import numpy as np
import torch

from rewardkit.model.encode import EncodedPair
from rewardkit.train.batching import collate_pairs, length_grouped_batches, pair_length


def padding(batches, lengths):
    """Pad tokens a batching costs: Σ over batches of (longest × size − Σ lengths)."""
    return sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in batches)


LENGTHS = np.random.default_rng(0).integers(1, 200, size=203)


def test_batches_are_deterministic_in_the_seed():
    first = length_grouped_batches(LENGTHS, 8, seed=3)
    again = length_grouped_batches(LENGTHS, 8, seed=3)
    other = length_grouped_batches(LENGTHS, 8, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again)) and len(first) == len(again)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_every_index_appears_exactly_once():
    """203 indices, batches of 8, mega-batches of 5·8 = 40: five full mega-batches give 5
    batches each, the last 3 indices one more → 26 batches (= ⌈203/8⌉ without grouping);
    sorted(concat) = 0..202 either way."""
    for grouped in (True, False):
        batches = length_grouped_batches(LENGTHS, 8, seed=0, group_by_length=grouped, mega_batch=5)
        assert len(batches) == 26
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(203))


def test_grouping_cuts_padding_far_below_random_batching():
    """Same seed, same batch size: grouped batches pad less than a quarter of random ones."""
    grouped = padding(length_grouped_batches(LENGTHS, 8, seed=0), LENGTHS)
    random = padding(length_grouped_batches(LENGTHS, 8, seed=0, group_by_length=False), LENGTHS)
    assert grouped < 0.25 * random


def test_similar_lengths_share_a_batch():
    """Lengths [1, 100, 2, 99] in batches of 2 → {1, 2} and {99, 100}, whatever the seed."""
    lengths = np.array([1, 100, 2, 99])
    for seed in range(5):
        batches = length_grouped_batches(lengths, 2, seed=seed)
        assert sorted(sorted(lengths[b].tolist()) for b in batches) == [[1, 2], [99, 100]]


def pair(chosen, rejected, margin=0.0, tie=False, weight=1.0):
    return EncodedPair(
        np.array(chosen, dtype=np.int32),
        np.array(rejected, dtype=np.int32),
        margin,
        tie,
        weight,
        index=0,
    )


def test_collate_puts_chosen_rows_first():
    """2 pairs (chosen lengths 3, 2; rejected 1, 4) → ids (4, 4): rows 0-1 chosen, 2-3
    rejected, right-padded with 0; margin, tie and weight per pair."""
    pairs = [pair([1, 2, 3], [4], margin=0.5, weight=0.25), pair([5, 6], [7, 8, 9, 10], tie=True)]
    assert [pair_length(p) for p in pairs] == [3, 4]
    batch = collate_pairs(pairs, pad_id=0)
    assert torch.equal(
        batch.input_ids, torch.tensor([[1, 2, 3, 0], [5, 6, 0, 0], [4, 0, 0, 0], [7, 8, 9, 10]])
    )
    assert torch.equal(batch.attention_mask, (batch.input_ids != 0).long())
    assert batch.n_pairs == 2
    assert batch.margin.tolist() == [0.5, 0.0] and batch.tie.tolist() == [False, True]
    assert batch.weight.tolist() == [0.25, 1.0]
    assert collate_pairs(pairs, pad_id=0, use_margin=False).margin.tolist() == [0.0, 0.0]
