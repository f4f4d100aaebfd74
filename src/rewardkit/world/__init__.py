"""A demo world of preference data with a known gold reward.

Offline and deterministic from a seed: prompts from five task families, responses built
from attributes that set the gold reward (relevance, detail, tone, filler), labels from
simulated Bradley–Terry annotators with their own noise τ and one shared bias that gold
does not reward (an appended flattering sentence, :data:`FLATTERY_SENTENCES`). Every claim
about a reward model trained on it can be checked against the truth::

    world = build_world(WorldConfig(seed=0))
    noise_ceiling(world.eval)                         # accuracy of gold on held-out labels
    accuracy_against_gold(world.eval, r_chosen, r_rejected)
    write_world(world, "out/world")                   # train/eval/gold .jsonl + world.json
"""

from rewardkit.world.annotators import Annotator, make_annotators
from rewardkit.world.candidates import world_candidates
from rewardkit.world.generator import (
    PromptSpec,
    World,
    WorldConfig,
    all_prompts,
    build_world,
    render_response,
    sample_attributes,
)
from rewardkit.world.gold import (
    GOLD_FORMULA,
    Attributes,
    accuracy_against_gold,
    gold_reward,
    noise_ceiling,
    world_statistics,
)
from rewardkit.world.io import load_world_split, world_summary, write_world
from rewardkit.world.vocabulary import FAMILIES, FILLER_SENTENCES, FLATTERY_SENTENCES

__all__ = [
    "Annotator",
    "Attributes",
    "FAMILIES",
    "FILLER_SENTENCES",
    "FLATTERY_SENTENCES",
    "GOLD_FORMULA",
    "PromptSpec",
    "World",
    "WorldConfig",
    "accuracy_against_gold",
    "all_prompts",
    "build_world",
    "gold_reward",
    "load_world_split",
    "make_annotators",
    "noise_ceiling",
    "render_response",
    "sample_attributes",
    "world_statistics",
    "world_candidates",
    "world_summary",
    "write_world",
]
