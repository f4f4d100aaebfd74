"""Head-input features kept on disk for reuse across runs.

:class:`FeatureCache` keys features by a fingerprint of the backbone's weights and of the
exact token ids, so each text is embedded once across runs, ensemble members and sweeps (the
frozen-backbone fast path).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rewardkit.files import atomic_write, cache_dir, write_json_atomic
from rewardkit.model.features import classification_head
from rewardkit.model.inference import forward_sequences


def backbone_fingerprint(model) -> str:
    """sha256 of every weight except the reward head, plus the settings that change features
    (precision, scoring rule). Two models with this fingerprint produce the same features."""
    head_name, _ = classification_head(model.model)
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "precision": model.info.precision,
                "scoring": model.info.scoring.get("rule"),
                "class": type(model.model).__name__,
            },
            sort_keys=True,
        ).encode()
    )
    for key, tensor in sorted(model.model.state_dict().items()):
        if key.startswith(head_name + "."):
            continue
        digest.update(key.encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def sequences_fingerprint(sequences: Sequence[Sequence[int]]) -> str:
    """sha256 of the token id sequences, in order (length-prefixed int64 little-endian)."""
    digest = hashlib.sha256()
    for seq in sequences:
        array = np.asarray(seq, dtype="<i8")
        digest.update(np.int64(array.size).tobytes())
        digest.update(array.tobytes())
    return digest.hexdigest()


class FeatureCache:
    """Features on disk, one ``.npy`` (float32, memory-mapped on read) + ``.json`` per key.

    Key = sha256(backbone fingerprint, token-id fingerprint): any change of weights,
    precision, template, max length or data gives a new key, never a stale hit."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else cache_dir("features")

    def key(self, backbone: str, sequences_digest: str) -> str:
        return hashlib.sha256(f"{backbone}\n{sequences_digest}".encode()).hexdigest()[:32]

    def load(self, key: str) -> np.ndarray | None:
        path = self.root / f"{key}.npy"
        if not (path.is_file() and (self.root / f"{key}.json").is_file()):
            return None
        return np.load(path, mmap_mode="r")

    def save(self, key: str, features: np.ndarray, meta: dict) -> None:
        with atomic_write(self.root / f"{key}.npy", "wb") as handle:
            np.save(handle, np.ascontiguousarray(features, dtype=np.float32))
        write_json_atomic(self.root / f"{key}.json", meta)


def cached_features(
    model,
    sequences: Sequence[Sequence[int]],
    *,
    cache: FeatureCache | None,
    batch_size: int = 0,
    progress: bool | None = False,
    description: str = "embedding",
    backbone_key: str | None = None,
    meta: dict | None = None,
) -> tuple[np.ndarray, bool]:
    """Features of ``sequences`` (unique texts embedded once), from ``cache`` when present.
    Returns ``(features (N, H), hit)``."""
    unique: dict[bytes, int] = {}
    index = np.empty(len(sequences), dtype=np.int64)
    for i, seq in enumerate(sequences):
        index[i] = unique.setdefault(np.asarray(seq, dtype="<i8").tobytes(), len(unique))
    distinct = [np.frombuffer(raw, dtype="<i8") for raw in unique]
    key = None
    if cache is not None:
        key = cache.key(
            backbone_key or backbone_fingerprint(model), sequences_fingerprint(distinct)
        )
        stored = cache.load(key)
        if stored is not None and stored.shape[0] == len(distinct):
            return np.asarray(stored)[index], True
    features = forward_sequences(
        model,
        distinct,
        batch_size=batch_size,
        features=True,
        progress=progress,
        description=description,
    ).features
    if cache is not None and key is not None:
        cache.save(
            key,
            features,
            {
                "texts": len(distinct),
                "hidden": int(features.shape[1]),
                "backbone": model.info.backbone,
                "max_length": model.info.max_length,
                "precision": model.info.precision,
                **(meta or {}),
            },
        )
    return features[index], False
