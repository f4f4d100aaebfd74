"""Checkpoints are atomic: a save that dies half-way leaves the previous one as latest, and
loadable; load restores weights, optimizer, scheduler, RNG and the train state exactly."""

import json
import os

import pytest
import torch
from transformers import get_scheduler

import rewardkit.files as files
import rewardkit.train.checkpoint as checkpoint
from rewardkit.errors import UserError
from rewardkit.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=10)
    return model, optimizer, scheduler


def one_step(model, optimizer, scheduler):
    loss = model(torch.ones(2, 3)).pow(2).sum()
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def test_save_then_load_restores_everything(tmp_path):
    """After 2 steps and a save at step 2, a fresh model/optimizer/scheduler loaded from it
    takes a 3rd step to bit-identical weights, lr and RNG draws as the original."""
    model, optimizer, scheduler = setup()
    for _ in range(2):
        one_step(model, optimizer, scheduler)
    state = TrainState(step=2, epoch=0, batch_in_epoch=2, pairs_seen=8)
    path = save_checkpoint(tmp_path, state, model, optimizer, scheduler)
    assert path == tmp_path / "step-2" and latest_checkpoint(tmp_path) == path
    assert {p.name for p in path.iterdir()} == {
        "model.safetensors",
        "optimizer.pt",
        "scheduler.pt",
        "rng.pt",
        "state.json",
    }
    expected_draw = torch.rand(1)
    one_step(model, optimizer, scheduler)

    fresh = setup(seed=1)
    assert load_checkpoint(path, *fresh) == state
    assert torch.equal(torch.rand(1), expected_draw)
    one_step(*fresh)
    assert torch.equal(fresh[0].weight, model.weight) and torch.equal(fresh[0].bias, model.bias)
    assert fresh[2].get_last_lr() == scheduler.get_last_lr()


def test_old_checkpoints_are_pruned(tmp_path):
    """keep=2 after saves at steps 1, 2, 3 → step-2 and step-3 remain; latest is step-3."""
    model, optimizer, scheduler = setup()
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, TrainState(step=step), model, optimizer, scheduler, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["step-2", "step-3"]
    assert latest_checkpoint(tmp_path).name == "step-3"
    assert json.loads((tmp_path / "latest.json").read_text()) == {"checkpoint": "step-3", "step": 3}


def half_written_save_file(tensors, filename):
    """Writes some bytes of the weights file, then dies (as a kill mid-write would)."""
    with open(filename, "wb") as handle:
        handle.write(b"\x00" * 16)
    raise KeyboardInterrupt("killed while writing weights")


@pytest.mark.parametrize("where", ["weights", "rename", "pointer"])
def test_an_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, where):
    """Save step 1, then die during step 2's save: while writing its weights, while renaming
    its folder into place, or while replacing latest.json. latest_checkpoint() still names
    step-1, which loads (state step 1, the weights of step 1)."""
    model, optimizer, scheduler = setup()
    save_checkpoint(tmp_path, TrainState(step=1), model, optimizer, scheduler)
    weights_at_1 = model.weight.detach().clone()
    one_step(model, optimizer, scheduler)

    real_put, real_replace = files.put_in_place, os.replace

    def failing_put(new, target):
        if target.name == "step-2":
            raise KeyboardInterrupt("killed while renaming")
        return real_put(new, target)

    def failing_replace(src, dst):
        if str(dst).endswith("latest.json"):
            raise KeyboardInterrupt("killed while replacing the pointer")
        return real_replace(src, dst)

    if where == "weights":
        monkeypatch.setattr(checkpoint, "save_file", half_written_save_file)
    elif where == "rename":
        monkeypatch.setattr(files, "put_in_place", failing_put)
    else:
        monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, TrainState(step=2), model, optimizer, scheduler)
    monkeypatch.undo()

    latest = latest_checkpoint(tmp_path)
    assert latest == tmp_path / "step-1"
    fresh = setup(seed=5)
    assert load_checkpoint(latest, *fresh).step == 1
    assert torch.equal(fresh[0].weight, weights_at_1)
    # and the next save goes through (a leftover temporary folder is no obstacle)
    assert save_checkpoint(tmp_path, TrainState(step=2), model, optimizer, scheduler).is_dir()
    assert latest_checkpoint(tmp_path).name == "step-2"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_truncated_or_tampered_checkpoint_is_one_line(tmp_path):
    """Weights cut short, a broken state.json, a broken latest.json: each a UserError naming
    the file (the tampered optimizer.pt is tested through the CLI in test_refusals.py)."""
    model, optimizer, scheduler = setup()
    path = save_checkpoint(tmp_path, TrainState(step=1), model, optimizer, scheduler)
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[:-3])
    with pytest.raises(UserError, match="model.safetensors: truncated"):
        load_checkpoint(path, *setup())
    (path / "model.safetensors").write_bytes(weights)
    (path / "state.json").write_text('{"step": ')
    with pytest.raises(UserError, match="state.json: broken JSON"):
        load_checkpoint(path, *setup())
    (tmp_path / "latest.json").write_text("[")
    with pytest.raises(UserError, match="latest.json: broken JSON"):
        latest_checkpoint(tmp_path)


def test_no_pointer_means_no_checkpoint(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "latest.json").write_text(json.dumps({"checkpoint": "step-9", "step": 9}))
    assert latest_checkpoint(tmp_path) is None  # a pointer to a missing folder


def test_tied_weights_are_saved(tmp_path):
    """safetensors refuses shared storage; tied tensors are saved as copies and load back."""
    model = torch.nn.Sequential(torch.nn.Embedding(4, 2), torch.nn.Linear(2, 4, bias=False))
    model[1].weight = model[0].weight
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = get_scheduler("constant", optimizer)
    path = save_checkpoint(tmp_path, TrainState(step=1), model, optimizer, scheduler)
    from safetensors.torch import load_file

    weights = load_file(path / "model.safetensors")
    assert torch.equal(weights["0.weight"], weights["1.weight"])
