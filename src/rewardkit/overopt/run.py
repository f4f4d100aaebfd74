"""``rewardkit overopt``: best-of-n against one or more proxies, measured with a gold reward.

1. read the candidates (every prompt needs at least two responses, else one line naming
   ``file:line``);
2. the gold reward of every candidate: the file's own ``gold`` lists (the demo world), or a
   stronger reward model's normalized mean reward (Gao et al. 2022's synthetic setup);
3. every proxy scores every candidate through the one scorer; an ensemble gives three
   selectors, its mean, worst case and uncertainty-weighted reward
   (:mod:`rewardkit.model.aggregate`);
4. the lab (:mod:`rewardkit.overopt.lab`), its findings in words
   (:mod:`rewardkit.overopt.summary`), ``OUT/overopt.json`` and ``OUT/report.html``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rewardkit.candidates.format import CandidateSet, read_candidates
from rewardkit.candidates.scoring import ScoredSet, score_with_options
from rewardkit.errors import UserError
from rewardkit.files import write_json_atomic
from rewardkit.model.aggregate import AGGREGATES
from rewardkit.model.loading import load_reward_model
from rewardkit.model.scorer import Scorer
from rewardkit.overopt.config import OveroptConfig
from rewardkit.overopt.lab import analyse, exploited_example
from rewardkit.overopt.report import findings, write_overopt_report


def check_candidate_sets(sets: list[CandidateSet]) -> None:
    """Every prompt needs at least two responses to choose between."""
    for item in sets:
        if len(item.responses) < 2:
            raise UserError(
                f"has {len(item.responses)} response(s); best-of-n needs at least 2 per "
                "prompt: add candidates (rewardkit sample --n 16) or remove the record",
                where=item.where or item.id,
                field="responses",
            )


def world_gold(sets: list[CandidateSet]) -> list[np.ndarray]:
    """Each record's ``gold`` list, one number per response (else one line naming it)."""
    gold = []
    for item in sets:
        values = item.extra.get("gold")
        if not isinstance(values, list) or len(values) != len(item.responses):
            count = len(values) if isinstance(values, list) else "no"
            raise UserError(
                f"gold scores {count} responses and the proxy {len(item.responses)}: --gold "
                "world needs a 'gold' list with one number per response (the demo world's "
                "candidates.jsonl has one), or pass a gold reward model",
                where=item.where or item.id,
                field="gold",
            )
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
            raise UserError(
                "holds a gold value that is not a finite number",
                where=item.where or item.id,
                field="gold",
            )
        gold.append(np.asarray(values, dtype=np.float64))
    return gold


def selectors_of(name: str, scorer: Scorer, scored: list[ScoredSet], uwo_lambda: float) -> dict:
    """One selector for a single model (its normalized reward); for an ensemble its mean,
    worst case and uncertainty-weighted rewards over the members' normalized rewards.
    ``name``: appended to each label when several proxies are compared."""
    suffix = f" {name}" if name else ""
    if scorer.k == 1:
        return {f"proxy{suffix}": [item.normalized for item in scored]}
    labels = {
        "mean": "ensemble mean",
        "min": "worst case (min)",
        "uwo": f"uncertainty-weighted (λ={uwo_lambda:g})",
    }
    return {
        labels[method] + suffix: [
            scorer.aggregate(item.members, method, uwo_lambda) for item in scored
        ]
        for method in AGGREGATES
    }


def score_candidates(spec: str, sets, config: OveroptConfig, progress) -> tuple[Scorer, list]:
    scorer = load_reward_model(spec, **config.load_kwargs())
    return scorer, score_with_options(scorer, sets, config, progress=progress)


def run_overopt(config: OveroptConfig, *, progress: bool | None = None) -> dict:
    """The whole lab (module docstring); returns overopt.json's content."""
    sets, skipped = read_candidates(config.candidates, on_bad_record=config.on_bad_record)
    check_candidate_sets(sets)
    world = config.gold == "world"
    if world:
        gold = world_gold(sets)
    else:
        gold_scorer, scored = score_candidates(config.gold, sets, config, progress)
        gold = [gold_scorer.aggregate(item.members, "mean", 0.0) for item in scored]
    selectors: dict[str, list[np.ndarray]] = {}
    for spec in config.proxy:
        scorer, scored = score_candidates(spec, sets, config, progress)
        name = (Path(spec.rstrip("/")).name or spec) if len(config.proxy) > 1 else ""
        selectors.update(selectors_of(name, scorer, scored, config.uwo_lambda))
    lab = analyse(
        selectors,
        gold,
        [s.responses for s in sets],
        bootstrap=config.bootstrap,
        world=world,
    )
    first = next(iter(selectors))
    lab["example"] = exploited_example(
        [s.prompt for s in sets], [s.responses for s in sets], selectors[first], gold
    )
    lab["gold_source"] = "world" if world else Path(config.gold.rstrip("/")).name
    lab["uwo_lambda"] = config.uwo_lambda
    lab["skipped_records"] = len(skipped)
    lab["findings"] = findings(lab)
    out = Path(config.out)
    write_json_atomic(out / "overopt.json", lab)
    write_overopt_report(out / "report.html", lab)
    return {
        **lab,
        "selector_count": len(selectors),
        "paragraph": lab["findings"]["paragraph"],
        "out": str(out),
    }
