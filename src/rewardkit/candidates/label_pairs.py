"""``rewardkit label-pairs``: preference pairs for DPO from scored candidates: on-policy DPO
data labelled by a reward model (Dong et al. 2024, "RLHF Workflow": best vs worst of n samples).

Output: TRL's preference format, one pair per line, ``{"prompt", "chosen", "rejected",
"margin"}``. Text prompts give text responses; chat prompts give TRL's conversational form
(``chosen``/``rejected`` = ``[{"role": "assistant", "content": ...}]``). ``margin`` is the raw
reward gap ``r(chosen) − r(rejected)`` (≥ 0); ``rewardkit train`` and TRL's RewardTrainer read
it as the margin of ``-log σ(r_c − r_r − margin)``. With ``--aggregate min|uwo`` an ensemble's
conservative reward (:mod:`rewardkit.model.aggregate`, normalized units) picks the pairs and
gives the margin.

==============  ============================================================================
--pairs         pairs per prompt with K responses
==============  ============================================================================
best-vs-worst   1: the highest- against the lowest-reward response
all-pairs       C(K, 2): every two responses, the higher-reward one chosen
==============  ============================================================================

Filters (each skipped pair is counted):

* identical texts or equal rewards: no preference to learn, always skipped;
* ``--min-gap G``: skip near-ties, ``margin < G``;
* ``--max-spread S`` (ensembles only): skip pairs the members disagree on, where the std over
  members of the per-member gap ``r_k(chosen) − r_k(rejected)`` exceeds ``S``.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np

from rewardkit.candidates.config import LabelPairsConfig
from rewardkit.candidates.format import read_candidates
from rewardkit.candidates.scoring import ScoredSet, score_with_options
from rewardkit.data.writers import write_jsonl
from rewardkit.errors import UserError
from rewardkit.model.loading import load_reward_model


def candidate_pairs(n: int, rewards: np.ndarray, pairing: str) -> list[tuple[int, int]]:
    """``(i, j)`` index pairs with ``rewards[i] >= rewards[j]`` (i would be chosen)."""
    if n < 2:
        return []
    if pairing == "best-vs-worst":
        order = np.argsort(-rewards, kind="stable")
        return [(int(order[0]), int(order[-1]))]
    return [(i, j) if rewards[i] >= rewards[j] else (j, i) for i, j in combinations(range(n), 2)]


def label_set(item: ScoredSet, config: LabelPairsConfig, counts: Counter) -> list[dict]:
    """The kept pairs of one scored candidate set; ``counts`` tallies why others were skipped."""
    responses = item.candidates.responses
    prompt = item.candidates.prompt
    rows = []
    if len(responses) < 2:
        counts["prompts_with_one_response"] += 1
    for i, j in candidate_pairs(len(responses), item.ranking, config.pairs):
        gap = float(item.ranking[i] - item.ranking[j])
        if responses[i] == responses[j] or gap <= 0:
            counts["skipped_tie"] += 1
            continue
        if gap < config.min_gap:
            counts["skipped_min_gap"] += 1
            continue
        if config.max_spread is not None:
            member_gaps = item.members[:, i] - item.members[:, j]
            if float(member_gaps.std()) > config.max_spread:
                counts["skipped_max_spread"] += 1
                continue
        rows.append(
            {
                "prompt": prompt,
                "chosen": _side(prompt, responses[i]),
                "rejected": _side(prompt, responses[j]),
                "margin": gap,
            }
        )
    return rows


def label_pairs(config: LabelPairsConfig, *, progress: bool | None = None) -> dict:
    """Score ``config.data``, write the kept pairs to ``config.out``; returns a summary."""
    sets, skipped = read_candidates(config.data, on_bad_record=config.on_bad_record)
    scorer = load_reward_model(config.model, **config.load_kwargs())
    if config.max_spread is not None and scorer.k < 2:
        raise UserError(
            f"--max-spread needs an ensemble, and {config.model} is one model; "
            "pass an ensemble folder or DIR1,DIR2,…, or drop --max-spread"
        )
    counts: Counter = Counter()
    rows = []
    scored = score_with_options(scorer, sets, config, progress=progress)
    for item in scored:
        rows.extend(label_set(item, config, counts))
    write_jsonl(config.out, rows)
    return {
        "prompts": len(sets),
        "pairs": len(rows),
        "skipped_records": len(skipped),
        "skipped_tie": counts["skipped_tie"],
        "skipped_min_gap": counts["skipped_min_gap"],
        "skipped_max_spread": counts["skipped_max_spread"],
        "prompts_with_one_response": counts["prompts_with_one_response"],
        "mean_margin": float(np.mean([r["margin"] for r in rows])) if rows else None,
        "aggregate": config.aggregate,
        "out": config.out,
    }


def _side(prompt, response: str):
    """A response in TRL's form for this prompt kind."""
    if isinstance(prompt, str):
        return response
    return [{"role": "assistant", "content": response}]
