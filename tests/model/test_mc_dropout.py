"""MC dropout (Gal & Ghahramani 2016) through the one scorer: passes that differ, the same
spread for the same seed, the deterministic reward untouched, every module restored, and
where the dropout probability comes from."""

import json
import shutil

import numpy as np
import pytest
import torch

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.model.loading import load_reward_model
from rewardkit.model.mc_dropout import MCDropout, dropout_active, dropout_probability

PAIRS = [
    PreferencePair(prompt=f"question {i}?", chosen="a kind, helpful answer", rejected=f"no {i}")
    for i in range(6)
]


def _modes(module: torch.nn.Module) -> list:
    """Every module's training flag and dropout probability, in order."""
    return [
        (m.training, getattr(m, "p", None), getattr(m, "attention_dropout", None))
        for m in module.modules()
    ]


def test_passes_differ_and_the_same_seed_repeats_them(tiny_bert_rm_dir):
    """The saved config says dropout 0 (trained with dropout off); the backbone's 0.1 is used.
    Two runs with seed 3 give identical Δ; seed 4 gives others; the passes differ from each
    other, so the spread is positive."""
    scorer = load_reward_model(tiny_bert_rm_dir)
    scored = scorer.score_pairs(PAIRS)
    first = scorer.mc_dropout_deltas(scored, MCDropout(4, seed=3))
    again = scorer.mc_dropout_deltas(scored, MCDropout(4, seed=3))
    other = scorer.mc_dropout_deltas(scored, MCDropout(4, seed=4))
    assert first.deltas.shape == (4, len(PAIRS))
    np.testing.assert_array_equal(first.deltas, again.deltas)
    assert not np.allclose(first.deltas, other.deltas)
    assert (first.deltas.std(axis=0) > 0).all()
    assert first.p == pytest.approx(0.1) and "backbone" in first.p_source


def test_the_deterministic_reward_and_every_module_come_back(tiny_bert_rm_dir):
    """After MC passes the model is in eval mode with dropout 0 everywhere, scores as before
    (to the last bit), and the caller's torch random state is where it was."""
    scorer = load_reward_model(tiny_bert_rm_dir)
    before_modes = _modes(scorer.primary.model)
    scored = scorer.score_pairs(PAIRS)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    scorer.mc_dropout_deltas(scored, MCDropout(3, p=0.3, seed=0))
    assert torch.equal(torch.get_rng_state(), state)
    assert _modes(scorer.primary.model) == before_modes
    again = scorer.score_pairs(PAIRS)
    np.testing.assert_array_equal(again.r_chosen, scored.r_chosen)
    np.testing.assert_array_equal(again.r_rejected, scored.r_rejected)


def test_p_zero_passes_equal_the_deterministic_reward(tiny_bert_rm_dir):
    """With every dropout layer at p → 0 the passes are the deterministic Δ (dropout is the
    only source of noise); a small p near 0 stays within 1e-5 … and p = 0 is a no-op."""
    scorer = load_reward_model(tiny_bert_rm_dir)
    scored = scorer.score_pairs(PAIRS)
    delta = scored.r_chosen - scored.r_rejected
    model = scorer.primary.model
    before = _modes(model)
    with dropout_active(model, 0.0):
        assert _modes(model) == before
    tiny = scorer.mc_dropout_deltas(scored, MCDropout(2, p=1e-9, seed=0))
    np.testing.assert_allclose(tiny.deltas, np.stack([delta, delta]), atol=1e-5)


def test_llama_attention_dropout_is_switched_on_and_back(tiny_llama_rm_dir):
    """Llama keeps its attention dropout as a float (``attention_dropout``), 0 in this config
    and in its backbone's: MC dropout asks for --mc-dropout-p, and with it the attention
    modules are in training mode at p inside the block and as before after it."""
    scorer = load_reward_model(tiny_llama_rm_dir)
    with pytest.raises(UserError, match="--mc-dropout-p"):
        dropout_probability(scorer.primary)
    model = scorer.primary.model
    before = _modes(model)
    with dropout_active(model, 0.25):
        attention = [m for m in model.modules() if hasattr(m, "attention_dropout")]
        assert attention and all(m.attention_dropout == 0.25 and m.training for m in attention)
    assert _modes(model) == before
    scored = scorer.score_pairs(PAIRS)
    deltas = scorer.mc_dropout_deltas(scored, MCDropout(3, p=0.25, seed=0)).deltas
    assert (deltas.std(axis=0) > 0).any()


def test_where_p_comes_from(tiny_bert_rm_dir, tmp_path):
    """--mc-dropout-p first; then the model's own config when above 0; then the backbone's;
    a backbone that cannot be read is one line naming --mc-dropout-p."""
    model = load_reward_model(tiny_bert_rm_dir).primary
    assert dropout_probability(model, 0.2) == (0.2, "--mc-dropout-p")
    model.model.config.hidden_dropout_prob = 0.05
    assert dropout_probability(model) == (0.05, "the model's config")
    model.model.config.hidden_dropout_prob = 0.0
    moved = tmp_path / "moved"
    shutil.copytree(tiny_bert_rm_dir, moved)
    sidecar = json.loads((moved / "rewardkit.json").read_text())
    sidecar["backbone"] = str(tmp_path / "gone")
    (moved / "rewardkit.json").write_text(json.dumps(sidecar))
    with pytest.raises(UserError, match="cannot be read here.*--mc-dropout-p"):
        dropout_probability(load_reward_model(moved).primary)


def test_members_and_bad_plans_are_refused(tiny_bert_rm_dir):
    members = load_reward_model([tiny_bert_rm_dir, tiny_bert_rm_dir])
    with pytest.raises(UserError, match="one member folder"):
        members.mc_dropout_probability(MCDropout(2))
    with pytest.raises(UserError, match="at least 2 passes"):
        MCDropout(1)
    with pytest.raises(UserError, match="between 0 and 1"):
        MCDropout(3, p=1.0)
