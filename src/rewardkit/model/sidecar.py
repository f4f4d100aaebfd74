"""``rewardkit.json``: what rewardkit knows about a saved model beyond the HF files.

A saved reward model is a plain ``*ForSequenceClassification`` directory (``num_labels=1``,
safetensors, tokenizer with its chat template) that loads without rewardkit; this sidecar adds
the text template, max length, scoring rule, precision, normalization (mean/std of rewards on
the eval split), calibration (``temperature`` T and ``calibration_exponent`` γ of
P(chosen ≻ rejected) = σ(sign(Δ)·|Δ/T|^γ), :mod:`rewardkit.bradley_terry`; null is 1, so a
folder saved before the exponent existed loads as σ(Δ/T)), the training-data fingerprint and
final metrics, and, for a head ensemble, a note on its ``ensemble_heads.safetensors``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.files import write_json_atomic

FORMAT_VERSION = 1
SIDECAR_NAME = "rewardkit.json"


@dataclass
class Normalization:
    mean: float = 0.0
    std: float = 1.0
    measured_on: str = "not measured"


@dataclass
class RewardKitInfo:
    backbone: str
    template: dict[str, Any]
    max_length: int
    scoring: dict[str, Any]
    precision: str = "fp32"
    normalization: Normalization = field(default_factory=Normalization)
    temperature: float | None = None
    calibration_exponent: float | None = None  # γ; None = 1 (temperature scaling)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    ensemble: dict[str, Any] | None = None  # K linear heads: see rewardkit.model.ensemble
    format_version: int = FORMAT_VERSION
    rewardkit_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RewardKitInfo":
        data = dict(data)
        data["normalization"] = Normalization(**data.get("normalization", {}))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def read_info(directory: Path) -> RewardKitInfo | None:
    path = Path(directory) / SIDECAR_NAME
    if not path.is_file():
        return None
    return RewardKitInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))


def write_info(directory: Path, info: RewardKitInfo) -> None:
    write_json_atomic(Path(directory) / SIDECAR_NAME, info.to_dict())
