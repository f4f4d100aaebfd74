"""Cleaned copies and re-labelling exports. The input file is never written.

``--fix`` acts on the ``--top K`` pairs most likely mislabelled (highest P(label wrong)); with
``--top 0``, on every ``likely-flipped`` suspect:

========  ===================================================================================
fix       what the cleaned copy holds for those pairs
========  ===================================================================================
drop      nothing: the pair is left out
flip      chosen and rejected swapped (a margin is kept, as the strength of the new label)
soft      the soft label P(chosen ≻ rejected) of the out-of-fold ensemble (``label``), which
          the Bradley–Terry loss reads as a soft target (:mod:`rewardkit.train.losses`)
========  ===================================================================================

Every change is one line of the sidecar ``OUT.changes.jsonl``: the pair's id, source, the fix,
P(label right) and the reasons.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from rewardkit import files
from rewardkit.audit.suspects import Verdict
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError


def refuse_overwriting_input(data: str, target: str | None, flag: str) -> None:
    """One line when ``target`` is the input file (the input is never modified)."""
    if not target:
        return
    same = Path(target).resolve() == Path(data).resolve()
    if not same and Path(target).exists() and Path(data).exists():
        same = os.path.samefile(target, data)
    if same:
        raise UserError(
            f"{flag} {target} is the input file; the audit never modifies its input: "
            "write the cleaned copy to another path",
            where=data,
        )


def chosen_for_fix(verdicts: list[Verdict], top: int) -> list[Verdict]:
    """The ``top`` verdicts with the highest P(label wrong), or every likely-flipped one."""
    if top == 0:
        return [v for v in verdicts if "likely-flipped" in v.reasons]
    return verdicts[:top]


def fixed_pair(pair: PreferencePair, fix: str, verdict: Verdict) -> PreferencePair | None:
    if fix == "drop":
        return None
    if fix == "flip":
        return replace(pair, chosen=pair.rejected, rejected=pair.chosen, label=None)
    return replace(pair, label=round(verdict.p_right, 6))


def write_cleaned(
    pairs: list[PreferencePair], verdicts: list[Verdict], fix: str, top: int, out_data: str
) -> dict:
    """Write the cleaned copy and its sidecar; return the counts."""
    changed = {v.position: v for v in chosen_for_fix(verdicts, top)}
    rows, changes = [], []
    for position, pair in enumerate(pairs):
        verdict = changed.get(position)
        new = pair if verdict is None else fixed_pair(pair, fix, verdict)
        if new is not None:
            rows.append(new.to_json())
        if verdict is not None:
            changes.append(_change_row(pair, fix, verdict, new))
    files.write_jsonl_atomic(out_data, rows)
    sidecar = sidecar_path(out_data)
    files.write_jsonl_atomic(sidecar, changes)
    return {"fix": fix, "changed": len(changes), "pairs_out": len(rows), "sidecar": str(sidecar)}


def sidecar_path(out_data: str) -> Path:
    path = Path(out_data)
    name = path.name
    for suffix in (".jsonl.gz", ".jsonl", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name + ".changes.jsonl")


def _change_row(
    pair: PreferencePair, fix: str, verdict: Verdict, new: PreferencePair | None
) -> dict:
    row = {
        "id": pair.id,
        "source": pair.source,
        "fix": fix,
        "p_label_right": round(verdict.p_right, 6),
        "reasons": verdict.reasons,
    }
    if new is not None and new.label is not None:
        row["label"] = new.label
    return row


def export_suspects(pairs: list[PreferencePair], suspects: list[Verdict], path: str) -> int:
    """``{"prompt", "responses": [chosen, rejected], "id"}`` items for re-labelling, most
    suspect first (the annotation server's import shape)."""
    rows = (
        {
            "prompt": pairs[v.position].prompt,
            "responses": [pairs[v.position].chosen, pairs[v.position].rejected],
            "id": pairs[v.position].id or pairs[v.position].source,
        }
        for v in suspects
    )
    return files.write_jsonl_atomic(path, rows)
