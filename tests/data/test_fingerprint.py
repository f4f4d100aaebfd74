"""Data fingerprints: stable across runs and processes, sensitive to what trains the model."""

import dataclasses
import hashlib
import subprocess
import sys

import pytest

from rewardkit.data import PreferencePair, data_fingerprint, pairs_to_jsonl, read_pairs

PAIRS = [
    PreferencePair(prompt="p1", chosen="yes", rejected="no"),
    PreferencePair(
        prompt=[{"role": "user", "content": "héllo"}],
        chosen="a",
        rejected="",
        margin=0.5,
        tie=True,
        weight=0.25,
    ),
]


def test_fingerprint_is_sha256_of_canonical_json_lines():
    """Expected by hand: one compact UTF-8 JSON line per pair, keys sorted at every level."""
    lines = (
        '{"chosen":"yes","margin":0.0,"prompt":"p1","rejected":"no","tie":false,"weight":1.0}\n'
        '{"chosen":"a","margin":0.5,"prompt":[{"content":"héllo","role":"user"}],"rejected":"",'
        '"tie":true,"weight":0.25}\n'
    )
    assert data_fingerprint(PAIRS) == hashlib.sha256(lines.encode("utf-8")).hexdigest()


def test_fingerprint_is_the_same_in_another_process():
    code = (
        "from rewardkit.data import PreferencePair, data_fingerprint\n"
        "print(data_fingerprint([PreferencePair(prompt='p1', chosen='yes', rejected='no'),"
        " PreferencePair(prompt=[{'role': 'user', 'content': 'héllo'}], chosen='a', rejected='',"
        " margin=0.5, tie=True, weight=0.25)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    assert out.stdout.strip() == data_fingerprint(PAIRS)


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "p2"},
        {"chosen": "yes!"},
        {"rejected": "No"},
        {"margin": 0.1},
        {"tie": True},
        {"weight": 0.5},
    ],
)
def test_fingerprint_changes_with_every_training_field(change):
    changed = [dataclasses.replace(PAIRS[0], **change), PAIRS[1]]
    assert data_fingerprint(changed) != data_fingerprint(PAIRS)


def test_fingerprint_ignores_ids_and_sources_but_not_order(tmp_path):
    relabelled = [dataclasses.replace(p, id="other", source="x:1", subset="s") for p in PAIRS]
    assert data_fingerprint(relabelled) == data_fingerprint(PAIRS)
    assert data_fingerprint(PAIRS[::-1]) != data_fingerprint(PAIRS)
    assert data_fingerprint(PAIRS[:1]) != data_fingerprint(PAIRS)
    path = tmp_path / "pairs.jsonl"  # same pairs through a file: same fingerprint
    pairs_to_jsonl(path, PAIRS)
    assert data_fingerprint(read_pairs(path)[0]) == data_fingerprint(PAIRS)
