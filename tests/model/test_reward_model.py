"""RewardModel scores: plain ``transformers`` reproduces them from the saved folder, and neither
batch size, padding side nor the batch a text shares changes them; compare() and bf16."""

import math

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rewardkit.model import RewardModel
from rewardkit.model.inference import forward_sequences

TEXT_PROMPT = "what is a good tea ?"
CHAT_PROMPT = [
    {"role": "system", "content": "be good"},
    {"role": "user", "content": "what is a good tea ?"},
]
RESPONSES = ["green tea is good .", "no", "i can help you with tea and coffee please ask me ."]


def score_ids(model, sequences, **kwargs):
    """Rewards of token-id sequences through the one forward loop."""
    return forward_sequences(model, sequences, **kwargs).rewards


def plain_transformers_scores(directory, prompt, responses):
    """The recipe a user without rewardkit follows, from the saved folder's files only:

    * text prompt: ``prompt + " " + response``, tokenized with the tokenizer's special tokens;
    * chat prompt: ``tokenizer.apply_chat_template(messages + [assistant], tokenize=False)``,
      tokenized with ``add_special_tokens`` as ``rewardkit.json``'s template says (False when
      the template is the backbone's own: it writes BOS itself);
    * decoders (``append_eos``): end the ids with EOS unless they already end with it;
    * one unpadded forward per text, reward = ``logits[0, 0]``.
    """
    import json

    info = json.loads((directory / "rewardkit.json").read_text())
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    out = []
    for response in responses:
        if isinstance(prompt, str):
            text, add_special = prompt + " " + response, True
        else:
            messages = prompt + [{"role": "assistant", "content": response}]
            text = tokenizer.apply_chat_template(messages, tokenize=False)
            add_special = info["template"]["add_special_tokens_chat"]
        ids = tokenizer(text, add_special_tokens=add_special)["input_ids"]
        if info["template"]["append_eos"] and ids[-1] != tokenizer.eos_token_id:
            ids = ids + [tokenizer.eos_token_id]
        with torch.no_grad():
            out.append(float(model(input_ids=torch.tensor([ids])).logits[0, 0]))
    return np.array(out)


@pytest.fixture(params=["tiny_bert_rm_dir", "tiny_llama_rm_dir", "tiny_llama_chat_rm_dir"])
def saved_dir(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("prompt", [TEXT_PROMPT, CHAT_PROMPT], ids=["text", "chat"])
def test_plain_transformers_reproduces_score(saved_dir, prompt):
    """For each backbone kind and prompt kind, |rewardkit − plain HF| < 1e-5 per response, and
    the responses' rewards are not all equal (so a constant model could not pass)."""
    model = RewardModel.from_pretrained(saved_dir)
    ours = model.score(prompt, RESPONSES)
    plain = plain_transformers_scores(saved_dir, prompt, RESPONSES)
    np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-5)
    assert np.ptp(ours) > 1e-3


def test_plain_transformers_batched_padding_matches_for_decoder(tiny_llama_rm_dir):
    """A right-padded HF batch (``tokenizer(..., padding=True)``) pools at the last non-pad
    token, which is the EOS only because the saved pad token differs from EOS."""
    model = RewardModel.from_pretrained(tiny_llama_rm_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_rm_dir)
    hf = AutoModelForSequenceClassification.from_pretrained(tiny_llama_rm_dir).eval()
    texts = [TEXT_PROMPT + " " + r + tokenizer.eos_token for r in RESPONSES]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert (batch["attention_mask"] == 0).any()  # there is padding
    with torch.no_grad():
        plain = hf(**batch).logits[:, 0].double().numpy()
    np.testing.assert_allclose(model.score(TEXT_PROMPT, RESPONSES), plain, rtol=0, atol=1e-5)


def _mixed_sequences(model, n=24):
    """n texts of 1..19 prompt words (random order) + "good yes", as token ids."""
    rng = np.random.default_rng(0)
    words = ["tea", "coffee", "good", "bad", "cats", "dogs", "water", "help"]
    prompts = [" ".join(rng.choice(words, size=int(rng.integers(1, 20)))) for _ in range(n)]
    return [f.ids for f in model.encoder.fit_texts([(p, "good yes") for p in prompts])]


@pytest.mark.parametrize("backbone", ["tiny_bert_rm_dir", "tiny_llama_rm_dir"])
def test_batch_size_does_not_change_scores(request, backbone, monkeypatch):
    """Scores of 24 texts of mixed lengths with batch size 1 (no padding) equal those with
    batch size 3 and 32 (padded to different lengths), and those with every batch padded to a
    multiple of 64 (as on CUDA), to 1e-5."""
    model = RewardModel.from_pretrained(request.getfixturevalue(backbone))
    sequences = _mixed_sequences(model)
    assert len({len(s) for s in sequences}) > 5
    alone = score_ids(model, sequences, batch_size=1)
    for batch_size in (3, 32):
        np.testing.assert_allclose(
            score_ids(model, sequences, batch_size=batch_size), alone, rtol=0, atol=1e-5
        )
    assert model.pad_multiple == 1  # on the CPU
    monkeypatch.setattr(RewardModel, "pad_multiple", property(lambda self: 64))
    np.testing.assert_allclose(score_ids(model, sequences, batch_size=3), alone, rtol=0, atol=1e-5)


