"""examples/accelerate/: every config parses with accelerate's own loader and sets what
rewardkit relies on (bf16 agreeing with the --precision its usage line passes; FSDP full
shard, layer auto-wrap, full state dict at save; ZeRO-2/3, ZeRO-3 gathering 16-bit weights)."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"
NAMES = ("ddp", "fsdp", "zero2", "zero3", "two_nodes")


def load(name: str):
    return load_config_from_file(str(EXAMPLES / f"{name}.yaml"))


def usage(name: str) -> str:
    return (EXAMPLES / f"{name}.yaml").read_text()


@pytest.mark.parametrize("name", NAMES)
def test_every_config_parses_and_asks_for_bf16_with_precision_bf16(name):
    config = load(name)
    assert config.mixed_precision == "bf16"
    assert "-m rewardkit train" in usage(name) and "--precision bf16" in usage(name)
    assert config.num_processes >= config.num_machines >= 1


def test_ddp():
    assert load("ddp").distributed_type == "MULTI_GPU"


def test_fsdp_full_shard_wraps_layers_and_gathers_the_state_dict():
    config = load("fsdp")
    assert config.distributed_type == "FSDP"
    fsdp = config.fsdp_config
    assert fsdp["fsdp_sharding_strategy"] == "FULL_SHARD"
    assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    assert fsdp["fsdp_use_orig_params"] is True  # LoRA: only some parameters train
    assert "--gradient-checkpointing" in usage("fsdp")


@pytest.mark.parametrize(("name", "stage"), [("zero2", 2), ("zero3", 3)])
def test_zero_stages(name, stage):
    config = load(name)
    assert config.distributed_type == "DEEPSPEED"
    assert config.deepspeed_config["zero_stage"] == stage


def test_zero3_gathers_16bit_weights_at_save():
    deepspeed = load("zero3").deepspeed_config
    assert deepspeed["zero3_save_16bit_model"] is True
    assert deepspeed["zero3_init_flag"] is True
    assert "--gradient-checkpointing" in usage("zero3")


def test_two_nodes_names_a_rendezvous():
    config = load("two_nodes")
    assert (config.num_machines, config.num_processes) == (2, 16)
    assert config.main_process_ip and config.main_process_port
