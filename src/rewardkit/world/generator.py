"""Build the demo world: prompts, responses with known attributes, and simulated labels.

Recipe (all randomness from ``numpy.random.default_rng``, children of ``config.seed``):

1. every prompt text = a family template x a topic of that family; split the prompt texts
   of each family into train and eval (disjoint by text);
2. for each pair: pick a prompt of the split, sample two responses' attributes
   independently (resampling until their gold differs), render both as text;
3. pick an annotator uniformly and sample the label from P(A ≻ B) = σ((s(A) - s(B)) / τ);
   the label-preferred response becomes ``chosen`` (so chosen is sometimes gold-worse).

Each pair records its family as ``subset``, its annotator, and in ``extra``: the gold and
attributes of both responses, their flattery flags, the topic and the annotator's P(chosen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from rewardkit.config import option
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.world.annotators import Annotator, make_annotators
from rewardkit.world.gold import MAX_FILLER, MAX_POINTS, TONES, Attributes, gold_reward
from rewardkit.world.label_noise import plant_flips
from rewardkit.world.vocabulary import (
    FAMILIES,
    FILLER_SENTENCES,
    FLATTERY_SENTENCES,
    TONE_CLOSERS,
    TONE_OPENERS,
    Family,
)

T = TypeVar("T")


@dataclass
class WorldConfig:
    """Options of the demo world; each ``help`` text doubles as the CLI help."""

    n_train_pairs: int = option(2000, "Number of training pairs.")
    n_eval_pairs: int = option(500, "Number of held-out pairs (on prompts not seen in training).")
    n_annotators: int = option(
        5, "Number of simulated annotators; each pair is judged by one, drawn uniformly."
    )
    annotator_tau_range: tuple[float, float] = option(
        (0.3, 1.0),
        "Annotators' noise temperatures τ, evenly spaced over [low, high], in gold units (gold "
        "steps are 0.5): P(A≻B) = σ((s(A)-s(B))/τ).",
    )
    flattery_bias: float = option(
        1.25,
        "Shared annotator bias b: an appended flattering sentence adds b to the perceived reward "
        "s = g + b*flattery; gold ignores it. 1.25 is a little more than one tone level (1.0), and "
        "not a multiple of the 0.5 gold step, so it never creates ties.",
    )
    flattery_rate: float = option(
        0.35, "Probability that a response ends with a flattering sentence."
    )
    off_topic_rate: float = option(
        0.35, "Probability that a response answers a different topic of the same family."
    )
    eval_prompt_fraction: float = option(
        0.2, "Fraction of each family's prompt texts reserved for the eval split."
    )
    label_flip_rate: float = option(
        0.0,
        "Share of training labels flipped on purpose (planted noise, recorded as "
        "label_flipped in gold.jsonl; the eval split is never flipped).",
    )
    seed: int = option(0, "Random seed; the same config always builds the same world.")

    def __post_init__(self) -> None:
        self.annotator_tau_range = tuple(
            float(t) for t in self.annotator_tau_range
        )  # YAML gives lists
        low_high = self.annotator_tau_range
        if self.n_train_pairs < 1 or self.n_eval_pairs < 1:
            raise UserError("--n-train-pairs and --n-eval-pairs must be at least 1")
        if self.n_annotators < 1:
            raise UserError(f"--n-annotators must be at least 1, got {self.n_annotators}")
        if len(low_high) != 2 or not 0 < low_high[0] <= low_high[1]:
            raise UserError(
                f"--annotator-tau-range must be two numbers 0 < low <= high, got {low_high}"
            )
        for flag, value in (
            ("--flattery-rate", self.flattery_rate),
            ("--off-topic-rate", self.off_topic_rate),
            ("--label-flip-rate", self.label_flip_rate),
        ):
            if not 0.0 <= value <= 1.0:
                raise UserError(f"{flag} must be a probability in [0, 1], got {value}")
        if not 0.0 < self.eval_prompt_fraction < 1.0:
            raise UserError(
                f"--eval-prompt-fraction must be in (0, 1), got {self.eval_prompt_fraction}"
            )


@dataclass(frozen=True)
class PromptSpec:
    """A prompt text with the family and topic it asks about."""

    family: str
    topic: str
    text: str


@dataclass
class World:
    """A built world: config, the two splits, the annotator population and the prompt split."""

    config: WorldConfig
    train: list[PreferencePair]
    eval: list[PreferencePair]
    annotators: list[Annotator]
    train_prompts: list[PromptSpec]
    eval_prompts: list[PromptSpec]


def _pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]


def _family(name: str) -> Family:
    return next(f for f in FAMILIES if f.name == name)


def all_prompts() -> list[PromptSpec]:
    """Every prompt text of the world, family by family (templates x topics)."""
    prompts = [
        PromptSpec(family.name, topic.name, template.format(topic=topic.name))
        for family in FAMILIES
        for template in family.prompt_templates
        for topic in family.topics
    ]
    assert len({p.text for p in prompts}) == len(prompts), "prompt texts must be unique"
    return prompts


def split_prompts(
    rng: np.random.Generator, eval_fraction: float
) -> tuple[list[PromptSpec], list[PromptSpec]]:
    """Shuffle each family's prompts and reserve ``eval_fraction`` of them (at least one)
    for eval, so both splits cover every family and no prompt text is in both."""
    train, eval_ = [], []
    prompts = all_prompts()
    for family in FAMILIES:
        mine = [p for p in prompts if p.family == family.name]
        order = rng.permutation(len(mine))
        n_eval = max(1, int(round(eval_fraction * len(mine))))
        eval_ += [mine[i] for i in order[:n_eval]]
        train += [mine[i] for i in order[n_eval:]]
    return train, eval_


def sample_attributes(rng: np.random.Generator, config: WorldConfig) -> Attributes:
    """One response's attributes, each drawn independently (flattery is independent of gold)."""
    return Attributes(
        relevant=bool(rng.random() >= config.off_topic_rate),
        tone=int(_pick(rng, TONES)),
        n_filler=int(rng.integers(MAX_FILLER + 1)),
        n_points=int(rng.integers(1, MAX_POINTS + 1)),
        flattery=bool(rng.random() < config.flattery_rate),
    )


