"""Reward-model ensembles on disk: one format for every use (eval, serving, active learning).

Deep ensembles measure what a single reward model cannot: where its members disagree
(Lakshminarayanan et al. 2017; for reward models Coste et al. 2023, arXiv 2310.02743, and
Eisenstein et al. 2023, arXiv 2312.09244). Three layouts load the same way
(:func:`rewardkit.model.loading.load_reward_model`) and score the same way
(:class:`rewardkit.model.scorer.Scorer`):

========================  ===================================================================
layout                    on disk
========================  ===================================================================
heads (form b)            one standard ``num_labels=1`` model whose head is the exact mean of
                          K linear heads, plus ``ensemble_heads.safetensors`` (``weight``
                          (K, H), ``bias`` (K,)) and ``"ensemble"`` in ``rewardkit.json``.
                          Any tool that ignores the extra file gets the mean reward.
members (form a)          a folder with ``ensemble.json`` and K standard model folders
                          (``member-0/`` … ``member-{K-1}/``); the reward is their mean.
combined                  ``DIR1,DIR2,…``: separately trained models, used as members.
========================  ===================================================================
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from rewardkit.errors import UserError
from rewardkit.files import write_json_atomic
from rewardkit.model.features import rewards_from_features

HEADS_FILE = "ensemble_heads.safetensors"
MEMBERS_FILE = "ensemble.json"


@dataclass
class LinearHeads:
    """K linear heads on shared features: ``weight (K, H)``, ``bias (K,)`` (float64), and the
    L2 strength they were fitted with (None when unknown)."""

    weight: np.ndarray
    bias: np.ndarray
    l2: float | None = None

    @property
    def k(self) -> int:
        return int(self.weight.shape[0])

    def mean_head(self) -> tuple[np.ndarray, float]:
        """The exact mean of the K heads: its reward is the members' mean reward."""
        return self.weight.mean(axis=0), float(self.bias.mean())

    def member_rewards(self, features: np.ndarray) -> np.ndarray:
        """``(K, N)`` rewards of N feature rows."""
        return rewards_from_features(features, self.weight, self.bias)


def save_ensemble_heads(
    directory: str | Path, heads: LinearHeads, metadata: dict | None = None
) -> Path:
    """Write ``ensemble_heads.safetensors``: ``weight (K, H)`` and ``bias (K,)`` in float32;
    ``metadata`` (JSON values) and the L2 strength go to the file's header."""
    path = Path(directory) / HEADS_FILE
    meta = {"k": heads.k, **({"l2": heads.l2} if heads.l2 is not None else {}), **(metadata or {})}
    save_file(
        {
            "weight": np.ascontiguousarray(heads.weight, dtype=np.float32),
            "bias": np.ascontiguousarray(heads.bias, dtype=np.float32),
        },
        str(path),
        metadata={k: json.dumps(v) for k, v in meta.items()},
    )
    return path


def load_ensemble_heads(directory: str | Path) -> LinearHeads:
    path = Path(directory) / HEADS_FILE
    tensors = load_file(str(path))
    weight, bias = tensors["weight"].astype(np.float64), tensors["bias"].astype(np.float64)
    if weight.ndim != 2 or bias.shape != (weight.shape[0],):
        raise UserError(
            f"{path}: expected weight (K, H) and bias (K,), got {weight.shape} and {bias.shape}"
        )
    with safe_open(str(path), framework="numpy") as handle:
        l2 = json.loads((handle.metadata() or {}).get("l2", "null"))
    return LinearHeads(weight, bias, l2)


def write_members_manifest(directory: str | Path, members: Sequence[str], **extra) -> Path:
    """``ensemble.json`` of a members folder (member paths relative to it)."""
    path = Path(directory) / MEMBERS_FILE
    write_json_atomic(
        path, {"form": "members", "k": len(members), "members": list(members), **extra}
    )
    return path


def read_members_manifest(directory: str | Path) -> dict:
    return json.loads((Path(directory) / MEMBERS_FILE).read_text(encoding="utf-8"))


def is_members_dir(path: str | Path) -> bool:
    """A members folder: ``ensemble.json`` and no model of its own."""
    path = Path(path)
    return (path / MEMBERS_FILE).is_file() and not (path / "config.json").is_file()


def is_ensemble_dir(path: str | Path) -> bool:
    path = Path(path)
    return (path / MEMBERS_FILE).is_file() or (path / HEADS_FILE).is_file()
