"""Packing (Krell et al. 2021): a batch's texts end to end in one row, position ids restarting
per text, no mask, must compute what the concatenated forward computes — the same rewards and
gradients (fp32, 1e-5), the same training run, in one process or two — and is refused where
it cannot hold (an encoder; a kernel that lets packed texts see each other)."""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from launching import accelerate_launch  # noqa: E402
from one_line_refusals import refusal, run_cli  # noqa: E402
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.model.attention import use_fast_attention  # noqa: E402
from rewardkit.model.encode import EncodedPair  # noqa: E402
from rewardkit.model.reward_model import RewardModel  # noqa: E402
from rewardkit.train import train  # noqa: E402
from rewardkit.train.forward import pair_forward, resolve_strategy  # noqa: E402
from rewardkit.train.lora import add_lora  # noqa: E402
from rewardkit.train.packing import check_packing, pack_texts  # noqa: E402

CPU = torch.device("cpu")
# (chosen, rejected) token counts: one token (the EOS alone) beside 200, and much between
LENGTHS = [(1, 200), (150, 3), (7, 9), (64, 65), (2, 1), (31, 120)]


@pytest.fixture
def llama_rm(tiny_llama_dir) -> RewardModel:
    """A fresh reward model on the tiny Llama backbone (initializer range 0.2, so rewards of
    different texts differ visibly), in train mode, dropout off."""
    torch.manual_seed(0)
    model = RewardModel.from_backbone(str(tiny_llama_dir), max_length=256)
    model.model.train()
    return model


def uneven_pairs(model: RewardModel, seed: int = 0) -> list[EncodedPair]:
    """Pairs of random known words of :data:`LENGTHS` tokens, each text ending in EOS."""
    rng = np.random.default_rng(seed)
    eos = model.tokenizer.eos_token_id
    words = [i for i in range(3, len(model.tokenizer)) if i not in (eos, model.pad_id)]

    def text(n: int) -> np.ndarray:
        return np.r_[rng.choice(words, n - 1), eos].astype(np.int32)

    return [
        EncodedPair(text(c), text(r), 0.25 * i, False, 1.0, i) for i, (c, r) in enumerate(LENGTHS)
    ]


def forward_and_gradients(model, pairs, strategy: str, **kwargs):
    """One forward of ``strategy`` and the gradients of its Bradley–Terry loss."""
    model.zero_grad()
    out = pair_forward(model, pairs, strategy=strategy, **kwargs)
    (-F.logsigmoid(out.r_chosen - out.r_rejected - out.margin).mean()).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return out, grads


def assert_same_forward(model, pairs, atol: float, **kwargs) -> None:
    concat, concat_grads = forward_and_gradients(model, pairs, "concatenated", **kwargs)
    packed, packed_grads = forward_and_gradients(model, pairs, "packed", **kwargs)
    assert packed.tokens == concat.tokens == sum(c + r for c, r in LENGTHS)
    assert float(concat.r_chosen.detach().std()) > 0.1  # different texts get different rewards
    torch.testing.assert_close(packed.r_chosen, concat.r_chosen, atol=atol, rtol=0)
    torch.testing.assert_close(packed.r_rejected, concat.r_rejected, atol=atol, rtol=0)
    assert packed_grads.keys() == concat_grads.keys() and len(concat_grads) > 5
    for name, grad in concat_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, atol=atol, rtol=0, msg=name)


def test_texts_are_laid_end_to_end_with_positions_restarting():
    row = pack_texts([[5, 6, 7], [8], [9, 10]], pad_id=0, multiple_of=4)
    assert row.input_ids.tolist() == [[5, 6, 7, 8, 9, 10, 0, 0]]
    assert row.position_ids.tolist() == [[0, 1, 2, 0, 0, 1, 0, 1]]
    assert row.ends.tolist() == [2, 3, 5]
    assert row.real_tokens == 6


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("multiple_of", [1, 64])
def test_packed_rewards_and_gradients_equal_the_concatenated_forward(
    llama_rm, attention, multiple_of
):
    """Texts of 1 to 200 tokens in one batch: every reward and every parameter's gradient of
    the BT loss equal the concatenated forward's (fp32, 1e-5), with the row padded to a
    multiple of 64 too (the CUDA default)."""
    llama_rm.model.set_attn_implementation(attention)
    kwargs = dict(pad_id=llama_rm.pad_id, use_margin=True, precision="fp32", device=CPU)
    assert_same_forward(
        llama_rm.model, uneven_pairs(llama_rm), atol=1e-5, multiple_of=multiple_of, **kwargs
    )


