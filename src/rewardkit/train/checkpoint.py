"""Atomic checkpoints and exact resume.

Layout: ``OUT/checkpoints/step-N/`` holding ``model.safetensors`` (weights),
``optimizer.pt`` + ``scheduler.pt`` (tensors only, loaded with ``weights_only=True``),
``rng.pt`` (torch RNG state) and ``state.json`` (epoch, batch position, step).
A checkpoint is written into a hidden temporary folder and renamed into place, and the
``latest`` pointer is replaced atomically last, so a kill at any moment leaves the previous
checkpoint loadable.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from rewardkit.files import write_json_atomic


@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    pairs_seen: int = 0
    tokens_seen: int = 0  # real (non-pad) tokens computed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def save_checkpoint(
    root: Path, state: TrainState, model, optimizer, scheduler, keep: int = 2
) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{state.step}"
    tmp = root / f".tmp-step-{state.step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(_untie(weights), tmp / "model.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save({"torch": torch.get_rng_state()}, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps(asdict(state)))
    for item in tmp.iterdir():
        _fsync_file(item)
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(root)
    write_json_atomic(root / "latest.json", {"checkpoint": final.name, "step": state.step})
    _prune(root, keep)
    return final


def _untie(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses shared storage (tied embeddings): give each tensor its own copy."""
    seen: set[int] = set()
    out = {}
    for name, tensor in weights.items():
        ptr = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone() if ptr in seen else tensor
        seen.add(ptr)
    return out


def _prune(root: Path, keep: int) -> None:
    steps = sorted((int(p.name.split("-")[1]), p) for p in root.glob("step-*") if p.is_dir())
    for _, path in steps[:-keep] if keep > 0 else []:
        shutil.rmtree(path, ignore_errors=True)


def latest_checkpoint(root: Path) -> Path | None:
    pointer = Path(root) / "latest.json"
    if not pointer.is_file():
        return None
    path = Path(root) / json.loads(pointer.read_text())["checkpoint"]
    return path if (path / "state.json").is_file() else None


def load_checkpoint(path: Path, model, optimizer, scheduler) -> TrainState:
    """Restore weights, optimizer, scheduler and RNG in place; return the train state."""
    weights = load_file(path / "model.safetensors")
    model.load_state_dict(weights, strict=True)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    torch.set_rng_state(torch.load(path / "rng.pt", weights_only=True)["torch"])
    return TrainState(**json.loads((path / "state.json").read_text()))
