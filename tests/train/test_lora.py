"""LoRA through peft (--lora-r): the head and BERT's pooler are trained in full and saved; a
merged run is a plain HF model, an unmerged one an adapter folder opened by rewardkit's one
loader; both reload to the scores training measured."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from rewardkit.data import read_pairs
from rewardkit.eval.config import EvalConfig
from rewardkit.eval.run import run_eval
from rewardkit.model.loading import load_reward_model
from rewardkit.train import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_config):
    root = tmp_path_factory.mktemp("lora")
    options = dict(lora_r=4, lora_target="query,value", epochs=1, batch_size=8, lr=5e-3)
    merged = train(tiny_config(root / "merged", **options), quiet=True)
    adapter = train(tiny_config(root / "adapter", merge_lora=False, **options), quiet=True)
    return merged, adapter


def test_adapter_folder_holds_the_adapter_and_the_head(runs, tiny_bert_dir):
    _, adapter = runs
    assert not (adapter.out / "model.safetensors").exists()
    config = json.loads((adapter.out / "adapter_config.json").read_text())
    assert {"classifier", "pooler"} <= set(config["modules_to_save"])
    assert config["base_model_name_or_path"] == str(tiny_bert_dir)
    tensors = load_file(adapter.out / "adapter_model.safetensors")
    assert any("lora_A" in name for name in tensors)
    assert any("classifier" in name for name in tensors) and any(
        "pooler" in name for name in tensors
    )


@pytest.mark.parametrize("form", ["merged", "adapter"])
def test_reloaded_model_scores_what_training_measured(runs, world_files, form):
    result = runs[0] if form == "merged" else runs[1]
    evaluated = run_eval(
        EvalConfig(model=str(result.out), data=str(world_files["eval"]), probes=False)
    )
    assert evaluated["bt_loss"] == pytest.approx(result.metrics["bt_loss"], abs=1e-6)
    assert evaluated["accuracy"] == result.metrics["accuracy"]


def test_merged_and_adapter_forms_score_alike_and_plain_transformers_agrees(runs, world_files):
    merged, adapter = (load_reward_model(str(r.out)) for r in runs)
    pairs, _ = read_pairs(str(world_files["eval"]))
    texts = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    prompts, responses = [t[0] for t in texts], [t[1] for t in texts]
    from_merged = merged.score(prompts, responses).rewards
    from_adapter = adapter.score(prompts, responses).rewards
    assert from_merged == pytest.approx(from_adapter, abs=1e-5)
    # the merged folder is a normal HF model: plain transformers gives rewardkit's rewards
    plain = AutoModelForSequenceClassification.from_pretrained(runs[0].out).eval()
    fitted = merged.encoder.fit_texts(texts, "truncate")
    with torch.no_grad():
        rewards = [float(plain(input_ids=torch.tensor([f.ids])).logits[0, 0]) for f in fitted]
    assert rewards == pytest.approx(list(from_merged), abs=1e-5)
    base = AutoModelForSequenceClassification.from_pretrained(runs[0].out)
    assert not any("lora" in name for name, _ in base.named_parameters())


def test_a_decoder_adapter_with_gradient_checkpointing_reloads(
    tmp_path, tiny_config, tiny_llama_dir, world_files
):
    """Tiny Llama: prefix sharing through the peft model, the added pad token, checkpointing."""
    config = tiny_config(
        tmp_path / "llama",
        backbone=str(tiny_llama_dir),
        lora_r=4,
        merge_lora=False,
        gradient_checkpointing=True,
        epochs=1,
        batch_size=8,
    )
    result = train(config, quiet=True)
    evaluated = run_eval(
        EvalConfig(model=str(result.out), data=str(world_files["eval"]), probes=False)
    )
    assert evaluated["bt_loss"] == pytest.approx(result.metrics["bt_loss"], abs=1e-6)
