"""Files on disk, written so that a reader never sees half of one: atomic writers, file
hashes and rewardkit's cache folder.

=======================  ==================================================================
call                     what
=======================  ==================================================================
``atomic_write``         a temporary file beside the target, flushed and fsynced, then
                         ``os.replace``-d into place; removed again if anything fails
``write_json_atomic``    one JSON document (numpy scalars and arrays become numbers/lists)
``write_jsonl_atomic``   one JSON object per line; ``.gz`` targets are gzip-compressed
``atomic_directory``     a folder filled under a temporary name, then renamed into place
``sha256_file``          the hex sha256 of a file's bytes, read in 4 MiB blocks
``sha256_tree``          one sha256 over the files under a folder matching a pattern
``cache_dir``            ``$REWARDKIT_CACHE`` (default ``~/.cache/rewardkit``), or a sub-folder
=======================  ==================================================================
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

BLOCK = 1 << 22  # bytes read at a time when hashing


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` (``mode`` "w" for text in UTF-8, "wb" for bytes);
    on a clean exit it is fsynced and replaces ``path``, on an error it is removed and
    ``path`` is left as it was. Missing parent folders are created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def jsonable(value: Any) -> Any:
    """``json.dump``'s ``default``: numpy scalars → numbers, arrays → lists."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> None:
    """Write ``payload`` as indented JSON (UTF-8, non-ASCII kept) with :func:`atomic_write`."""
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=2, ensure_ascii=False, default=jsonable)
        handle.write("\n")


def write_jsonl_atomic(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line with :func:`atomic_write` (gzip when ``path`` ends in
    ``.gz``); returns the number of rows."""
    count = 0
    with atomic_write(path, "wb") as raw:
        gz = str(path).endswith(".gz")
        stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if gz else raw
        for row in rows:
            line = json.dumps(row, ensure_ascii=False, default=jsonable)
            stream.write(line.encode("utf-8") + b"\n")
            count += 1
        if stream is not raw:
            stream.close()
    return count


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on a clean exit it is renamed to ``path``
    (an existing ``path`` is removed first when ``replace``, else the new one is discarded:
    another process made it first). On an error the temporary folder is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield tmp
        if replace and target.exists():
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if replace:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hash_file_into(digest, path: str | os.PathLike[str]) -> None:
    """Feed the bytes of ``path`` to ``digest`` (any ``hashlib`` object), block by block."""
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of the file's bytes."""
    digest = hashlib.sha256()
    hash_file_into(digest, path)
    return digest.hexdigest()


def sha256_tree(root: str | os.PathLike[str], pattern: str) -> str | None:
    """One sha256 over the files under ``root`` matching ``pattern`` (recursively): for each,
    in sorted order, its relative path, a NUL byte, then its bytes. None when ``root`` is not
    a folder or nothing matches."""
    root = Path(root)
    if not root.is_dir():
        return None
    files = sorted(root.rglob(pattern))
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(root)).encode("utf-8") + b"\0")
        hash_file_into(digest, file)
    return digest.hexdigest()


def cache_dir(*parts: str) -> Path:
    """``$REWARDKIT_CACHE`` (default ``~/.cache/rewardkit``), joined with ``parts``."""
    root = os.environ.get("REWARDKIT_CACHE") or Path.home() / ".cache" / "rewardkit"
    return Path(root).joinpath(*parts)
