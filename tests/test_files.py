"""Atomic writers, file hashes and the cache folder (rewardkit.files)."""

import gzip
import hashlib
import json

import numpy as np
import pytest

from rewardkit.files import (
    atomic_directory,
    atomic_write,
    cache_dir,
    sha256_file,
    sha256_tree,
    write_json_atomic,
    write_jsonl_atomic,
)


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