def test_left_padding_gives_the_same_scores_for_decoder(tiny_llama_rm_dir):
    """``forward_sequences(padding_side="left")`` (position ids count real tokens) equals right
    padding to 1e-5."""
    model = RewardModel.from_pretrained(tiny_llama_rm_dir)
    sequences = _mixed_sequences(model)
    right = score_ids(model, sequences, batch_size=32, padding_side="right")
    left = score_ids(model, sequences, batch_size=32, padding_side="left")
    np.testing.assert_allclose(left, right, rtol=0, atol=1e-5)


def test_left_padding_is_refused_for_encoders(tiny_bert_rm_dir):
    from rewardkit.errors import UserError

    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    with pytest.raises(UserError, match="left padding"):
        score_ids(model, [[101, 102]], padding_side="left")


def test_score_keeps_input_order_and_normalizes(tiny_bert_rm_dir):
    """score() of [long, short, medium] equals scoring each alone (batches are length-sorted
    inside); normalize=True gives (r − 0.25) / 2 with the fixture's mean 0.25 and std 2."""
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    responses = [RESPONSES[2], RESPONSES[1], RESPONSES[0]]
    together = model.score(TEXT_PROMPT, responses)
    alone = np.array([model.score(TEXT_PROMPT, [r])[0] for r in responses])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        model.score(TEXT_PROMPT, responses, normalize=True),
        (together - 0.25) / 2.0,
        rtol=0,
        atol=1e-9,
    )


def test_compare_is_sigmoid_of_reward_difference(tiny_bert_rm_dir):
    """compare(p, a, b) = σ((r_a − r_b)/T): T = 1 without calibration, then T = 0.5 from
    ``info.temperature``, then γ = 3 as well; compare(p, b, a) = 1 − compare(p, a, b)."""
    model = RewardModel.from_pretrained(tiny_bert_rm_dir)
    a, b = RESPONSES[0], RESPONSES[2]
    r_a, r_b = model.score(TEXT_PROMPT, [a, b])
    assert abs(r_a - r_b) > 1e-3
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert model.compare(TEXT_PROMPT, a, b) == pytest.approx(sigmoid(r_a - r_b), abs=1e-6)
    model.info.temperature = 0.5
    assert model.compare(TEXT_PROMPT, a, b) == pytest.approx(sigmoid((r_a - r_b) / 0.5), abs=1e-6)
    assert model.compare(TEXT_PROMPT, b, a) == pytest.approx(
        1 - sigmoid((r_a - r_b) / 0.5), abs=1e-6
    )
    # the power form: z = sign(Δ)·|Δ/T|^γ with γ = 3 from ``info.calibration_exponent``
    model.info.calibration_exponent = 3.0
    z = math.copysign(abs((r_a - r_b) / 0.5) ** 3, r_a - r_b)
    assert model.compare(TEXT_PROMPT, a, b) == pytest.approx(sigmoid(z), abs=1e-6)
    assert model.compare(TEXT_PROMPT, b, a) == pytest.approx(1 - sigmoid(z), abs=1e-6)


def test_bf16_scores_stay_close_to_fp32(tiny_bert_rm_dir):
    """bf16 autocast on the tiny BERT (rewards around −1.2, spread ~0.45): every reward within
    2e-2 of fp32, and each pair (consecutive responses) keeps its order; the bf16 run must
    really differ from fp32 (autocast is on).

    (The tiny Llama's rewards are larger, ±2, and its bf16 error reaches ~5e-2: bf16 keeps
    8 mantissa bits, so the error grows with the reward's scale.)"""
    directory = tiny_bert_rm_dir
    fp32 = RewardModel.from_pretrained(directory)
    bf16 = RewardModel.from_pretrained(directory, precision="bf16")
    assert bf16.info.precision == "bf16"
    responses = ["good", "bad", "yes", "no", "green tea", "cats and dogs", "help me please", "."]
    r32 = fp32.score(TEXT_PROMPT, responses)
    r16 = bf16.score(TEXT_PROMPT, responses)
    assert not np.array_equal(r32, r16)
    np.testing.assert_allclose(r16, r32, rtol=0, atol=2e-2)
    gaps = r32[0::2] - r32[1::2]
    assert np.all(np.abs(gaps) > 4e-2), gaps  # pairs far enough apart to compare rankings
    assert np.array_equal(np.sign(r16[0::2] - r16[1::2]), np.sign(gaps))
