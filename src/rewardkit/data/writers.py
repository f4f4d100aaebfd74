"""Write records as JSON lines, atomically (a reader never sees half a file).

``pairs_to_jsonl`` writes rewardkit's explicit format (``PreferencePair.to_json()``), which
``read_pairs`` reads back to equal pairs. A path ending in ``.gz`` is gzip-compressed.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rewardkit.data.records import PreferencePair


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line to a temporary file beside ``path``, then
    ``os.replace`` it into place. Creates missing parent folders. Returns the row count."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "wb") as raw:
            gz = target.suffix == ".gz"
            stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if gz else raw
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
                count += 1
            if stream is not raw:
                stream.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return count


def pairs_to_jsonl(path: str | os.PathLike[str], pairs: Iterable[PreferencePair]) -> int:
    """Write pairs in the explicit format; returns how many were written."""
    return write_jsonl(path, (pair.to_json() for pair in pairs))
