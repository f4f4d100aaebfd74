"""The lab on synthetic prompts where the truth is known: a proxy that over-rewards a trick
overoptimizes, the sentences say what the numbers say, the trick is lifted among winners."""

import numpy as np
import pytest

from rewardkit.overopt.lab import analyse
from rewardkit.overopt.report import findings
from rewardkit.overopt.summary import mitigation_sentence
from rewardkit.overopt.tricks import WORLD_FLATTERY_PROBE, world_flattery_probe
from rewardkit.world import FLATTERY_SENTENCES

N_PROMPTS, N_CANDIDATES = 120, 16


def synthetic(seed=0, bias=3.0):
    """Gold ~ N(0, 1); a fifth of the responses carry the world's flattering sentence, which
    costs 1.5 gold and which the proxy over-rewards by ``bias``; a careful proxy by 0.5."""
    rng = np.random.default_rng(seed)
    gold, greedy, careful, responses = [], [], [], []
    for _ in range(N_PROMPTS):
        flag = rng.random(N_CANDIDATES) < 0.2
        g = rng.normal(size=N_CANDIDATES) - 1.5 * flag
        noise = rng.normal(0, 0.3, size=N_CANDIDATES)
        gold.append(g)
        greedy.append(g + bias * flag + noise)
        careful.append(g + 0.5 * flag + noise)
        responses.append(
            [f"answer {i}" + (f" {FLATTERY_SENTENCES[0]}" if f else "") for i, f in enumerate(flag)]
        )
    return gold, {"proxy": greedy, "worst case (min)": careful}, responses


@pytest.fixture(scope="module")
def lab():
    gold, selectors, responses = synthetic()
    result = analyse(selectors, gold, responses, bootstrap=200, world=True)
    result["findings"] = findings(result)
    return result


def test_a_proxy_that_rewards_a_trick_overoptimizes_and_says_so(lab):
    proxy = lab["selectors"]["proxy"]
    assert np.all(np.diff(proxy["proxy"]) > 0)  # the proxy keeps rising
    assert proxy["trend"]["verdict"] in ("falls", "flattens")
    assert proxy["observed_peak"]["n"] < N_CANDIDATES
    assert lab["findings"]["overoptimizes"]
    assert "stops helping" in lab["findings"]["paragraph"]
    trick = proxy["tricks"][WORLD_FLATTERY_PROBE]
    assert trick["share_of_winners"] > 2 * trick["share_of_candidates"]


def test_the_mitigation_sentence_matches_the_computed_peaks(lab):
    results = lab["selectors"]
    ours = results["worst case (min)"]["observed_peak"]["gold"]
    theirs = results["proxy"]["observed_peak"]["gold"]
    sentence = lab["findings"]["mitigations"]["worst case (min)"]
    assert ("reached a higher gold peak" in sentence) == (ours > theirs)
    assert ("did not reach a higher" in sentence) == (ours <= theirs)
    assert f"{ours:.3f}" in sentence and f"{theirs:.3f}" in sentence
    swapped = mitigation_sentence("worst case (min)", "proxy", results)
    assert ("did not reach" in swapped) == (theirs <= ours)


def test_an_honest_proxy_is_reported_as_not_overoptimizing():
    gold, _, responses = synthetic(seed=1)
    lab = analyse({"gold itself": gold}, gold, responses, bootstrap=100, world=True)
    assert lab["selectors"]["gold itself"]["trend"]["verdict"] == "rises"
    text = findings(lab)["paragraph"]
    assert "does not overoptimize" in text and not findings(lab)["overoptimizes"]


def test_world_flattery_probe_recognizes_every_world_sentence():
    probe = world_flattery_probe()
    assert set(probe.phrases) == set(FLATTERY_SENTENCES)
