"""``rewardkit score``: rewards for every record of a file, written in input order.

Each pair gives ``reward_chosen``/``reward_rejected``, their normalized values, and per side
``truncated``/``tokens_removed`` (the over-length rule, :mod:`rewardkit.model.overlong`); each
single ``{prompt, response}`` record ``reward``, ``normalized_reward``, ``truncated`` and
``tokens_removed``; ensembles (a heads or members folder, or ``DIR1,DIR2,…``) add the members'
``spread``, and a model saved with OOD statistics each text's ``ood_distance``,
``ood_percentile`` and ``ood_flag`` (:mod:`rewardkit.eval.trust`; pairs: per side, with the
``_chosen``/``_rejected`` suffix). The rewards come from the one scorer
(:class:`rewardkit.model.scorer.Scorer`), as everywhere else, and the trust signals from the
head-input features of the same forward pass, measured pass by pass as they come
(:meth:`rewardkit.eval.trust.Trust.score`): memory holds a few numbers per text, not the
file's features.

Under ``accelerate launch``/``torchrun`` every process reads the input, scores its whole
batches of the single-process batch plan (:mod:`rewardkit.model.shards`), and the main
process alone writes the one output, byte-identical to a single-process run.
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
    from rewardkit.eval.trust import Trust  # numpy, torch: not for `--help`
    from rewardkit.model.loading import load_reward_model
    from rewardkit.model.overlong import ResponseTooLongError
    from rewardkit.model.shards import is_main_process, join_launched_processes, rank_and_count
    from rewardkit.model.template import ChatTemplateRefused

    join_launched_processes()
    scorer = load_reward_model(config.model, **config.load_kwargs())
    trust = Trust(scorer)
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
        scores, signals = trust.score(
            [p for p, _ in texts],
            [r for _, r in texts],
            batch_size=config.batch_size,
            progress=progress,
            overlong=config.overlong,
        )
    except ChatTemplateRefused as refused:
        where = owners[refused.index].source or config.data
        raise ChatTemplateRefused(refused.reason, refused.index, where) from None
    except ResponseTooLongError as err:  # --overlong error
        raise UserError(
            f"a response alone is longer than max_length {err.max_length}; pass a "
            "larger --max-length, or --overlong truncate to cut it from the left",
            where=owners[err.index].source or config.data,
        ) from None
    if is_main_process():
        rows = _rows(items, scores, scorer.normalize(scores.rewards), signals)
        write_jsonl(config.out, rows)
    return {
        "records": len(items),
        "texts": len(texts),
        "truncated": int(scores.truncated.sum()),
        "skipped": len(report.skipped),
        "processes": rank_and_count()[1],
        "out": config.out,
        "ood_flagged": None if signals.flagged is None else int(signals.flagged.sum()),
        "trust": _trust_summary(signals),
    }


def _trust_summary(signals) -> str:
    """The command's last words on the OOD signals (empty for a model without statistics)."""
    if signals.flagged is not None:
        return f"; {int(signals.flagged.sum())} texts flagged out of distribution"
    if signals.distance is not None:
        return "; OOD distances only (the statistics predate percentiles)"
    return ""


def _rows(items, scores, normalized, trust) -> list[dict]:
    """One output row per item: a pair's two sides (``_chosen``/``_rejected``), or a text."""
    rows, k = [], 0
    for item in items:
        if isinstance(item, PreferencePair):
            sides = {
                **_text_fields(scores, normalized, trust, k, "_chosen"),
                **_text_fields(scores, normalized, trust, k + 1, "_rejected"),
            }
            row = {"id": item.id, **_ordered(sides)}
            k += 2
        else:
            row = {"id": item.id, **_text_fields(scores, normalized, trust, k, "")}
            k += 1
        rows.append(row)
    return rows


def _text_fields(scores, normalized, trust, at: int, suffix: str) -> dict:
    fields = {
        f"reward{suffix}": float(scores.rewards[at]),
        f"normalized{suffix or '_reward'}": float(normalized[at]),
        f"truncated{suffix}": bool(scores.tokens_removed[at] > 0),
        f"tokens_removed{suffix}": int(scores.tokens_removed[at]),
    }
    fields.update({f"{name}{suffix}": value for name, value in trust.row(at).items()})
    return fields


def _ordered(row: dict) -> dict:
    """Rewards first (chosen, rejected), then normalized rewards, flags, spreads and the OOD
    signals."""
    order = ("reward", "normalized", "truncated", "tokens_removed", "spread", "ood")
    return {k: row[k] for name in order for k in row if k.startswith(name)}
