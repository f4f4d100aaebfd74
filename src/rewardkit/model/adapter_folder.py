"""A LoRA adapter folder (``rewardkit train --lora-r R --no-merge-lora``), opened by the one
loader like any reward model folder.

It holds peft's ``adapter_config.json`` (naming the base model) and
``adapter_model.safetensors`` — the low-rank matrices and the fully trained head (and an
encoder's pooler) —, with the tokenizer, ``rewardkit.json`` and the model card beside them.
Loading rebuilds the base as training did (no dropout, the added pad token of decoders: its
embedding row never reaches a reward, as padding is masked and the pad id is never in a
text), applies the adapter with peft and merges it: the scorer then sees a plain HF model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rewardkit.errors import UserError
from rewardkit.files import write_json_atomic
from rewardkit.model.hf_folder import load_classifier, no_dropout_overrides

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass
class AdapterFiles:
    """What a ``--no-merge-lora`` run saves: peft's config and the adapter's tensors."""

    config: dict
    tensors: dict

    def write(self, directory: Path) -> None:
        from safetensors.torch import save_file

        config = {k: sorted(v) if isinstance(v, set) else v for k, v in self.config.items()}
        write_json_atomic(directory / ADAPTER_CONFIG, config)
        save_file({k: v.contiguous() for k, v in self.tensors.items()}, directory / ADAPTER_WEIGHTS)


def is_adapter_folder(directory: Path) -> bool:
    return (Path(directory) / ADAPTER_CONFIG).is_file()


def load_adapter_classifier(directory: Path, tokenizer, trust_remote_code: bool):
    """The base model named by the adapter, with the adapter merged into it."""
    from peft import PeftModel

    base = json.loads((directory / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if not base:
        raise UserError("names no base_model_name_or_path", where=str(directory / ADAPTER_CONFIG))
    dropout_off = no_dropout_overrides(base, trust_remote_code)
    model = load_classifier(base, trust_remote_code, complete=False, **dropout_off)
    if model.get_input_embeddings().num_embeddings < len(tokenizer):  # the added pad token
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    return PeftModel.from_pretrained(model, directory).merge_and_unload()
