"""Rich progress bars for long work (training, scoring, embedding).

Bars go to stderr and only when it is a terminal or ``RICH_FORCE_PROGRESS`` is set, so logs
and pipes stay clean.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def progress_enabled() -> bool:
    return bool(os.environ.get("RICH_FORCE_PROGRESS")) or sys.stderr.isatty()


class _NullBar:
    def update(self, advance: int = 0, **fields) -> None:
        pass


class _Bar:
    def __init__(self, progress: Progress, task):
        self._progress, self._task = progress, task

    def update(self, advance: int = 0, **fields) -> None:
        self._progress.update(self._task, advance=advance, **fields)


@contextmanager
def progress_bar(description: str, total: int, unit: str = "items", show: bool | None = None):
    """Yield an object with ``update(advance, **fields)``; fields fill ``{task.fields[...]}``
    columns: training shows ``loss`` and ``acc``, scoring shows ``rate`` (items/s)."""
    show = progress_enabled() if show is None else show
    if not show:
        yield _NullBar()
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total, status="")
        bar = _Bar(progress, task)

        class _Status:
            def update(self, advance: int = 0, **fields) -> None:
                status = "  ".join(
                    f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in fields.items()
                )
                bar.update(advance, status=status)

        yield _Status()
