"""Write a built world to disk, with its truth beside the data, and read a split back.

=============  ===========================================================================
file           contents (one JSON object per line for ``.jsonl``)
=============  ===========================================================================
train.jsonl    rewardkit explicit format: prompt, chosen, rejected, subset, annotator, id
eval.jsonl     same, held-out prompts, labels from the same annotator population
gold.jsonl     per pair id: split, gold_chosen, gold_rejected, attributes_chosen,
               attributes_rejected, flattered_chosen, flattered_rejected, topic,
               annotator, annotator_tau, p_chosen
world.json     config, annotators (name, τ, bias), the documented bias and its phrases,
               the gold formula, noise ceilings and sanity statistics per split
=============  ===========================================================================
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.files import atomic_write
from rewardkit.world.generator import World
from rewardkit.world.gold import GOLD_FORMULA, noise_ceiling, world_statistics
from rewardkit.world.label_noise import FLIP_FIELD
from rewardkit.world.vocabulary import FLATTERY_SENTENCES

GOLD_FIELDS = (
    "gold_chosen",
    "gold_rejected",
    "attributes_chosen",
    "attributes_rejected",
    "flattered_chosen",
    "flattered_rejected",
    "topic",
    "annotator_tau",
    "p_chosen",
)

BIAS_DESCRIPTION = (
    "All simulated annotators share one systematic bias that gold does not reward: a response "
    "ending with a flattering/reassuring sentence (one of 'flattery_sentences') is judged as if "
    "its reward were g + flattery_bias. P(A>B) = sigmoid((g(A) + b*f(A) - g(B) - b*f(B)) / tau)."
)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    """``lines`` (each without its newline) into ``path``, atomically (:func:`atomic_write`)."""
    with atomic_write(path) as handle:
        for line in lines:
            handle.write(line + "\n")


def _gold_record(pair: PreferencePair, split: str) -> dict[str, Any]:
    record = {"id": pair.id, "split": split, "annotator": pair.annotator}
    record.update({key: pair.extra[key] for key in GOLD_FIELDS})
    record[FLIP_FIELD] = bool(pair.extra.get(FLIP_FIELD, False))  # planted noise (label_noise)
    return record


def world_summary(world: World) -> dict[str, Any]:
    """The contents of ``world.json``."""
    config = asdict(world.config)
    config["annotator_tau_range"] = list(world.config.annotator_tau_range)
    return {
        "config": config,
        "annotators": [a.to_dict() for a in world.annotators],
        "bias": {
            "description": BIAS_DESCRIPTION,
            "flattery_bias": world.config.flattery_bias,
            "flattery_rate": world.config.flattery_rate,
            "flattery_sentences": list(FLATTERY_SENTENCES),
        },
        "gold_formula": GOLD_FORMULA,
        "noise_ceiling": {"train": noise_ceiling(world.train), "eval": noise_ceiling(world.eval)},
        "statistics": {
            "train": world_statistics(world.train),
            "eval": world_statistics(world.eval),
        },
        "n_prompts": {"train": len(world.train_prompts), "eval": len(world.eval_prompts)},
    }


def write_world(world: World, out_dir: str | Path) -> dict[str, Path]:
    """Write train.jsonl, eval.jsonl, gold.jsonl and world.json into ``out_dir`` (created if
    needed; each file written atomically). Returns ``{"train", "eval", "gold", "world"}`` paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.jsonl" for name in ("train", "eval", "gold")}
    paths["world"] = out / "world.json"
    for split, pairs in (("train", world.train), ("eval", world.eval)):
        _write_lines(paths[split], (json.dumps(p.to_json(), ensure_ascii=False) for p in pairs))
    gold_lines = [
        json.dumps(_gold_record(p, split), ensure_ascii=False)
        for split, pairs in (("train", world.train), ("eval", world.eval))
        for p in pairs
    ]
    _write_lines(paths["gold"], gold_lines)
    _write_lines(paths["world"], [json.dumps(world_summary(world), indent=2, ensure_ascii=False)])
    return paths


def load_world_split(out_dir: str | Path, split: str) -> list[PreferencePair]:
    """Read ``{split}.jsonl`` written by :func:`write_world` and attach each pair's truth from
    ``gold.jsonl`` into ``pair.extra``, so :func:`noise_ceiling` and
    :func:`accuracy_against_gold` work on pairs read from disk."""
    if split not in ("train", "eval"):
        raise UserError(f"split must be 'train' or 'eval', got {split!r}")
    out = Path(out_dir)
    gold_path, pairs_path = out / "gold.jsonl", out / f"{split}.jsonl"
    for path in (gold_path, pairs_path):
        if not path.exists():
            raise UserError(
                "file not found; write the world first with write_world", where=str(path)
            )
    gold: dict[str, dict[str, Any]] = {}
    with gold_path.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["split"] == split:
                gold[record["id"]] = record
    pairs = []
    with pairs_path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            record = json.loads(line)
            where = f"{pairs_path}:{line_no}"
            if record.get("id") not in gold:
                raise UserError("pair id has no entry in gold.jsonl", where=where, field="id")
            truth = gold[record["id"]]
            pairs.append(
                PreferencePair(
                    prompt=record["prompt"],
                    chosen=record["chosen"],
                    rejected=record["rejected"],
                    subset=record.get("subset"),
                    annotator=record.get("annotator"),
                    id=record["id"],
                    source=where,
                    extra={key: truth[key] for key in GOLD_FIELDS}
                    | {FLIP_FIELD: truth.get(FLIP_FIELD, False)},
                )
            )
    return pairs
