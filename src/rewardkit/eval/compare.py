"""``rewardkit compare``: two or more reward models side by side on the same pairs.

Each input is a report folder of ``rewardkit eval --out`` (``metrics.json`` + ``pairs.jsonl``)
or a model folder, evaluated here on ``--data``. Pairs are matched by content (prompt,
chosen, rejected), so every model is judged on exactly the same non-tie pairs. Each accuracy
difference to the first model gets a **paired bootstrap** 95% interval (Efron & Tibshirani
1993; the same resampled pairs for both models, so the shared difficulty of a pair cancels —
much tighter than two separate intervals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardkit.errors import UserError
from rewardkit.eval.config import CompareConfig, EvalConfig
from rewardkit.eval.pairwise import paired_bootstrap
from rewardkit.files import write_json_atomic

# compare's options that mean the same as eval's (a model folder is evaluated with them)
SHARED_WITH_EVAL = ("data", "split", "eval_fraction", "format", "batch_size")


@dataclass
class Entry:
    name: str
    source: str  # "report" or "model"
    metrics: dict
    correct: dict[str, bool]  # pair key -> ranked correctly (non-tie pairs)


def _rows_to_correct(rows: list[dict]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for row in rows:
        if row.get("correct") is not None and row["key"] not in out:
            out[row["key"]] = bool(row["correct"])
    return out


def load_entry(item: str, config: CompareConfig) -> Entry:
    path = Path(item)
    folder = path.parent if path.name == "metrics.json" else path
    if (
        (folder / "pairs.jsonl").is_file()
        and (folder / "metrics.json").is_file()
        and not (folder / "config.json").is_file()
    ):
        rows = [
            json.loads(line)
            for line in (folder / "pairs.jsonl").read_text().splitlines()
            if line.strip()
        ]
        metrics = json.loads((folder / "metrics.json").read_text())
        return Entry(str(metrics.get("model") or folder), "report", metrics, _rows_to_correct(rows))
    if not config.data:
        raise UserError(f"{item} is a model, not a report folder: pass --data FILE to evaluate it")
    shared = {name: getattr(config, name) for name in SHARED_WITH_EVAL}
    eval_config = EvalConfig(model=item, probes=False, **shared)
    from rewardkit.eval.run import evaluate_with_rows

    metrics, rows = evaluate_with_rows(eval_config)
    return Entry(item, "model", metrics, _rows_to_correct(rows))


def compare(config: CompareConfig) -> dict:
    """The comparison table of ``config.inputs`` as a dict (also written to ``--out``)."""
    entries = [load_entry(item, config) for item in config.inputs]
    fingerprints = {e.metrics.get("data_fingerprint") for e in entries} - {None}
    common = set(entries[0].correct)
    for entry in entries[1:]:
        common &= set(entry.correct)
    if not common:
        raise UserError("the inputs share no pairs: evaluate them on the same data")
    keys = sorted(common)
    matrix = np.array([[e.correct[k] for k in keys] for e in entries], dtype=np.float64)
    rows = []
    for i, entry in enumerate(entries):
        row = {
            "name": entry.name,
            "source": entry.source,
            "n_common": len(keys),
            "accuracy": float(matrix[i].mean()),
            "accuracy_all_pairs": entry.metrics.get("accuracy"),
            "n_all_pairs": entry.metrics.get("n"),
            "ece": (entry.metrics.get("calibration") or {}).get("ece"),
            "fraction_flagged": (entry.metrics.get("ood") or {}).get("fraction_flagged"),
        }
        if i:
            diff, lo, hi = paired_bootstrap(matrix[0], matrix[i], config.n_boot, config.seed)
            row["difference_to_first"] = {
                "difference": diff,
                "ci95": [lo, hi],
                "significant": not (lo <= 0.0 <= hi),
            }
        rows.append(row)
    result = {
        "baseline": entries[0].name,
        "n_common": len(keys),
        "models": rows,
        "same_data_fingerprint": len(fingerprints) <= 1,
        "method": "paired bootstrap over the common non-tie pairs "
        f"({config.n_boot} resamples, seed {config.seed})",
    }
    if config.out:
        out = Path(config.out)
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "compare.json", result)
        (out / "compare.html").write_text(render_compare_html(result), encoding="utf-8")
    return result


def render_compare_html(result: dict) -> str:
    from rewardkit.eval.report_html import environment

    return environment().get_template("compare.html.j2").render(r=result)
