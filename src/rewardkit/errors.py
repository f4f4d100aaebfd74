"""User-facing errors: one clear line (what, where, how to fix), never a traceback.

The CLI catches :class:`UserError` and prints ``str(err)`` to stderr with exit code 2.
Anything else that escapes is a bug in rewardkit and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or flags, reported as one line.

    Args:
        message: what is wrong and how to fix it.
        where: ``file:line`` (or just ``file``) the problem was found at, if any.
        field: the record field involved, if any.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None):
        self.message = message
        self.where = where
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = []
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(f"field '{self.field}'")
        prefix = ": ".join(parts)
        text = f"{prefix}: {self.message}" if prefix else self.message
        return " ".join(text.split("\n"))


class BadRecordError(UserError):
    """A record in a data file that cannot be used (missing field, broken JSON, ...)."""


class TrainingDivergedError(UserError):
    """The loss became NaN or inf; the last good checkpoint is kept."""

    exit_code = 3
