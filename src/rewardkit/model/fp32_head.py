"""Under bf16 autocast, compute the reward head in fp32, so the reward is not rounded to bf16.

bf16 keeps 8 significant bits: a reward near 4 is only representable to ±0.016, and a linear
layer under autocast returns bf16. The head of a sequence classifier (BERT: pooler dense + tanh,
then ``classifier``; RoBERTa: ``classifier``'s dense + ``out_proj``; decoders: ``score``) costs a
few h×h multiply-adds per text, nothing next to the backbone, so rewardkit runs it with
autocast off on fp32 inputs: bf16 then only affects the backbone's activations (the 2e-2
tolerance of ``bench/score_vs_pipeline.py``). In fp32 nothing changes.
"""

from __future__ import annotations

import functools

import torch

HEAD_MODULES = ("classifier", "score")  # the classification head's attribute on the model


def _in_fp32(forward):
    @functools.wraps(forward)
    def fp32_forward(*args, **kwargs):
        tensor = next((a for a in args if torch.is_tensor(a)), None)
        if tensor is None or not torch.is_autocast_enabled(tensor.device.type):
            return forward(*args, **kwargs)
        args = [a.float() if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
        with torch.autocast(device_type=tensor.device.type, enabled=False):
            return forward(*args, **kwargs)

    fp32_forward.rewardkit_fp32 = True
    return fp32_forward


def head_modules(hf_model) -> list[torch.nn.Module]:
    """The pooler (if any) and the classification head of ``hf_model``."""
    modules = [
        getattr(hf_model, name)
        for name in HEAD_MODULES
        if isinstance(getattr(hf_model, name, None), torch.nn.Module)
    ]
    base = getattr(hf_model, getattr(hf_model, "base_model_prefix", ""), None)
    pooler = getattr(base, "pooler", None)
    if isinstance(pooler, torch.nn.Module):
        modules.insert(0, pooler)
    return modules


def keep_head_in_fp32(hf_model) -> int:
    """Patch the head modules' ``forward`` (on the instances); returns how many were patched."""
    patched = 0
    for module in head_modules(hf_model):
        if not getattr(module.forward, "rewardkit_fp32", False):
            module.forward = _in_fp32(module.forward)
            patched += 1
    return patched
