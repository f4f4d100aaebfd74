"""Files on disk, written so that a reader never sees half of one: atomic writers, file
hashes and rewardkit's cache folder.

=======================  ==================================================================
call                     what
=======================  ==================================================================
``atomic_write``         a temporary file beside the target, flushed and fsynced, then
                         ``os.replace``-d into place; removed again if anything fails
``write_json_atomic``    one JSON document (numpy scalars and arrays become numbers/lists)
``write_jsonl_atomic``   one JSON object per line; ``.gz`` targets are gzip-compressed
``atomic_directory``     a folder filled under a temporary name, then put in place in one
                         step (swapped with an existing one; chosen entries of it kept)
``exchange_paths``       swap two folders atomically (Linux ``renameat2``, macOS
                         ``renamex_np``); False where the system cannot
``sha256_file``          the hex sha256 of a file's bytes, read in 4 MiB blocks
``sha256_tree``          one sha256 over the files under a folder matching a pattern
``cache_dir``            ``$REWARDKIT_CACHE`` (default ``~/.cache/rewardkit``), or a sub-folder
=======================  ==================================================================

Temporaries are named ``.NAME.PID-HOST.KIND….tmp`` beside their target ``NAME``: the writer's
process id and a hash of its host name. A writer killed mid-write (SIGKILL, power loss)
cannot remove its own; the next write to the same ``NAME`` removes those whose process is
gone (on this host), and never one of a live writer.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

BLOCK = 1 << 22  # bytes read at a time when hashing
TEMPORARY = re.compile(
    r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<host>[0-9a-f]{8})\.(?P<kind>[a-z]+)-[^.]*\.tmp$"
)


def host_tag() -> str:
    """8 hex digits naming this host in temporary names (process ids are per host)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def temporary_prefix(target: Path, kind: str = "write") -> str:
    """``.NAME.PID-HOST.KIND-``: the start of a temporary's name beside ``target`` (``mkstemp``
    and ``mkdtemp`` add random letters and ``.tmp``)."""
    return f".{target.name}.{os.getpid()}-{host_tag()}.{kind}-"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (True when that cannot be told)."""
    if pid == os.getpid() or os.name == "nt":  # os.kill(pid, 0) would end it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def stale_temporaries(target: str | os.PathLike[str]) -> list[tuple[Path, str, int]]:
    """``(path, kind, pid)`` of the temporaries beside ``target`` whose writer (on this host)
    is gone: left by a killed :func:`atomic_write` or :func:`atomic_directory`."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    host, found = host_tag(), []
    for entry in os.scandir(target.parent):
        match = TEMPORARY.match(entry.name)
        if match and match["name"] == target.name and match["host"] == host:
            pid = int(match["pid"])
            if not process_alive(pid):
                found.append((Path(entry.path), match["kind"], pid))
    return found


