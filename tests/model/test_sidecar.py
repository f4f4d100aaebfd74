"""Saving and loading: a plain HF folder (safetensors, tokenizer, chat template) plus
rewardkit.json; loading never unpickles."""

import json
import math
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from rewardkit.bradley_terry import Calibration
from rewardkit.errors import UserError
from rewardkit.model import RewardKitInfo, RewardModel
from rewardkit.model.loading import load_reward_model
from rewardkit.model.sidecar import FORMAT_VERSION, Normalization, read_info


@pytest.fixture(params=["tiny_bert_dir", "tiny_llama_chat_dir"])
def saved(request, tmp_path):
    """A fresh reward model with a fingerprint, metrics, T and normalization set, saved."""
    torch.manual_seed(0)
    model = RewardModel.from_backbone(str(request.getfixturevalue(request.param)), max_length=48)
    model.info.normalization = Normalization(mean=-0.5, std=3.0, measured_on="eval split")
    model.info.data = {"fingerprint": "f" * 64, "train_pairs": 10}
    model.info.metrics = {"accuracy": 0.75, "n": 4}
    model.info.temperature = 1.5
    out = model.save_pretrained(tmp_path / "rm")
    return model, out


def test_folder_holds_safetensors_tokenizer_template_and_sidecar(saved):
    model, out = saved
    names = {p.name for p in out.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "rewardkit.json",
    } <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    template_file = out / "chat_template.jinja"
    saved_template = (
        template_file.read_text()
        if template_file.is_file()
        else json.loads((out / "tokenizer_config.json").read_text())["chat_template"]
    )
    assert saved_template == model.template.chat_template
    weights = load_file(out / "model.safetensors")
    for name, tensor in model.model.state_dict().items():
        if name in weights:
            assert torch.equal(weights[name], tensor), name


def test_sidecar_records_everything_needed_to_score(saved):
    """rewardkit.json holds format_version, template, max_length, scoring (rule, token, pad id),
    precision, normalization, temperature, data fingerprint and metrics; config.json has
    OpenRLHF's mean/std."""
    model, out = saved
    sidecar = json.loads((out / "rewardkit.json").read_text())
    assert sidecar["format_version"] == FORMAT_VERSION == 1
    assert sidecar["template"] == model.template.to_dict()
    assert sidecar["max_length"] == 48 and sidecar["precision"] == "fp32"
    assert sidecar["scoring"]["pad_token_id"] == model.tokenizer.pad_token_id
    assert sidecar["scoring"]["rule"] in ("first-token", "last-token")
    assert sidecar["normalization"] == {"mean": -0.5, "std": 3.0, "measured_on": "eval split"}
    assert sidecar["temperature"] == 1.5
    assert sidecar["data"]["fingerprint"] == "f" * 64
    assert sidecar["metrics"] == {"accuracy": 0.75, "n": 4}
    assert sidecar["rewardkit_version"]
    config = json.loads((out / "config.json").read_text())
    assert (config["mean"], config["std"]) == (-0.5, 3.0)
    assert config.get("num_labels", len(config.get("id2label", {}))) == 1


def test_a_folder_saved_before_the_exponent_loads_as_a_temperature(saved):
    """rewardkit.json without "calibration_exponent" (every folder saved before it existed)
    loads with γ = 1: P = σ(Δ/T) with its stored T, through the one loader too; a saved
    exponent loads as itself."""
    model, out = saved
    sidecar = json.loads((out / "rewardkit.json").read_text())
    assert sidecar.pop("calibration_exponent") is None
    (out / "rewardkit.json").write_text(json.dumps(sidecar))
    loaded = RewardModel.from_pretrained(out)
    assert loaded.info.calibration_exponent is None
    assert loaded.calibration == Calibration(1.5, 1.0)
    assert load_reward_model(out).calibration == Calibration(1.5, 1.0)
    r_a, r_b = loaded.score("q", ["yes", "no"])
    assert loaded.compare("q", "yes", "no") == pytest.approx(
        1 / (1 + math.exp(-(r_a - r_b) / 1.5)), abs=1e-6
    )
    (out / "rewardkit.json").write_text(json.dumps(dict(sidecar, calibration_exponent=0.5)))
    assert load_reward_model(out).calibration == Calibration(1.5, 0.5)


def test_loading_gives_back_the_same_model(saved):
    model, out = saved
    loaded = RewardModel.from_pretrained(out)
    assert loaded.info == read_info(out)
    assert loaded.info.to_dict() == model.info.to_dict()
    assert loaded.pad_id == model.pad_id
    responses = ["good yes", "no", "green tea is good"]
    np.testing.assert_allclose(
        loaded.score("hello", responses), model.score("hello", responses), rtol=0, atol=1e-6
    )


def test_overrides_on_load(saved):
    _, out = saved
    loaded = RewardModel.from_pretrained(out, max_length=16, precision="bf16")
    assert loaded.info.max_length == 16 and loaded.encoder.max_length == 16
    assert loaded.info.precision == "bf16"


def test_a_pickled_checkpoint_is_never_loaded(saved, tmp_path, monkeypatch):
    """A folder whose weights are only pytorch_model.bin (a pickle) fails to load with a
    one-line UserError, and torch.load is never called."""
    _, out = saved
    pickled = tmp_path / "pickled"
    shutil.copytree(out, pickled)
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    calls = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(UserError) as err:
        RewardModel.from_pretrained(pickled)
    assert "safetensors" in str(err.value) and "\n" not in str(err.value)
    assert calls == []


def test_a_folder_without_config_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a model directory"):
        RewardModel.from_pretrained(tmp_path)


def test_info_from_dict_ignores_unknown_keys():
    info = RewardKitInfo(backbone="b", template={}, max_length=8, scoring={"rule": "first-token"})
    data = {**info.to_dict(), "added_in_a_later_version": True}
    assert RewardKitInfo.from_dict(data) == info
