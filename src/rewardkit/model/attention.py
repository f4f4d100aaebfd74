"""Attention kernels chosen for speed without changing the function.

``rewardkit_sdpa`` is PyTorch's scaled-dot-product attention, except that under bf16 autocast
on a CPU it runs in fp32: PyTorch's CPU flash-attention *backward* in bf16 was ~6× slower than
in fp32 on the reference machine (profiled: 1.97 s vs 0.34 s per MiniLM step), which is why
naive bf16 autocast barely speeds training up. Matmuls keep bf16 (AMX); only the attention
core is computed in fp32, so results stay within bf16 tolerance of the default path.

:func:`set_attention` switches a model to another of transformers' implementations
(``rewardkit train --attention``: flex_attention for packed batches on a GPU).
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

from rewardkit.errors import UserError
from rewardkit.model.hf_folder import first_line

NAME = "rewardkit_sdpa"


def fp32_core_sdpa(module, query, key, value, attention_mask, **kwargs):
    if query.dtype == torch.bfloat16 and query.device.type == "cpu":
        with torch.autocast("cpu", enabled=False):
            mask = attention_mask
            if mask is not None and mask.dtype.is_floating_point:
                mask = mask.float()
            out, weights = sdpa_attention_forward(
                module, query.float(), key.float(), value.float(), mask, **kwargs
            )
        return out.to(torch.bfloat16), weights
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


AttentionInterface.register(NAME, fp32_core_sdpa)
AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


def set_attention(model, name: str | None) -> None:
    """Switch the HF ``model`` (and its sub-models) to the attention implementation ``name``;
    None: the one transformers picks when it loads the model, as the loader will. What
    transformers refuses (a kernel that is not installed, a model without it) is one line."""
    try:
        model.set_attn_implementation(name)
    except (ImportError, ValueError, OSError, RuntimeError) as exc:
        raise UserError(
            f"--attention {name}: transformers cannot use it for this model "
            f"({first_line(exc)}); use --attention auto or sdpa"
        ) from None


def use_fast_attention(model) -> bool:
    """Switch ``model`` to ``rewardkit_sdpa`` when it runs on SDPA; returns whether it did."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    config._attn_implementation = NAME
    for sub in (getattr(config, "text_config", None),):
        if sub is not None and getattr(sub, "_attn_implementation", None) == "sdpa":
            sub._attn_implementation = NAME
    return True


def shape_stable_attention(device: torch.device):
    """For scoring on CUDA: SDPA without the cuDNN backend.

    PyTorch on Hopper picks cuDNN attention for bf16, and cuDNN builds an execution plan for
    every new (batch, length) shape: a profile of bf16 scoring on an H100 spent 91% of its host
    time in ``_cudnn_attention_forward`` (16 ms a call) on texts of new lengths, 59 texts/s
    against 1,233 once every shape had been seen (BENCHMARKS.md). Scoring and serving meet
    shapes they have never seen all the time, so they use the flash / memory-efficient kernels,
    which need no plan. Elsewhere this changes nothing.
    """
    from contextlib import nullcontext

    from torch.nn.attention import SDPBackend, sdpa_kernel

    if device.type != "cuda":
        return nullcontext()
    return sdpa_kernel(
        [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    )