def remove_stale_temporaries(target: str | os.PathLike[str]) -> int:
    """Remove the temporaries of dead writers beside ``target``; returns how many.

    One case is finished instead: :func:`atomic_directory` on a file system without an atomic
    swap renames the old folder away (``old``), then the complete new one (``new``) into place;
    killed between the two, it leaves no ``target``, and its new folder is renamed into place
    (or, should it be missing, the old one back)."""
    target = Path(target)
    stale = stale_temporaries(target)
    if not os.path.lexists(target):
        for path, kind, pid in stale:
            if kind != "old":
                continue
            new = [p for p, k, q in stale if k == "new" and q == pid]
            os.rename(new[0] if new else path, target)
            stale = [entry for entry in stale if entry[0] != (new[0] if new else path)]
            break
    for path, _, _ in stale:
        _remove(path)
    return len(stale)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` (``mode`` "w" for text in UTF-8, "wb" for bytes);
    on a clean exit it is fsynced and replaces ``path``, on an error it is removed and
    ``path`` is left as it was. Missing parent folders are created; temporaries of killed
    earlier writers of ``path`` are removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=temporary_prefix(target), suffix=".tmp")
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
def atomic_directory(
    path: str | os.PathLike[str],
    *,
    replace: bool = True,
    keep: Callable[[str], bool] | None = None,
    commit_last: str | None = None,
) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on a clean exit it takes ``path``'s place in
    one step, so a reader (or a kill) sees the old folder or the complete new one, never a mix.

    An existing ``path`` is swapped out and removed when ``replace``; its entries for which
    ``keep(name)`` holds and that the new folder lacks are hard-linked in first (training logs
    kept beside a new model). Without ``replace`` the new folder is discarded when ``path``
    exists (another process made it first). On an error the temporary folder is removed and
    ``path`` is left as it was. A symlinked ``path`` keeps its link: the folder it points to is
    replaced.

    A folder that cannot be renamed (a mount point, as a container's output volume) is filled
    in place when ``commit_last`` names the entry that makes it usable (a model's
    ``config.json``): that entry is removed first and moved in last
    (:func:`commit_in_place`)."""
    target = Path(os.path.abspath(Path(path).resolve() if Path(path).is_symlink() else path))
    target.parent.mkdir(parents=True, exist_ok=True)
    in_place = bool(replace and commit_last and os.path.ismount(target))
    home = target if in_place else target.parent
    remove_stale_temporaries(target / target.name if in_place else target)
    tmp = Path(tempfile.mkdtemp(dir=home, prefix=temporary_prefix(target, "new"), suffix=".tmp"))
    try:
        yield tmp
        if not replace:  # first come, first kept: never swap out another process's folder
            with contextlib.suppress(OSError):
                os.rename(tmp, target)
            return
        if in_place:
            commit_in_place(tmp, target, keep, commit_last)
            return
        if keep is not None and target.is_dir():
            link_entries(target, tmp, keep)
        fsync_folder(tmp)
        try:
            put_in_place(tmp, target)
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.EXDEV) or not commit_last:
                raise
            commit_in_place(tmp, target, keep, commit_last)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def commit_in_place(new: Path, target: Path, keep: Callable[[str], bool] | None, last: str):
    """Replace ``target``'s entries with ``new``'s where ``target`` cannot be renamed: ``last``
    is removed first and moved in last, so until then the folder is not usable (a model folder
    without ``config.json`` is refused on load), and after that it is complete. Entries that
    ``keep`` names stay; other old ones go."""
    fsync_folder(new)
    with contextlib.suppress(FileNotFoundError):
        (target / last).unlink()
    fsync_path(target)
    written = {entry.name for entry in os.scandir(new)}
    for entry in os.scandir(target):
        if Path(entry.path) == new or TEMPORARY.match(entry.name):
            continue
        if entry.name not in written and (keep is None or not keep(entry.name)):
            _remove(Path(entry.path))
    for name in sorted(written - {last}) + ([last] if last in written else []):
        if keep is not None and keep(name) and os.path.lexists(target / name):
            continue  # kept (linked into ``new`` earlier): the original stays
        if (target / name).is_dir() and not (target / name).is_symlink():
            shutil.rmtree(target / name)
        move_over(new / name, target / name)
    fsync_path(target)


def move_over(source: Path, destination: Path) -> None:
    """``os.replace``, or, across file systems, a copy beside ``destination`` replaced in."""
    try:
        os.replace(source, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        parked = destination.parent / f"{temporary_prefix(destination, 'move')}x.tmp"
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, parked)
        os.replace(parked, destination)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def put_in_place(new: Path, target: Path) -> None:
    """Give the complete folder ``new`` the name ``target`` in one step: a rename when
    ``target`` does not exist, else an atomic swap (the old folder then sits at ``new`` for the
    caller to remove). Without a swap (some network file systems), two renames with the old
    folder parked as ``…old-….tmp``, which :func:`remove_stale_temporaries` finishes after a
    kill between them. A process working inside ``target`` is moved into the new folder."""
    inside = _working_inside(target)
    if not os.path.lexists(target):
        os.rename(new, target)
    elif not exchange_paths(new, target):
        old = target.parent / f"{temporary_prefix(target, 'old')}{os.urandom(4).hex()}.tmp"
        os.rename(target, old)
        os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    fsync_path(target.parent)
    if inside is not None:
        os.chdir(inside)


def _working_inside(target: Path) -> str | None:
    """This process's working folder when it is ``target`` or below it (it follows the old
    folder through a rename, so it is entered again by path afterwards)."""
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        return None
    inside = cwd == str(target) or cwd.startswith(str(target) + os.sep)
    return cwd if inside else None


AT_FDCWD = -100  # renameat2's "relative to the working directory"
RENAME_EXCHANGE = 2  # Linux renameat2 flag; macOS renamex_np's RENAME_SWAP has the same value


def exchange_paths(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Swap the names of two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``,
    macOS ``renamex_np(RENAME_SWAP)``); False where the system or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    if sys.platform == "darwin":
        function, args = getattr(libc, "renamex_np", None), (os.fsencode(a), os.fsencode(b))
    else:
        function = getattr(libc, "renameat2", None)
        args = (AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b))
    if function is None:
        return False
    if function(*args, RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def link_entries(source: Path, destination: Path, keep: Callable[[str], bool]) -> None:
    """Hard-link (copy where links are refused) the entries of ``source`` that ``keep`` names
    and ``destination`` lacks into ``destination``, folders recursively, symlinks as links;
    temporaries are left out."""

    def skipped(_folder, names):
        return [name for name in names if TEMPORARY.match(name)]

    for entry in os.scandir(source):
        name, to = entry.name, destination / entry.name
        if TEMPORARY.match(name) or not keep(name) or os.path.lexists(to):
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), to)
        elif entry.is_dir():
            shutil.copytree(
                entry.path, to, symlinks=True, copy_function=link_or_copy, ignore=skipped
            )
        else:
            link_or_copy(entry.path, to)


def link_or_copy(source: str, destination: str) -> str:
    """A hard link to ``source`` at ``destination``, or a copy where links are refused."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
    return destination


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's or folder's (its entries') changes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Flush every regular file directly in ``folder``, then the folder itself."""
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            fsync_path(entry.path)
    fsync_path(folder)


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
