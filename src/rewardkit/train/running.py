"""The training loop's running loss and accuracy, kept on the device until they are read.

Reading a CUDA scalar (``float(loss)``, ``.cpu()``, ``if torch.isfinite(loss)``) makes the
host wait for the GPU to drain its queue, so a loop that reads after every micro-batch runs
the host and the GPU one after the other instead of side by side. Here each micro-batch only
appends its detached loss and correct/judged counts; :meth:`RunningStats.flush` reads them all
in one transfer — after every micro-batch on CPU (where reading costs nothing, and divergence
is caught before the backward), every ``sync_every`` steps on CUDA and always before an
evaluation, a checkpoint or the end. A non-finite loss raises at the flush that first sees it,
naming its step; no checkpoint is written from a step after it.

Under a launcher each process holds its own share of a step; ``reduce`` (the engine's sum
over processes) turns the flushed numbers into the whole global batch's, so every process
logs the loss and accuracy a single process with the global batch would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch


@dataclass
class RunningStats:
    sync_every: int = 1  # optimizer steps between flushes (1 = every micro-batch)
    loss_sum: float = 0.0
    loss_n: int = 0
    correct: int = 0
    judged: int = 0
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None  # sum over processes
    _pending: list = field(default_factory=list)  # (step, loss, rows, correct, judged)

    @classmethod
    def for_device(cls, device: torch.device, sync_every: int = 20) -> "RunningStats":
        return cls(sync_every=sync_every if device.type == "cuda" else 1)

    @property
    def eager(self) -> bool:
        """Flush after every micro-batch (before its backward)."""
        return self.sync_every <= 1

    def add(
        self,
        step: int,
        loss: torch.Tensor,
        rows: int,
        r_chosen: torch.Tensor,
        r_rejected: torch.Tensor,
        tie: torch.Tensor,
    ) -> None:
        """Record one micro-batch of optimizer step ``step`` (1-based), without a host sync;
        ``rows`` 0 counts nothing (a process whose share of the batch was empty)."""
        untied = ~tie if rows else torch.zeros_like(tie)
        self._pending.append(
            (
                step,
                loss.detach().float(),
                rows,
                ((r_chosen > r_rejected) & untied).sum(),
                untied.sum(),
            )
        )

    def flush(self, on_nonfinite) -> None:
        """Fold the pending micro-batches in (one device→host copy). ``on_nonfinite(loss,
        step)`` is called for the first non-finite loss (it is expected to raise)."""
        if not self._pending:
            return
        table = torch.stack(
            [
                torch.stack(
                    (loss.double() * rows, loss.new_tensor(rows).double(), c.double(), j.double())
                )
                for _, loss, rows, c, j in self._pending
            ]
        )  # per micro-batch: loss × rows, rows, correct, judged
        if self.reduce is not None:
            table = self.reduce(table)
        for (step, *_), (weighted, rows, correct, judged) in zip(
            self._pending, table.cpu().tolist()
        ):
            loss = weighted / max(rows, 1)
            if not torch.isfinite(torch.tensor(loss)):
                self._pending = []
                on_nonfinite(loss, step)
            self.loss_sum += weighted
            self.loss_n += int(rows)
            self.correct += int(correct)
            self.judged += int(judged)
        self._pending = []

    def due(self, step: int) -> bool:
        return self.eager or step % self.sync_every == 0

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.loss_n, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.judged, 1)

    def reset_loss(self) -> None:
        self.loss_sum, self.loss_n = 0.0, 0

    def reset_accuracy(self) -> None:
        self.correct, self.judged = 0, 0