def test_packing_through_lora_with_gradient_checkpointing(llama_rm, tiny_config, tmp_path):
    """Through the peft model (the head a trained copy in ``modules_to_save``) with activation
    checkpointing: the same rewards and gradients of the adapters and the head (1e-5)."""
    llama_rm.model.gradient_checkpointing_enable({"use_reentrant": False})
    add_lora(llama_rm, tiny_config(tmp_path, lora_r=4))
    llama_rm.model.train()
    kwargs = dict(pad_id=llama_rm.pad_id, use_margin=True, precision="fp32", device=CPU)
    assert_same_forward(llama_rm.model, uneven_pairs(llama_rm), atol=1e-5, **kwargs)


def test_packing_under_bf16_autocast(llama_rm):
    """bf16 autocast with rewardkit's fp32 attention core on a CPU and the fp32 head: packed
    rewards within bf16 rounding of the concatenated ones (a text seeing another moves its
    reward by far more; see the refusal test below)."""
    assert use_fast_attention(llama_rm.model)
    kwargs = dict(pad_id=llama_rm.pad_id, use_margin=True, precision="bf16", device=CPU)
    pairs = uneven_pairs(llama_rm)
    concat = pair_forward(llama_rm.model, pairs, strategy="concatenated", **kwargs)
    packed = pair_forward(llama_rm.model, pairs, strategy="packed", **kwargs)
    assert concat.r_chosen.dtype == packed.r_chosen.dtype == torch.float32
    torch.testing.assert_close(packed.r_chosen, concat.r_chosen, atol=3e-2, rtol=0)
    torch.testing.assert_close(packed.r_rejected, concat.r_rejected, atol=3e-2, rtol=0)


def _losses(out: Path) -> list[tuple[int, float]]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [(row["step"], row["train_loss"]) for row in map(json.loads, lines)]


def assert_same_run(out: Path, reference: Path, loss_atol: float) -> None:
    losses, expected = _losses(out), _losses(reference)
    assert [step for step, _ in losses] == [step for step, _ in expected]
    assert len(losses) >= 6
    for (step, loss), (_, want) in zip(losses, expected):
        assert loss == pytest.approx(want, abs=loss_atol), step
    weights, want = load_file(out / "model.safetensors"), load_file(reference / "model.safetensors")
    assert weights.keys() == want.keys() and len(want) > 10
    for name in want:
        assert torch.allclose(weights[name], want[name], atol=1e-5, rtol=0), name


def test_a_packed_run_follows_the_concatenated_run(tmp_path, tiny_config, tiny_llama_dir):
    """Six optimizer steps on the tiny Llama, dropout off: the same training loss at every step
    and the same final weights (both 1e-5)."""
    runs = {}
    for strategy in ("concatenated", "packed"):
        config = tiny_config(
            tmp_path / strategy,
            backbone=str(tiny_llama_dir),
            pair_forward=strategy,
            max_steps=6,
            eval_every=1,
            proxy_eval=False,
        )
        runs[strategy] = train(config, quiet=True).out
    assert_same_run(runs["packed"], runs["concatenated"], loss_atol=1e-5)


def test_two_processes_packed_match_one_process_concatenated(
    tmp_path, tiny_config, cli_args, tiny_llama_dir, world_files
):
    """Under DDP (2 processes × 2 pairs, gloo) the packed forward runs through the engine's
    wrapper: the loss trajectory (1e-4) and final weights (1e-5) of one process with batch 4
    and the concatenated forward. 29 pairs leave one process's share of the last batch
    empty (it runs one pair at weight 0)."""
    lines = Path(world_files["train"]).read_text().splitlines()[:29]
    data = tmp_path / "train29.jsonl"
    data.write_text("\n".join(lines) + "\n")
    common = dict(data=str(data), backbone=str(tiny_llama_dir), epochs=1, eval_every=1)
    common.update(proxy_eval=False)
    reference = train(
        tiny_config(tmp_path / "one", pair_forward="concatenated", batch_size=4, **common),
        quiet=True,
    ).out
    two = tmp_path / "two"
    launched = accelerate_launch(
        cli_args(tiny_config(two, pair_forward="packed", batch_size=2, **common))
    )
    assert "pair forward: packed" in " ".join(launched.stdout.split() + launched.stderr.split())
    assert_same_run(two, reference, loss_atol=1e-4)