def render_response(rng: np.random.Generator, prompt: PromptSpec, attributes: Attributes) -> str:
    """The response text for ``attributes``: tone opener naming the topic answered, content
    points, filler sentences at random places among them, tone closer, optional flattery.
    An off-topic response answers another topic of the prompt's family."""
    family = _family(prompt.family)
    topics = list(family.topics)
    if attributes.relevant:
        shown = next(t for t in topics if t.name == prompt.topic)
    else:
        shown = _pick(rng, [t for t in topics if t.name != prompt.topic])
    points = [shown.points[i] for i in rng.permutation(len(shown.points))[: attributes.n_points]]
    body = list(points)
    for i in rng.permutation(len(FILLER_SENTENCES))[: attributes.n_filler]:
        body.insert(int(rng.integers(len(body) + 1)), FILLER_SENTENCES[i])
    parts = [_pick(rng, TONE_OPENERS[attributes.tone]).format(topic=shown.name), *body]
    parts.append(_pick(rng, TONE_CLOSERS[attributes.tone]))
    if attributes.flattery:
        parts.append(_pick(rng, FLATTERY_SENTENCES))
    return " ".join(part for part in parts if part)


def _make_pair(
    rng: np.random.Generator,
    prompt: PromptSpec,
    pair_id: str,
    config: WorldConfig,
    annotators: Sequence[Annotator],
) -> PreferencePair:
    attrs_a = sample_attributes(rng, config)
    attrs_b = sample_attributes(rng, config)
    while gold_reward(attrs_a) == gold_reward(attrs_b):  # keep gold strictly ordered
        attrs_b = sample_attributes(rng, config)
    text_a, text_b = render_response(rng, prompt, attrs_a), render_response(rng, prompt, attrs_b)
    gold_a, gold_b = gold_reward(attrs_a), gold_reward(attrs_b)
    annotator = _pick(rng, annotators)
    p_a = annotator.prob_prefers(gold_a, gold_b, attrs_a.flattery, attrs_b.flattery)
    a_wins = bool(rng.random() < p_a)
    (chosen, attrs_c, gold_c), (rejected, attrs_r, gold_r) = (
        ((text_a, attrs_a, gold_a), (text_b, attrs_b, gold_b))
        if a_wins
        else ((text_b, attrs_b, gold_b), (text_a, attrs_a, gold_a))
    )
    return PreferencePair(
        prompt=prompt.text,
        chosen=chosen,
        rejected=rejected,
        subset=prompt.family,
        annotator=annotator.name,
        id=pair_id,
        extra={
            "gold_chosen": gold_c,
            "gold_rejected": gold_r,
            "attributes_chosen": attrs_c.to_dict(),
            "attributes_rejected": attrs_r.to_dict(),
            "flattered_chosen": attrs_c.flattery,
            "flattered_rejected": attrs_r.flattery,
            "topic": prompt.topic,
            "annotator_tau": annotator.tau,
            "p_chosen": p_a if a_wins else 1.0 - p_a,
        },
    )


def _make_split(
    rng: np.random.Generator,
    prompts: Sequence[PromptSpec],
    n_pairs: int,
    split: str,
    config: WorldConfig,
    annotators: Sequence[Annotator],
) -> list[PreferencePair]:
    return [
        _make_pair(rng, _pick(rng, prompts), f"{split}-{i:05d}", config, annotators)
        for i in range(n_pairs)
    ]


def build_world(config: WorldConfig | None = None) -> World:
    """Build the whole world from ``config`` (defaults when None). Deterministic: the prompt
    split, the train pairs and the eval pairs each use their own child of ``config.seed``, so
    changing ``n_train_pairs`` leaves the eval pairs unchanged."""
    config = config or WorldConfig()
    # a fourth child for planted flips: spawn(4) starts with the same three as spawn(3)
    split_rng, train_rng, eval_rng, flip_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(4)
    )
    annotators = make_annotators(
        config.n_annotators, config.annotator_tau_range, config.flattery_bias
    )
    train_prompts, eval_prompts = split_prompts(split_rng, config.eval_prompt_fraction)
    return World(
        config=config,
        train=plant_flips(
            _make_split(
                train_rng, train_prompts, config.n_train_pairs, "train", config, annotators
            ),
            config.label_flip_rate,
            flip_rng,
        ),
        eval=plant_flips(  # never flipped: only marked, like every train pair
            _make_split(eval_rng, eval_prompts, config.n_eval_pairs, "eval", config, annotators),
            0.0,
            flip_rng,
        ),
        annotators=annotators,
        train_prompts=train_prompts,
        eval_prompts=eval_prompts,
    )
