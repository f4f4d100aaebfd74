"""Atomic checkpoints and exact resume.

Layout: ``OUT/checkpoints/step-N/`` holding ``model.safetensors`` (weights),
``optimizer.pt`` + ``scheduler.pt`` (tensors only, loaded with ``weights_only=True``),
``rng.pt`` (torch RNG state) and ``state.json`` (epoch, batch position, step).
A checkpoint is written into a hidden temporary folder and renamed into place
(:func:`rewardkit.files.atomic_directory`), and the ``latest`` pointer is replaced atomically
last, so a kill at any moment leaves the previous checkpoint loadable. Loading refuses, in one
line naming the file, anything that is not what a save wrote: a truncated weights file, a
``.pt`` file holding more than tensors (``weights_only=True`` never runs its code).
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from rewardkit.errors import UserError
from rewardkit.files import atomic_directory, write_json_atomic
from rewardkit.model.folder_check import check_safetensors, read_json_object
from rewardkit.model.hf_folder import first_line

START_AFRESH = "delete that checkpoint folder (and latest.json) to resume from an earlier one"


@dataclass
class TrainState:
    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batch_in_epoch: int = 0  # micro-batches of this epoch already consumed
    pairs_seen: int = 0
    tokens_seen: int = 0  # real (non-pad) tokens computed


def save_checkpoint(
    root: Path, state: TrainState, model, optimizer, scheduler, keep: int = 2
) -> Path:
    root = Path(root)
    final = root / f"step-{state.step}"
    with atomic_directory(final) as tmp:
        weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(_untie(weights), tmp / "model.safetensors")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save({"torch": torch.get_rng_state()}, tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state)))
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
    name = read_json_object(pointer, f"delete {pointer} to resume from step-N folders by hand")
    if not isinstance(name.get("checkpoint"), str):
        raise UserError('no "checkpoint" folder named; delete the file', where=str(pointer))
    path = Path(root) / name["checkpoint"]
    return path if (path / "state.json").is_file() else None


def load_checkpoint(path: Path, model, optimizer, scheduler) -> TrainState:
    """Restore weights, optimizer, scheduler and RNG in place; return the train state."""
    check_safetensors(path / "model.safetensors", START_AFRESH)
    model.load_state_dict(load_file(path / "model.safetensors"), strict=True)
    optimizer.load_state_dict(load_tensors(path / "optimizer.pt"))
    scheduler.load_state_dict(load_tensors(path / "scheduler.pt"))
    torch.set_rng_state(load_tensors(path / "rng.pt")["torch"])
    state = read_json_object(path / "state.json", START_AFRESH)
    known = {f.name for f in fields(TrainState)}
    if set(state) - known or not all(isinstance(v, int) for v in state.values()):
        raise UserError(f"not a train state ({sorted(state)}); {START_AFRESH}", where=str(path))
    return TrainState(**state)


def load_tensors(path: Path):
    """A ``torch.save`` file of tensors and plain values, loaded with ``weights_only=True``: a
    file that needs more (code objects, arbitrary classes) is refused, never run."""
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        what = f"it calls {found[1]}" if found else "it holds what weights_only refuses"
        raise UserError(
            f"holds more than tensors and plain values ({what}), so it was not loaded; it may "
            f"have been tampered with: {START_AFRESH}",
            where=str(path),
        ) from None
    except (OSError, RuntimeError, EOFError) as exc:
        raise UserError(
            f"cannot be read ({first_line(exc)[:120]}); {START_AFRESH}", where=str(path)
        ) from None
