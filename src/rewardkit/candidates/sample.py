"""``rewardkit sample``: N responses per prompt from a local HF causal LM → candidates file.

Step 2 of the reward-modelling loop (InstructGPT, Ouyang et al. 2022: sample K outputs per
prompt, then compare them). Each prompt gets its own seed (``--seed`` + its index), so one
prompt's samples do not depend on which other prompts are in the file. Everything needed to
reproduce the file — model, chat template (text), seed, sampling settings, library versions —
is written next to it as ``OUT.meta.json``.

Prompt → LM input: with ``--chat-template auto`` an LM that has a chat template gets
``apply_chat_template(messages, add_generation_prompt=True)`` (hh-rlhf transcripts become
user/assistant turns); one without continues the text as it is (chat messages are rendered
with rewardkit's default hh-style template). ``--chat-template none`` always continues text.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import asdict
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

from rewardkit.candidates.config import SampleConfig
from rewardkit.candidates.format import write_candidates
from rewardkit.candidates.prompts import prompt_messages, read_prompts
from rewardkit.candidates.smollm2 import is_smollm2_alias, smollm2_folder
from rewardkit.errors import UserError
from rewardkit.files import write_json_atomic
from rewardkit.model.folder_check import check_model_folder
from rewardkit.model.template import DEFAULT_CHAT_TEMPLATE
from rewardkit.progress import progress_bar
from rewardkit.version import __version__


def load_causal_lm(name: str, *, trust_remote_code: bool = False):
    """``(model, tokenizer, source)`` for a local folder or the ``smollm2`` alias; a folder is
    checked first as every model folder is (:func:`check_model_folder`: config, safetensors
    weights complete, tokenizer files, no remote code without ``trust_remote_code``)."""
    source = str(smollm2_folder()) if is_smollm2_alias(name) else name
    if not is_smollm2_alias(name):
        check_model_folder(source, role="backbone", trust_remote_code=trust_remote_code)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    try:  # safetensors only: loading never unpickles
        model = AutoModelForCausalLM.from_pretrained(
            source, use_safetensors=True, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise UserError(
            f"cannot load a causal LM ({str(exc).splitlines()[0]}); pass a folder with a "
            "causal LM's safetensors weights, or --model smollm2",
            where=name,
        ) from None
    model.eval()
    return model, tokenizer, source


class PromptRenderer:
    """Turns a prompt into LM input ids the way ``--chat-template`` says."""

    def __init__(self, tokenizer, mode: str, system: str | None):
        own = getattr(tokenizer, "chat_template", None)
        self.tokenizer = tokenizer
        self.system = system
        self.use_chat = mode == "auto" and isinstance(own, str) and bool(own.strip())
        self.template = own if self.use_chat else DEFAULT_CHAT_TEMPLATE
        self.template_source = "lm" if self.use_chat else "none (text continued as it is)"

    def ids(self, prompt) -> list[int]:
        if self.use_chat:
            text = self.tokenizer.apply_chat_template(
                prompt_messages(prompt, self.system),
                chat_template=self.template,
                add_generation_prompt=True,
                tokenize=False,
            )
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if not isinstance(prompt, str):  # messages for a plain LM: hh-style transcript
            prompt = self.tokenizer.apply_chat_template(
                prompt, chat_template=self.template, add_generation_prompt=True, tokenize=False
            )
        return self.tokenizer(prompt)["input_ids"]


def sample_candidates(config: SampleConfig, *, progress: bool | None = None) -> dict:
    """Sample, write ``config.out`` and ``config.out + '.meta.json'``; returns a summary."""
    if config.threads:
        torch.set_num_threads(config.threads)
    prompts = read_prompts(config.prompts, limit=config.limit)
    model, tokenizer, source = load_causal_lm(
        config.model, trust_remote_code=config.trust_remote_code
    )
    renderer = PromptRenderer(tokenizer, config.chat_template, config.system_prompt)
    eos_ids = _eos_ids(model, tokenizer)
    generation = _generation_settings(config, tokenizer, eos_ids)
    rows, started, n_tokens = [], time.perf_counter(), 0
    with progress_bar("sampling", len(prompts), show=progress) as bar, torch.inference_mode():
        for index, prompt in enumerate(prompts):
            seed = config.seed + index
            torch.manual_seed(seed)
            ids = torch.tensor([renderer.ids(prompt)])
            out = generate_from_shared_prompt(model, ids, config.n, generation)
            responses, reasons = [], []
            for row in out[:, ids.shape[1] :].tolist():
                stop = next((i for i, t in enumerate(row) if t in eos_ids), None)
                tokens = row if stop is None else row[:stop]
                n_tokens += len(tokens)
                responses.append(tokenizer.decode(tokens, skip_special_tokens=True).strip())
                reasons.append("length" if stop is None else "stop")
            rows.append(
                {
                    "id": str(index),
                    "prompt": prompt,
                    "responses": responses,
                    "seed": seed,
                    "finish_reasons": reasons,
                }
            )
            bar.update(1, rate=n_tokens / max(time.perf_counter() - started, 1e-9))
    write_candidates(config.out, rows)
    meta_path = Path(str(config.out) + ".meta.json")
    write_json_atomic(
        meta_path,
        {
            "model": config.model,
            "model_source": source,
            "chat_template": renderer.template if renderer.use_chat else None,
            "chat_template_source": renderer.template_source,
            "sampling": {
                **{k: v for k, v in generation.items() if k != "eos_token_id"},
                "eos_token_ids": eos_ids,
                "seed": config.seed,
                "seed_rule": "prompt i uses seed + i (torch.manual_seed)",
            },
            "config": asdict(config),
            "prompts": len(prompts),
            "responses": len(prompts) * config.n,
            "generated_tokens": n_tokens,
            "seconds": round(time.perf_counter() - started, 2),
            "versions": {
                "rewardkit": __version__,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
            },
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return {
        "prompts": len(prompts),
        "responses": len(prompts) * config.n,
        "stopped": sum(r["finish_reasons"].count("stop") for r in rows),
        "out": config.out,
        "meta": str(meta_path),
    }


def generate_from_shared_prompt(model, ids: torch.Tensor, n: int, generation: dict):
    """``n`` continuations of one prompt ``ids (1, L)``; the prompt is run through the model
    once and its key/value cache copied ``n`` times, instead of ``generate`` running the same
    prompt ``n`` times (``num_return_sequences``), which is most of the work for long prompts
    on a CPU. The sampling itself is ``generate``'s, step for step (same random draws)."""
    from transformers import DynamicCache

    settings = {**generation, "num_return_sequences": 1}
    if ids.shape[1] < 2:
        return model.generate(
            input_ids=ids.repeat(n, 1), attention_mask=torch.ones_like(ids).repeat(n, 1), **settings
        )
    cache = DynamicCache(config=model.config)
    model(input_ids=ids[:, :-1], cache=cache, use_cache=True)
    cache.batch_repeat_interleave(n)
    batch = ids.repeat(n, 1)
    return model.generate(
        input_ids=batch, attention_mask=torch.ones_like(batch), cache=cache, **settings
    )


def _generation_settings(config: SampleConfig, tokenizer, eos_ids: list[int]) -> dict:
    """``generate()``'s keyword arguments (also recorded in the meta file)."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    generation = dict(
        max_new_tokens=config.max_new_tokens,
        do_sample=config.temperature > 0,
        num_return_sequences=config.n,
        pad_token_id=pad_id,
        eos_token_id=eos_ids,
        repetition_penalty=config.repetition_penalty,
    )
    if config.temperature > 0:
        generation.update(
            temperature=config.temperature, top_p=config.top_p, top_k=config.top_k or None
        )
    return generation


def _eos_ids(model, tokenizer) -> list[int]:
    """Every id that ends a response: the generation config's EOS ids and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise UserError("the LM has no EOS token; responses would never stop")
    return ids