def test_packing_an_encoder_is_refused_in_one_line(tmp_path, tiny_bert_dir, world_files):
    out = tmp_path / "out"
    line = refusal(
        ["train", "--data", world_files["train"], "--eval-data", world_files["eval"],
         "--out", out, "--backbone", tiny_bert_dir, "--max-length", "64", "--threads", "1",
         "--pair-forward", "packed"],
        after_notes=True,
    )  # fmt: skip
    assert "--pair-forward packed needs a decoder backbone" in line
    assert "--pair-forward concatenated" in line
    assert not (out / "train_config.json").exists()  # refused before the run began


def test_auto_stays_prefix_sharing_in_one_process_and_concatenated_under_a_launcher(llama_rm):
    rule = llama_rm.info.scoring["rule"]
    assert resolve_strategy("auto", llama_rm.model, rule) == "prefix-sharing"
    assert resolve_strategy("auto", llama_rm.model, rule, processes=2) == "concatenated"
    assert resolve_strategy("packed", llama_rm.model, rule, processes=2) == "packed"


def test_a_kernel_that_lets_packed_texts_see_each_other_is_refused(llama_rm):
    """An attention kernel transformers builds no mask for gets none, so sdpa treats the whole
    row as one causal text: the start-of-training probe finds the second text's state off and
    refuses in one line. sdpa and eager pass it."""
    for attention in ("sdpa", "eager"):
        llama_rm.model.set_attn_implementation(attention)
        check_packing(llama_rm.model, llama_rm.pad_id, CPU)
    assert llama_rm.model.training  # the probe ran in eval mode and put the mode back
    AttentionInterface.register("rewardkit_test_whole_row", sdpa_attention_forward)
    llama_rm.model.set_attn_implementation("rewardkit_test_whole_row")
    with pytest.raises(UserError, match="does not keep packed texts apart") as refused:
        check_packing(llama_rm.model, llama_rm.pad_id, CPU)
    assert "\n" not in str(refused.value)


def test_attention_kernel_option(tmp_path, tiny_llama_dir, world_files):
    """``--attention eager`` trains with eager attention (said on the console) and saves a
    model that opens with the default kernel; a kernel that is not installed is one line."""
    common = ["train", "--data", world_files["train"], "--eval-data", world_files["eval"],
              "--backbone", tiny_llama_dir, "--max-length", "64", "--threads", "1",
              "--max-steps", "2", "--no-proxy-eval", "--pair-forward", "packed"]  # fmt: skip
    result = run_cli([*common, "--out", tmp_path / "eager", "--attention", "eager"])
    assert result.exit_code == 0, result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert "pair forward: packed (attention: eager)" in said
    config = json.loads((tmp_path / "eager" / "config.json").read_text())
    assert not any("attn_implementation" in key for key in config)
    reloaded = RewardModel.from_pretrained(tmp_path / "eager")
    assert reloaded.model.config._attn_implementation == "sdpa"
    line = refusal([*common, "--out", tmp_path / "flash", "--attention", "flash_attention_2"])
    assert line.startswith("error: --attention flash_attention_2: transformers cannot use it")
    line = refusal([*common, "--out", tmp_path / "flex", "--attention", "flex_attention"])
    assert "flex_attention trains on a GPU only" in line


@pytest.mark.skipif(
    not any(shutil.which(cxx) for cxx in ("g++", "clang++", os.environ.get("CXX", "g++"))),
    reason="torch.compile builds flex_attention's CPU kernel with a C++ compiler",
)
def test_flex_attention_keeps_packed_texts_apart(llama_rm):
    """The kernel the GPU benchmark packs with: transformers' block mask from the position ids
    keeps the probe's packed texts apart (its forward runs on a CPU, compiled: ~30 s; its
    backward needs a GPU)."""
    llama_rm.model.set_attn_implementation("flex_attention")
    check_packing(llama_rm.model, llama_rm.pad_id, CPU)
