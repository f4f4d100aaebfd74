"""``rewardkit merge``: weight-averaged reward models (WARM; Ramé et al. 2024, "WARM: On the
Benefits of Weight Averaged Reward Models", arXiv 2401.12187).

Reward models fine-tuned from one pretrained backbone stay linearly connected in weight space,
so the uniform average of their weights is itself a good reward model, more robust to
distribution shift and label noise than each one — and, unlike an ensemble, it costs one
forward pass. The average is only meaningful for models of the same backbone: folders whose
sidecar backbone, architecture, configuration or tensor names and shapes differ are refused
with one line. The result is saved with :meth:`RewardModel.save_pretrained` (atomic), an
ordinary model folder every tool loads. Its stored normalization is the average of the
models'. It stores **no calibration**: an average of weights has its own margin scale, so no
member's temperature (or power γ) holds for it — fit one with ``rewardkit eval --calibrate``
on held-out pairs (until then probabilities are σ(Δ)). ``ensemble_heads.safetensors`` and
``feature_stats.safetensors`` of a source are not carried over (no ensemble spread, no
out-of-distribution flag: they describe the sources' features, not the merge's).
"""

from __future__ import annotations

from pathlib import Path

import torch

from rewardkit.errors import UserError
from rewardkit.model.reward_model import RewardModel
from rewardkit.overopt.config import MergeConfig

# config keys that may differ between fine-tunes of one backbone
RUN_ONLY_KEYS = ("mean", "std", "_name_or_path", "transformers_version", "torch_dtype", "dtype")


def check_same_backbone(models: list[RewardModel], folders: list[str]) -> None:
    """One line naming the first folder that differs from the first model, and how."""
    first = models[0]
    first_config = _comparable_config(first)
    first_shapes = _shapes(first)
    for model, folder in zip(models[1:], folders[1:]):
        why = None
        if str(model.info.backbone) != str(first.info.backbone):
            why = f"backbone {model.info.backbone} ≠ {first.info.backbone}"
        elif _comparable_config(model) != first_config:
            why = "its config.json (architecture or sizes) differs"
        elif _shapes(model) != first_shapes:
            why = "its tensor names or shapes differ"
        if why:
            raise UserError(
                f"cannot merge it with {folders[0]}: {why}; WARM averages models fine-tuned "
                "from the same backbone only",
                where=folder,
            )


def average_state(models: list[RewardModel]) -> dict[str, torch.Tensor]:
    """The uniform average of the models' floating-point tensors (in float64, then back to
    each tensor's dtype); other tensors (integer buffers) must be equal and are kept."""
    states = [m.model.state_dict() for m in models]
    merged = {}
    for name, tensor in states[0].items():
        if tensor.is_floating_point():
            total = sum(state[name].to(torch.float64) for state in states)
            merged[name] = (total / len(states)).to(tensor.dtype)
        else:
            if any(not torch.equal(state[name], tensor) for state in states[1:]):
                raise UserError(f"integer tensor {name} differs between the models; cannot merge")
            merged[name] = tensor
    return merged


def merge_models(config: MergeConfig, *, progress: bool | None = None) -> dict:
    """Average ``config.models`` into ``config.out``; returns a summary."""
    folders = list(config.models)
    if not folders:
        raise UserError("give at least one model folder to merge")
    models = [
        RewardModel.from_pretrained(folder, trust_remote_code=config.trust_remote_code)
        for folder in folders
    ]
    check_same_backbone(models, folders)
    merged = models[0]
    merged.model.load_state_dict(average_state(models))
    norms = [m.info.normalization for m in models]
    merged.info.normalization.mean = float(sum(n.mean for n in norms) / len(norms))
    merged.info.normalization.std = float(sum(n.std for n in norms) / len(norms))
    merged.info.normalization.measured_on = "average of the merged models' normalizations"
    merged.info.temperature = None
    merged.info.calibration_exponent = None
    merged.info.ensemble = None
    merged.info.metrics = {}
    merged.info.data = {"merged_from": [Path(f).resolve().name for f in folders]}
    merged.save_pretrained(config.out)
    return {
        "models": len(models),
        "backbone": merged.info.backbone,
        "out": config.out,
        "calibration": "uncalibrated: fit its calibration with "
        f"`rewardkit eval --model {config.out} --data HELD_OUT --calibrate`",
    }


def _comparable_config(model: RewardModel) -> dict:
    config = model.model.config.to_dict()
    return {k: v for k, v in config.items() if k not in RUN_ONLY_KEYS}


def _shapes(model: RewardModel) -> dict[str, tuple]:
    return {name: tuple(t.shape) for name, t in model.model.state_dict().items()}
