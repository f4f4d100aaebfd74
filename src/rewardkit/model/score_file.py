"""``rewardkit score``: rewards for every record of a file, written in input order."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rewardkit.config import option
from rewardkit.data import read_items
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.model.options import FileScoringOptions


@dataclass
class ScoreConfig(FileScoringOptions):
    """Options of ``rewardkit score``."""

    model: str = option(
        "",
        "Reward model folder (from `rewardkit train`, or any HF "
        "sequence-classification reward model).",
    )
    data: str = option("", "Pairs or single {prompt, response} records (any supported format).")
    out: str = option("", "Output JSONL, one line per input record, in input order.")
    format: str = option(
        "auto",
        "Input format, sniffed by default.",
        choices=("auto", "explicit", "implicit", "hh-rlhf", "rankings", "votes", "single"),
    )

    def __post_init__(self):
        self.require("score", "model", "data", "out")


def score_file(config: ScoreConfig, *, progress: bool | None = None) -> dict:
    """Score ``config.data`` and write ``config.out``; returns a summary dict."""
    from rewardkit.model.reward_model import RewardModel

    model = RewardModel.from_pretrained(config.model, **config.load_kwargs())
    items, report = read_items(
        config.data, format=config.format, on_bad_record=config.on_bad_record
    )
    texts: list[tuple] = []  # (prompt, response) for every text to score
    for item in items:
        if isinstance(item, PreferencePair):
            texts += [(item.prompt, item.chosen), (item.prompt, item.rejected)]
        else:
            texts.append((item.prompt, item.response))
    sequences, truncated = [], 0
    for fitted in model.encoder.encode_singles(texts):
        if fitted is None:
            raise UserError(
                f"a response alone is longer than max_length {model.info.max_length};"
                " pass a larger --max-length",
                where=config.data,
            )
        sequences.append(fitted[0])
        truncated += fitted[1]
    rewards = model.score_ids(sequences, batch_size=config.batch_size, progress=progress)
    normalized = model.normalize(rewards)
    rows, k = [], 0
    for item in items:
        if isinstance(item, PreferencePair):
            rows.append(
                {
                    "id": item.id,
                    "reward_chosen": rewards[k],
                    "reward_rejected": rewards[k + 1],
                    "normalized_chosen": normalized[k],
                    "normalized_rejected": normalized[k + 1],
                }
            )
            k += 2
        else:
            rows.append({"id": item.id, "reward": rewards[k], "normalized_reward": normalized[k]})
            k += 1
    _write_jsonl(Path(config.out), rows)
    return {
        "records": len(items),
        "texts": len(texts),
        "prompt_truncated": truncated,
        "skipped": len(report.skipped),
        "out": config.out,
    }


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(
                json.dumps({k: (float(v) if hasattr(v, "item") else v) for k, v in row.items()})
                + "\n"
            )
    os.replace(tmp, path)
