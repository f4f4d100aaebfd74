"""Write records as JSON lines, atomically (a reader never sees half a file).

``pairs_to_jsonl`` writes rewardkit's explicit format (``PreferencePair.to_json()``), which
``read_pairs`` reads back to equal pairs. A path ending in ``.gz`` is gzip-compressed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from rewardkit.data.records import PreferencePair
from rewardkit.files import write_jsonl_atomic


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """One JSON object per line, written to a temporary file beside ``path`` and then
    ``os.replace``-d into place (:func:`rewardkit.files.write_jsonl_atomic`). Creates missing
    parent folders. Returns the row count."""
    return write_jsonl_atomic(path, rows)


def pairs_to_jsonl(path: str | os.PathLike[str], pairs: Iterable[PreferencePair]) -> int:
    """Write pairs in the explicit format; returns how many were written."""
    return write_jsonl(path, (pair.to_json() for pair in pairs))
