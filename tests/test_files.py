"""Atomic writers, file hashes and the cache folder (rewardkit.files); temporaries of killed
writers are removed by the next write, those of live writers never (issue 18, reproducer 9)."""

import gzip
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rewardkit.files as files
from rewardkit.files import (
    atomic_directory,
    atomic_write,
    cache_dir,
    exchange_paths,
    sha256_file,
    sha256_tree,
    temporary_prefix,
    write_json_atomic,
    write_jsonl_atomic,
)


@pytest.fixture(scope="module")
def dead_pid():
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def temporary_of(target, pid, kind="write", folder=False):
    """A temporary beside ``target`` as writer ``pid`` names it."""
    prefix = temporary_prefix(target, kind).replace(f".{os.getpid()}-", f".{pid}-")
    path = target.parent / f"{prefix}abc123.tmp"
    if folder:
        path.mkdir()
        (path / "inside").write_text("x")
    else:
        path.write_text("half")
    return path


def test_sha256_file_matches_the_fips_test_vector(tmp_path):
    """sha256 of b"abc" is the FIPS 180-2 test vector ba7816bf…15ad."""
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_sha256_tree_hashes_relative_paths_and_bytes_in_sorted_order(tmp_path):
    """By hand: sha256("a.bin\\0" + b"1" + "sub/b.bin\\0" + b"22"); other files are ignored and
    renaming a file changes the digest."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"22")
    (tmp_path / "a.bin").write_bytes(b"1")
    (tmp_path / "notes.txt").write_text("not hashed")
    expected = hashlib.sha256(b"a.bin\0" + b"1" + b"sub/b.bin\0" + b"22").hexdigest()
    assert sha256_tree(tmp_path, "*.bin") == expected
    (tmp_path / "a.bin").rename(tmp_path / "c.bin")
    assert sha256_tree(tmp_path, "*.bin") != expected
    assert sha256_tree(tmp_path, "*.safetensors") is None
    assert sha256_tree(tmp_path / "missing", "*.bin") is None


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_error(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"n": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write("half")
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_json_writer_turns_numpy_values_into_numbers(tmp_path):
    path = tmp_path / "m.json"
    write_json_atomic(path, {"a": np.float32(0.5), "b": np.arange(3), "c": np.int64(7)})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": 7}


def test_jsonl_writer_counts_rows_and_compresses_gz(tmp_path):
    rows = [{"i": i, "text": "héllo"} for i in range(3)]
    assert write_jsonl_atomic(tmp_path / "rows.jsonl.gz", rows) == 3
    with gzip.open(tmp_path / "rows.jsonl.gz", "rt", encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == rows


def test_atomic_directory_replaces_or_keeps_the_first(tmp_path):
    target = tmp_path / "folder"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with atomic_directory(target, replace=False) as tmp:  # another process made it first
        (tmp / "a").write_text("2")
    assert (target / "a").read_text() == "1"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("3")
    assert (target / "a").read_text() == "3"
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a").write_text("4")
        raise RuntimeError("killed")
    assert (target / "a").read_text() == "3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REWARDKIT_CACHE", str(tmp_path))
    assert cache_dir("features") == tmp_path / "features"
    monkeypatch.delenv("REWARDKIT_CACHE")
    assert str(cache_dir()).endswith(".cache/rewardkit")


def test_the_next_write_removes_a_killed_writers_temporary_only(tmp_path, dead_pid):
    """Beside out.json: a dead writer's temporary file and folder, a live writer's (this
    process), another target's and another host's. One atomic_write to out.json removes the
    first two only."""
    target = tmp_path / "out.json"
    stale_file = temporary_of(target, dead_pid)
    stale_folder = temporary_of(target, dead_pid, "new", folder=True)
    live = temporary_of(target, os.getpid())
    other_target = temporary_of(tmp_path / "other.json", dead_pid)
    other_host = tmp_path / f".out.json.{dead_pid}-00000000.write-abc.tmp"
    other_host.write_text("half")
    write_json_atomic(target, {"n": 1})
    assert not stale_file.exists() and not stale_folder.exists()
    assert live.exists() and other_target.exists() and other_host.exists()
    assert json.loads(target.read_text()) == {"n": 1}


def test_exchange_swaps_two_folders(tmp_path):
    """Where the system has an atomic swap (Linux renameat2), a/ and b/ trade contents."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").write_text("")
    (tmp_path / "b" / "from-b").write_text("")
    if not exchange_paths(tmp_path / "a", tmp_path / "b"):
        pytest.skip("no atomic swap on this system or file system")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["from-b"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from-a"]


@pytest.mark.parametrize("swap", [True, False], ids=["swap", "two-renames"])
def test_atomic_directory_keeps_chosen_entries_of_the_old_folder(tmp_path, monkeypatch, swap):
    """Replacing run/ (logs, checkpoints/, an old model file): the new folder has the new
    model file, the kept log and checkpoints/ (hard links: same inode), not the old model
    file it does not write again; nothing else is left beside run/. Also without a swap."""
    if not swap:
        monkeypatch.setattr(files, "exchange_paths", lambda a, b: False)
    run = tmp_path / "run"
    (run / "checkpoints" / "step-2").mkdir(parents=True)
    (run / "checkpoints" / "step-2" / "weights").write_text("w")
    (run / "log.jsonl").write_text("{}\n")
    (run / "old-heads.model").write_text("stale")
    (run / "weights.model").write_text("old")
    inode = (run / "checkpoints" / "step-2" / "weights").stat().st_ino
    with atomic_directory(run, keep=lambda name: not name.endswith(".model")) as tmp:
        (tmp / "weights.model").write_text("new")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "log.jsonl", "weights.model"]
    assert (run / "weights.model").read_text() == "new"
    assert (run / "checkpoints" / "step-2" / "weights").stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_kill_between_the_two_renames_is_finished_by_the_next_write(tmp_path, dead_pid):
    """Without a swap, a writer killed after parking the old folder (…old-…) and before
    renaming the complete new one (…new-…) into place leaves no run/; the next write to
    run/ first puts the new one in place, and removes the old."""
    run = tmp_path / "run"
    new = temporary_of(run, dead_pid, "new", folder=True)
    (new / "inside").write_text("complete new")
    old = temporary_of(run, dead_pid, "old", folder=True)
    assert files.remove_stale_temporaries(run) == 1
    assert (run / "inside").read_text() == "complete new"
    assert not new.exists() and not old.exists()


