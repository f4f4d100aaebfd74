"""Probes: the flip rate by hand, the registry, YAML probes, and run_probes' plumbing."""

import numpy as np
import pytest

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.eval.probes import (
    PROBES,
    Probe,
    default_probes,
    edited_pairs,
    flip_statistics,
    load_probe_file,
    phrase_probe,
    probe_summary,
    register_probe,
    run_probes,
)
from rewardkit.model.encode import EncodedPair, EncodeReport
from rewardkit.model.scores import ScoredPairs


def test_flip_rate_by_hand():
    """Pairs 0–2 are ranked correctly, pair 3 is not. After the edit the rejected reward is
    3, 1.5, 0.5, 5 against chosen 2, 2, 1, 0: only pair 0 flips → 1/3. Mean change of the
    rejected reward: (2 + 0.5 + 0.5 + 4)/4 = 1.75. Rejected wins after: pairs 0 and 3 → ½."""
    r_c, r_r = np.array([2.0, 2.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0, 1.0])
    stats = flip_statistics(r_c, r_r, r_c, np.array([3.0, 1.5, 0.5, 5.0]))
    assert stats["flip_rate"] == pytest.approx(1 / 3)
    assert stats["flips"] == 1 and stats["n_correct_before"] == 3
    assert stats["mean_reward_change"] == pytest.approx(1.75)
    assert stats["rejected_wins_after"] == pytest.approx(0.5)


def test_flip_uses_the_rescored_chosen_reward():
    """A deeper prompt cut can change r_c too; the flip compares against the new r_c'."""
    stats = flip_statistics(np.array([2.0]), np.array([1.0]), np.array([4.0]), np.array([3.0]))
    assert stats["flip_rate"] == 0.0


def test_registry_holds_the_required_probes():
    kinds = {p.name: p.kind for p in default_probes()}
    for name in ("whitespace", "trailing-newline", "first-letter-case", "markdown-emphasis"):
        assert kinds[name] == "meaning-preserving"
    for name in (
        "flattery",
        "reassurance",
        "filler",
        "repeat",
        "confident-prefix",
        "as-an-ai-hedge",
    ):
        assert kinds[name] == "trick"


def test_meaning_preserving_edits_keep_the_words():
    text = "Paris is the capital. It is in France."
    assert PROBES["whitespace"].edit(text, 0).split() == text.split()
    assert PROBES["trailing-newline"].edit(text, 0) == text + "\n"
    assert PROBES["first-letter-case"].edit(text, 0) == "paris is the capital. It is in France."
    assert PROBES["markdown-emphasis"].edit(text, 0) == "**Paris is the capital.** It is in France."
    assert PROBES["repeat"].edit("Hi.", 0) == "Hi.\n\nHi."


def test_phrase_probe_is_deterministic_and_varies_across_pairs():
    probe = phrase_probe("thanks", ["A!", "B!", "C!"], position="append")
    edits = [probe.edit("Answer.", i) for i in range(30)]
    assert edits == [probe.edit("Answer.", i) for i in range(30)]
    assert {e.split(" ")[-1] for e in edits} == {"A!", "B!", "C!"}
    assert all(e.startswith("Answer. ") for e in edits)
    prefix = phrase_probe("p", ["Surely:"], position="prepend")
    assert prefix.edit("yes", 0) == "Surely: yes"
    with pytest.raises(UserError):
        phrase_probe("empty", [])
    with pytest.raises(UserError):
        Probe("bad", "neither", lambda r, i: r, "")


def test_yaml_probe_files(tmp_path):
    bare = tmp_path / "nice.yaml"
    bare.write_text("- You are wonderful.\n- Great job!\n")
    [probe] = load_probe_file(bare)
    assert probe.name == "nice" and probe.kind == "trick"
    full = tmp_path / "full.yaml"
    full.write_text(
        "- name: hedge\n  kind: meaning-preserving\n  position: prepend\n  phrases: ['Well,']\n"
    )
    [hedge] = load_probe_file(full)
    assert hedge.kind == "meaning-preserving" and hedge.edit("ok", 3) == "Well, ok"
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: x\n")
    with pytest.raises(UserError):
        load_probe_file(broken)


def test_register_probe_from_python():
    probe = register_probe(phrase_probe("test-only-probe", ["zzz"]))
    try:
        assert PROBES["test-only-probe"] is probe
        assert probe in default_probes()
    finally:
        PROBES.pop("test-only-probe")


class WordCountTarget:
    """A stand-in reward model: reward = number of words (scores pairs like the Scorer)."""

    k = 1
    temperature = 1.0

    def score_pairs(self, pairs, **_):
        pairs = list(pairs)
        r_c = np.array([len(p.chosen.split()) for p in pairs], dtype=float)
        r_r = np.array([len(p.rejected.split()) for p in pairs], dtype=float)
        encoded = [
            EncodedPair(np.zeros(1), np.zeros(1), 0.0, p.tie, 1.0, i) for i, p in enumerate(pairs)
        ]
        return ScoredPairs(
            pairs, encoded, EncodeReport(), r_c, r_r, r_c[None], r_r[None], None, None
        )


def test_run_probes_on_a_word_counting_model():
    """Chosen has 5 words; rejected 3 (pair a) or 1 (pair b). Appending 'w w w' (3 words)
    lifts the rejected to 6 and 4: pair a flips, pair b does not → flip rate ½."""
    pairs = [
        PreferencePair("q", "one two three four five", "x y z"),
        PreferencePair("q2", "one two three four five", "x"),
        PreferencePair("q3", "a b", "c d e f g h", tie=True),
    ]
    target = WordCountTarget()
    scored = target.score_pairs(pairs)
    results = run_probes(target, scored, [phrase_probe("pad", ["w w w"])])
    assert results["pad"]["flip_rate"] == pytest.approx(0.5)
    assert results["pad"]["n"] == 2  # the tie is left out
    assert results["pad"]["mean_reward_change"] == pytest.approx(3.0)
    summary = probe_summary(results)
    assert summary["worst_trick"] == {"probe": "pad", "flip_rate": 0.5}
    assert summary["worst_meaning_preserving"] is None
    assert [p.rejected for p in edited_pairs(pairs[:1], PROBES["trailing-newline"])] == ["x y z\n"]
