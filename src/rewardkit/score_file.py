"""``rewardkit score``: rewards for every record of a file, written in input order.

Each pair gives ``reward_chosen``/``reward_rejected`` (and their normalized values), each single
``{prompt, response}`` record ``reward``/``normalized_reward``; ensembles (a heads or members
folder, or ``DIR1,DIR2,…``) add the members' ``spread``. The rewards come from the one scorer
(:class:`rewardkit.model.scorer.Scorer`), as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import option
from rewardkit.data import read_items, write_jsonl
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.options import FileScoringOptions, format_option, reward_model_option


@dataclass
class ScoreConfig(FileScoringOptions):
    """Options of ``rewardkit score``."""

    command = "score"

    model: str = reward_model_option()
    data: str = option(
        "", "Pairs or single {prompt, response} records (any supported format).", required=True
    )
    out: str = option("", "Output JSONL, one line per input record, in input order.", required=True)
    format: str = format_option(extra=("single",))


def score_file(config: ScoreConfig, *, progress: bool | None = None) -> dict:
    """Score ``config.data`` and write ``config.out``; returns a summary dict."""
    from rewardkit.model.loading import load_reward_model  # torch: not for `--help`
    from rewardkit.model.scores import ResponseTooLongError

    scorer = load_reward_model(config.model, **config.load_kwargs())
    items, report = read_items(
        config.data, format=config.format, on_bad_record=config.on_bad_record
    )
    texts: list[tuple] = []  # (prompt, response) for every text to score
    owners = []  # the item each text comes from
    for item in items:
        if isinstance(item, PreferencePair):
            texts += [(item.prompt, item.chosen), (item.prompt, item.rejected)]
            owners += [item, item]
        else:
            texts.append((item.prompt, item.response))
            owners.append(item)
    try:
        scores = scorer.score(
            [p for p, _ in texts],
            [r for _, r in texts],
            batch_size=config.batch_size,
            progress=progress,
        )
    except ResponseTooLongError as err:
        raise UserError(
            f"a response alone is longer than max_length {err.max_length}; pass a "
            "larger --max-length",
            where=owners[err.index].source or config.data,
        ) from None
    write_jsonl(
        config.out, _rows(items, scores, scorer.normalize(scores.rewards), ensemble=scorer.k > 1)
    )
    return {
        "records": len(items),
        "texts": len(texts),
        "prompt_truncated": int(scores.truncated.sum()),
        "skipped": len(report.skipped),
        "out": config.out,
    }


def _rows(items, scores, normalized, *, ensemble: bool) -> list[dict]:
    rewards, spread = scores.rewards, scores.spread
    rows, k = [], 0
    for item in items:
        if isinstance(item, PreferencePair):
            row = {
                "id": item.id,
                "reward_chosen": float(rewards[k]),
                "reward_rejected": float(rewards[k + 1]),
                "normalized_chosen": float(normalized[k]),
                "normalized_rejected": float(normalized[k + 1]),
            }
            if ensemble:
                row.update(spread_chosen=float(spread[k]), spread_rejected=float(spread[k + 1]))
            k += 2
        else:
            row = {
                "id": item.id,
                "reward": float(rewards[k]),
                "normalized_reward": float(normalized[k]),
            }
            if ensemble:
                row["spread"] = float(spread[k])
            k += 1
        rows.append(row)
    return rows
