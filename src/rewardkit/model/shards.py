"""Scoring under a launcher: each process takes whole batches of the one batch plan.

``accelerate launch`` and ``torchrun`` start N copies of the same command. Every copy reads
the same input and builds the same batch plan (:func:`rewardkit.model.collate.scoring_batches`
is a pure function of the lengths), takes batches ``rank, rank + N, …`` of it
(:func:`my_batches`), and :func:`gather_rows` hands every process everyone's rows through
``torch.distributed.all_gather_object``. A text is computed in the same batch, with the same
padding, as in a single-process run, so the numbers — and a file written from them — are the
same byte for byte. The contract is SPMD: inside a distributed run every process scores the
same sequences in the same order (all rewardkit commands do).

:func:`join_launched_processes` sets up the process group for commands without an
``Accelerator`` of their own (``score``, ``eval``); training's Accelerator does it itself.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def launched_processes() -> int:
    """How many processes the launcher started (``WORLD_SIZE``; 1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def join_launched_processes() -> None:
    """Under ``accelerate launch``/``torchrun`` (more than one process): join the process
    group through accelerate (gloo on CPU, NCCL on GPUs; one GPU per local rank)."""
    if launched_processes() > 1 and not _group_ready():
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())


def rank_and_count() -> tuple[int, int]:
    """``(this process's rank, processes)`` of the running process group; ``(0, 1)`` alone."""
    if _group_ready():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return rank_and_count()[0] == 0


def my_batches(batches: list) -> list:
    """This process's share of the batch plan: whole batches, every N-th from its rank."""
    rank, count = rank_and_count()
    return batches[rank::count]


def gather_rows(rows: np.ndarray, *arrays: np.ndarray | None) -> None:
    """Fill every process's ``arrays`` (indexed by row) with the rows the others computed;
    ``rows`` are this process's. Nothing to do alone."""
    _, count = rank_and_count()
    if count == 1:
        return
    mine = (rows, [None if a is None else a[rows] for a in arrays])
    everyone: list = [None] * count
    torch.distributed.all_gather_object(everyone, mine)
    for their_rows, their_values in everyone:
        for array, values in zip(arrays, their_values):
            if array is not None:
                array[their_rows] = values


def _group_ready() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()
