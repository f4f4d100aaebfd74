"""Which cheap tricks best-of-n selects for: a trick's share among winners vs among candidates.

A proxy that rewards a trick the gold reward ignores (a flattering sentence, filler, a
confident prefix) makes best-of-n pick responses that carry it more often than they occur. A
response carries a trick when it contains one of the trick probe's phrases
(:mod:`rewardkit.eval.probes`); its expected share among best-of-n winners comes from the same
unbiased estimator as the curves (:mod:`rewardkit.overopt.estimator`).
"""

from __future__ import annotations

import numpy as np

from rewardkit.eval.probes import Probe, default_probes, phrase_probe
from rewardkit.overopt.estimator import expected_best_of_n
from rewardkit.world import FLATTERY_SENTENCES

WORLD_FLATTERY_PROBE = "world-flattery-bias"


def world_flattery_probe() -> Probe:
    """The demo world's annotator bias as a probe: one of its flattering sentences appended."""
    return phrase_probe(
        WORLD_FLATTERY_PROBE,
        FLATTERY_SENTENCES,
        kind="trick",
        description="appends one of the demo world's flattering sentences, "
        "which its annotators (not gold) reward",
    )


def trick_probes(world: bool) -> list[Probe]:
    """The phrase tricks to look for: the default trick probes, and the world's own bias."""
    probes = [p for p in default_probes() if p.kind == "trick" and p.phrases]
    return ([world_flattery_probe()] if world else []) + probes


def carries(responses: list[str], probe: Probe) -> np.ndarray:
    """``(N,)`` 1.0 where a response contains one of ``probe``'s phrases, else 0.0."""
    return np.array([float(any(p in r for p in probe.phrases)) for r in responses])


def trick_shares(
    responses_by_prompt: list[list[str]], scores_by_prompt: list[np.ndarray], n: int, probe: Probe
) -> dict | None:
    """``probe``'s share among all candidates and among best-of-``n`` winners (selection by
    the scores), averaged over prompts; None when no candidate carries it."""
    flags = [carries(responses, probe) for responses in responses_by_prompt]
    overall = float(np.mean([f.mean() for f in flags]))
    if overall == 0:
        return None
    winners = float(
        np.mean([expected_best_of_n(s, f)[n - 1] for s, f in zip(scores_by_prompt, flags)])
    )
    return {
        "share_of_candidates": overall,
        "share_of_winners": winners,
        "lift": winners / overall,
        "n": n,
        "description": probe.description,
    }
