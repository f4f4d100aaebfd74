"""DeepSpeed ZeRO under ``accelerate launch`` on the CPU (DeepSpeed's CPU accelerator, gloo),
with the shipped configs (examples/accelerate/zero2.yaml, zero3.yaml) at 2 processes and fp32:
the same run as one process with the global batch, ZeRO-3's save-with-gather gives a normal HF
folder that plain transformers scores as rewardkit's own load does, and LoRA adapters trained
under ZeRO-3 score as one process's."""

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForSequenceClassification

from rewardkit.data import read_pairs
from rewardkit.model.loading import load_reward_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from launching import (  # noqa: E402
    accelerate_launch,
    assert_same_model,
    first_pairs,
    free_port,
    single_process,
)

pytest.importorskip("deepspeed", reason="deepspeed is not installed (scripts/setup.sh installs it)")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"
PAIRS = 29  # the last global batch is a single pair: one process's share of it is empty


def cpu_config(name: str, folder: Path) -> Path:
    """examples/accelerate/NAME.yaml for 2 CPU processes in fp32, on a free port."""
    config = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    config.update(num_processes=2, mixed_precision="no", main_process_port=free_port())
    path = folder / f"{name}-cpu.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def job(tmp_path_factory, tiny_config, cli_args, world_files):
    """``job(out, batch_size, grad_accum=1, eval_every=0)`` → the ``rewardkit train``
    arguments."""
    data = first_pairs(world_files["train"], tmp_path_factory.mktemp("deepspeed"), PAIRS)

    def make(out, batch_size: int, grad_accum: int = 1, eval_every: int = 0) -> list[str]:
        config = tiny_config(
            out,
            data=str(data),
            batch_size=batch_size,
            grad_accum=grad_accum,
            eval_every=eval_every,
            epochs=1,
        )
        return cli_args(config)

    return make


def test_zero3_matches_one_process_and_saves_a_gathered_hf_folder(tmp_path, job, world_files):
    reference, out = tmp_path / "one", tmp_path / "zero3"
    single_process(job(reference, 4))
    launched = accelerate_launch(job(out, 2), config_file=cpu_config("zero3", tmp_path))
    said = " ".join(launched.stderr.split())
    assert "= 4 pairs per step (DeepSpeed ZeRO-3)" in said
    launch = json.loads((out / "train_config.json").read_text())["launch"]
    assert launch["engine"] == "DeepSpeed ZeRO-3" and launch["global_batch"] == 4
    assert_same_model(out, reference, PAIRS)
    # the gathered folder: plain transformers scores what rewardkit's loader scores
    model = load_reward_model(str(out))
    pairs, _ = read_pairs(str(world_files["eval"]))
    texts = [(p.prompt, p.chosen) for p in pairs]
    ours = model.score([t[0] for t in texts], [t[1] for t in texts]).rewards
    plain = AutoModelForSequenceClassification.from_pretrained(out).eval()
    with torch.no_grad():
        theirs = [
            float(plain(input_ids=torch.tensor([f.ids])).logits[0, 0])
            for f in model.encoder.fit_texts(texts, "truncate")
        ]
    assert theirs == pytest.approx(list(ours), abs=1e-5)
    assert len(set(round(r, 4) for r in theirs)) > 1  # real, distinct rewards


def test_zero2_with_accumulation_matches_one_process_with_the_same_plan(tmp_path, job):
    """2 processes × batch 1 × 2 micro-batches per step: the engine steps at the
    accumulation boundary only, and the loss is not divided twice; evaluating every 2 steps
    (ZeRO-2 holds the weights whole) gives one process's losses and evaluations."""
    reference, out = tmp_path / "one", tmp_path / "zero2"
    single_process(job(reference, 2, grad_accum=2, eval_every=2))
    launched = accelerate_launch(
        job(out, 1, grad_accum=2, eval_every=2), config_file=cpu_config("zero2", tmp_path)
    )
    said = " ".join(launched.stderr.split())
    assert "1 pairs per process × 2 process(es) × 2 accumulation = 4 pairs" in said
    assert "(DeepSpeed ZeRO-2)" in said
    assert_same_model(out, reference, PAIRS)
    logged, expected = (
        [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]
        for d in (out, reference)
    )
    assert [row["step"] for row in logged] == [row["step"] for row in expected] == [2, 4, 6, 8]
    for row, want in zip(logged, expected):
        assert row["train_loss"] == pytest.approx(want["train_loss"], abs=1e-4)
        assert row["eval"]["accuracy"] == want["eval"]["accuracy"]
        assert row["eval"]["bt_loss"] == pytest.approx(want["eval"]["bt_loss"], abs=1e-5)


def test_zero3_trains_lora_adapters_as_one_process_does(tmp_path, job, world_files):
    """LoRA under ZeRO-3 (the large-model recipe): the adapter folder saved from the gathered
    copy reloads through rewardkit and scores as the one-process run's adapters do."""
    lora = ["--lora-r", "4", "--no-merge-lora"]
    reference, out = tmp_path / "one", tmp_path / "zero3-lora"
    single_process([*job(reference, 4), *lora])
    accelerate_launch([*job(out, 2), *lora], config_file=cpu_config("zero3", tmp_path))
    assert (out / "adapter_model.safetensors").is_file()
    pairs, _ = read_pairs(str(world_files["eval"]))
    prompts, responses = [p.prompt for p in pairs], [p.chosen for p in pairs]
    ours, want = (
        load_reward_model(str(d)).score(prompts, responses).rewards for d in (out, reference)
    )
    assert list(ours) == pytest.approx(list(want), abs=1e-5)
    assert len({round(r, 4) for r in ours}) > 1  # real, distinct rewards
