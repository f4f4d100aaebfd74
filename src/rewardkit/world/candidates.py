"""Candidate sets for the overoptimization lab: N responses per held-out prompt, gold known.

Each response's attributes are drawn independently with the world's rates
(:func:`~rewardkit.world.generator.sample_attributes`), so a set spans the whole range of gold
and about ``flattery_rate`` of its responses carry the annotators' systematic bias — the
flattering closing sentence that labels reward and gold does not. A proxy that learned the bias
prefers them; best-of-n over many candidates shows what that costs in gold.

Rows are in the candidates format (:mod:`rewardkit.candidates.format`) plus the truth:

==============  ===========================================================================
field           meaning
==============  ===========================================================================
id              ``world-cand-00000`` …
prompt          a held-out (eval-split) prompt text; with more sets than held-out prompts
                each prompt is used again with fresh candidates
responses       N response texts
gold            N gold rewards (:func:`~rewardkit.world.gold.gold_reward`)
flattered       N booleans: ends with one of :data:`FLATTERY_SENTENCES`
attributes      N attribute dicts
subset, topic   the prompt's family and topic
==============  ===========================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardkit.world.generator import World, render_response, sample_attributes
from rewardkit.world.gold import gold_reward


def world_candidates(
    world: World, n_sets: int, n_candidates: int, *, seed: int = 0
) -> list[dict[str, Any]]:
    """``n_sets`` candidate sets of ``n_candidates`` responses on the world's held-out prompts,
    deterministic from ``seed`` (independent of the world's own pairs)."""
    if n_sets < 1 or n_candidates < 2:
        raise ValueError("need at least one set of at least two candidates")
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_sets, n_candidates]))
    prompts = world.eval_prompts
    rows = []
    for index in range(n_sets):
        prompt = prompts[index % len(prompts)]
        attributes = [sample_attributes(rng, world.config) for _ in range(n_candidates)]
        rows.append(
            {
                "id": f"world-cand-{index:05d}",
                "prompt": prompt.text,
                "responses": [render_response(rng, prompt, a) for a in attributes],
                "gold": [gold_reward(a) for a in attributes],
                "flattered": [a.flattery for a in attributes],
                "attributes": [a.to_dict() for a in attributes],
                "subset": prompt.family,
                "topic": prompt.topic,
            }
        )
    return rows
