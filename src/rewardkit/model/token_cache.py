"""Tokenize once: an on-disk, memory-mapped cache of encoded pairs.

Encoding is keyed by everything that decides the token ids — the tokenizer's own definition,
the text template, ``max_length``, the over-long policy and the data fingerprint — so the
same data is tokenized once and reused across epochs, runs, sweeps and ensemble members.

Layout of ``<cache>/tokens/<key>/``: ``tokens.npy`` (all ids, int32, concatenated),
``pairs.npy`` (one structured row per kept pair: offsets, lengths, margin, tie, weight, index,
tokens removed per side) and ``report.json`` (the over-long counts). Arrays are opened with
``mmap_mode="r"``: only the pages a batch touches are read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from rewardkit import files
from rewardkit.data.fingerprint import data_fingerprint
from rewardkit.data.records import PreferencePair
from rewardkit.model.encode import EncodedPair, EncodeReport, TextEncoder

PAIR_DTYPE = np.dtype(
    [
        ("chosen_start", np.int64),
        ("chosen_len", np.int32),
        ("rejected_start", np.int64),
        ("rejected_len", np.int32),
        ("margin", np.float32),
        ("tie", np.bool_),
        ("weight", np.float32),
        ("index", np.int64),
        ("removed_chosen", np.int32),
        ("removed_rejected", np.int32),
    ]
)
CACHE_VERSION = 3  # 2: keyed by TextEncoder.signature(); 3: tokens removed per side


def cache_key(encoder: TextEncoder, pairs: list[PreferencePair], overlong: str) -> str:
    """sha256 of the encoder's signature (tokenizer, template, max length), the over-long
    policy and the data fingerprint."""
    parts = {
        "version": CACHE_VERSION,
        "encoding": encoder.signature(),
        "overlong": overlong,
        "data": data_fingerprint(pairs),
        "n": len(pairs),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:32]


def encode_pairs_cached(
    encoder: TextEncoder,
    pairs: list[PreferencePair],
    overlong: str = "truncate-prompt",
    cache_dir: Path | None = None,
) -> tuple[list[EncodedPair], EncodeReport, bool]:
    """Like :meth:`TextEncoder.encode_pairs`, through the cache: ``(encoded, report, hit)``."""
    root = Path(cache_dir) / "tokens" if cache_dir else files.cache_dir("tokens")
    folder = root / cache_key(encoder, pairs, overlong)
    if (folder / "report.json").is_file():
        encoded, report = _load(folder)
        for item in encoded:  # soft labels are not cached: read them from the pairs
            item.label = pairs[item.index].hard_or_soft_label
        return encoded, report, True
    encoded, report = encoder.encode_pairs(pairs, overlong)
    try:
        _store(folder, encoded, report)
    except OSError:  # a read-only or full disk only costs the re-tokenization next time
        pass
    return encoded, report, False


def _store(folder: Path, encoded: list[EncodedPair], report: EncodeReport) -> None:
    """Write the folder under a temporary name and rename it into place (a process that
    stored it first wins)."""
    rows = np.zeros(len(encoded), dtype=PAIR_DTYPE)
    chunks, offset = [], 0
    for row, pair in enumerate(encoded):
        rows[row] = (
            offset,
            len(pair.chosen_ids),
            offset + len(pair.chosen_ids),
            len(pair.rejected_ids),
            pair.margin,
            pair.tie,
            pair.weight,
            pair.index,
            pair.removed_chosen,
            pair.removed_rejected,
        )
        chunks += [pair.chosen_ids, pair.rejected_ids]
        offset += len(pair.chosen_ids) + len(pair.rejected_ids)
    tokens = np.concatenate(chunks).astype(np.int32) if chunks else np.zeros(0, np.int32)
    payload = report.to_dict() | {"n_pairs": report.n_pairs, "examples": report.examples}
    with files.atomic_directory(folder, replace=False) as tmp:
        np.save(tmp / "tokens.npy", tokens)
        np.save(tmp / "pairs.npy", rows)
        (tmp / "report.json").write_text(json.dumps(payload))


def _load(folder: Path) -> tuple[list[EncodedPair], EncodeReport]:
    tokens = np.load(folder / "tokens.npy", mmap_mode="r")
    rows = np.load(folder / "pairs.npy")
    saved = json.loads((folder / "report.json").read_text())
    report = EncodeReport(
        n_pairs=saved["n_pairs"],
        n_kept=saved["kept"],
        truncated=saved["truncated"],
        response_truncated=saved.get("response_truncated", 0),
        dropped_overlong=saved["dropped_overlong"],
        dropped_response_too_long=saved["dropped_response_too_long"],
        examples=saved.get("examples", {}),
    )
    encoded = [
        EncodedPair(
            tokens[r["chosen_start"] : r["chosen_start"] + r["chosen_len"]],
            tokens[r["rejected_start"] : r["rejected_start"] + r["rejected_len"]],
            float(r["margin"]),
            bool(r["tie"]),
            float(r["weight"]),
            int(r["index"]),
            int(r["removed_chosen"]),
            int(r["removed_rejected"]),
        )
        for r in rows
    ]
    return encoded, report
