"""How rewardkit's flags reach the engine underneath accelerate (train/engine.py), and the
engines refused: FSDP on a CPU, --save-every under DeepSpeed. The launched runs themselves are
in test_launched_training.py (DDP) and test_deepspeed_training.py (ZeRO-2/3)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from accelerate.utils import DeepSpeedPlugin, DistributedType

from rewardkit.errors import UserError
from rewardkit.train.engine import configure_engine, engine_name
from rewardkit.train.gather import refuse_periodic_work

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal  # noqa: E402


def deepspeed_accelerator(**plugin_options):
    plugin = DeepSpeedPlugin(**plugin_options)
    return SimpleNamespace(
        distributed_type=DistributedType.DEEPSPEED,
        num_processes=2,
        state=SimpleNamespace(deepspeed_plugin=plugin),
        gradient_accumulation_steps=1,
    )


def test_engine_names():
    assert engine_name(deepspeed_accelerator(zero_stage=3)) == "DeepSpeed ZeRO-3"
    ddp = SimpleNamespace(distributed_type=DistributedType.MULTI_CPU, num_processes=2)
    alone = SimpleNamespace(distributed_type=DistributedType.NO, num_processes=1)
    assert (engine_name(ddp), engine_name(alone)) == ("DDP", "single process")


def test_deepspeed_takes_batch_accumulation_and_clipping_from_the_flags(tiny_config, tmp_path):
    accelerator = deepspeed_accelerator(
        zero_stage=3, gradient_accumulation_steps=1, gradient_clipping=0.5
    )
    config = tiny_config(tmp_path, batch_size=3, grad_accum=2, max_grad_norm=1.0)
    notes = configure_engine(accelerator, config)
    ds = accelerator.state.deepspeed_plugin.deepspeed_config
    assert ds["train_micro_batch_size_per_gpu"] == 3
    assert ds["gradient_accumulation_steps"] == accelerator.gradient_accumulation_steps == 2
    assert ds["gradient_clipping"] == 1.0
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    said = " | ".join(notes)
    assert "gradient_accumulation_steps 1 is replaced by --grad-accum 2" in said
    assert "gradient_clipping 0.5 is replaced by --max-grad-norm 1.0" in said
    assert "ZeRO-3's gathered save is switched on" in said
    # settings that already agree are not reported
    again = configure_engine(accelerator, config)
    assert again == []


def test_other_engines_are_left_alone(tiny_config, tmp_path):
    ddp = SimpleNamespace(distributed_type=DistributedType.MULTI_CPU, num_processes=2)
    assert configure_engine(ddp, tiny_config(tmp_path)) == []


def test_periodic_work_an_engine_cannot_do_is_refused():
    for stage in (2, 3):
        with pytest.raises(UserError, match="DeepSpeed ZeRO split over the processes"):
            refuse_periodic_work(deepspeed_accelerator(zero_stage=stage), 0, 4)
    with pytest.raises(UserError, match="under FSDP or ZeRO-3 rewardkit evaluates at the end"):
        refuse_periodic_work(deepspeed_accelerator(zero_stage=3), 4, 0)
    refuse_periodic_work(deepspeed_accelerator(zero_stage=2), 4, 0)  # ZeRO-2 holds it whole


def test_an_fsdp_config_on_a_cpu_is_refused_in_one_line(
    tmp_path, tiny_config, cli_args, monkeypatch
):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    line = refusal(cli_args(tiny_config(tmp_path / "out")))
    assert "asks for FSDP, which accelerate runs on GPUs only" in line
    assert "zero3.yaml" in line