def test_an_unfinished_new_folder_without_a_parked_old_one_is_removed(tmp_path, dead_pid):
    """A first save killed before its rename leaves only …new-…: it may be incomplete, so it
    is removed, and run/ stays absent."""
    run = tmp_path / "run"
    new = temporary_of(run, dead_pid, "new", folder=True)
    files.remove_stale_temporaries(run)
    assert not new.exists() and not run.exists()


def model_like_folder(run):
    """run/ with a log to keep, checkpoints/ to keep, and an old model (config + weights)."""
    (run / "checkpoints").mkdir(parents=True)
    (run / "log.jsonl").write_text("{}\n")
    (run / "config.json").write_text("old")
    (run / "old.model").write_text("old")


def is_model(name):
    return name == "config.json" or name.endswith(".model")


@pytest.mark.parametrize("why", ["mount point", "rename refused"])
def test_a_folder_that_cannot_be_renamed_is_filled_in_place(tmp_path, monkeypatch, why):
    """A mount point (or a rename refused with EBUSY) is not swapped: the new files move in,
    config.json last; kept entries stay, the old model file goes, no temporary is left."""
    run = tmp_path / "run"
    model_like_folder(run)
    if why == "mount point":
        monkeypatch.setattr(files.os.path, "ismount", lambda path: str(path) == str(run))
    else:

        def busy(new, target):
            raise OSError(16, "Device or resource busy")

        monkeypatch.setattr(files, "put_in_place", busy)
    with atomic_directory(run, keep=lambda n: not is_model(n), commit_last="config.json") as tmp:
        (tmp / "config.json").write_text("new")
        (tmp / "new.model").write_text("new")
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.json", "log.jsonl", "new.model"
    ]  # fmt: skip
    assert (run / "config.json").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_kill_while_filling_in_place_leaves_no_config(tmp_path, monkeypatch):
    """Killed after the old config.json is gone and before the new one moves in: the folder
    has no config.json, so it can never load as a half-old, half-new model."""
    run = tmp_path / "run"
    model_like_folder(run)
    monkeypatch.setattr(files.os.path, "ismount", lambda path: str(path) == str(run))
    real_move = files.move_over

    def killed_at_the_weights(source, destination):
        if destination.name == "new.model":
            raise KeyboardInterrupt("killed")
        return real_move(source, destination)

    monkeypatch.setattr(files, "move_over", killed_at_the_weights)
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(
            run, keep=lambda n: not is_model(n), commit_last="config.json"
        ) as tmp:
            (tmp / "config.json").write_text("new")
            (tmp / "new.model").write_text("new")
    assert not (run / "config.json").exists() and (run / "log.jsonl").exists()
