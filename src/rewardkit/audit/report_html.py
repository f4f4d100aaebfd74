"""The audit's ``report.html``: one self-contained page in the style of ``rewardkit eval``'s
report (its Jinja environment and stylesheet, plots as data URIs, no scripts). Every text from
the data is escaped (autoescape)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from rewardkit import files
from rewardkit.audit.margins import OutOfFold
from rewardkit.audit.suspects import REASONS, Verdict, suspects
from rewardkit.data.records import PreferencePair, prompt_text
from rewardkit.eval.plots import margin_histogram
from rewardkit.eval.report_html import environment
from rewardkit.version import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"
SHOWN = 200  # suspects shown with their texts (all of them are in suspects.jsonl)


def suspect_rows(pairs: list[PreferencePair], verdicts: list[Verdict]) -> list[dict]:
    rows = []
    for rank, v in enumerate(suspects(verdicts)[:SHOWN], start=1):
        pair = pairs[v.position]
        rows.append(
            {
                "rank": rank,
                "id": pair.id or pair.source,
                "prompt": prompt_text(pair.prompt),
                "chosen": pair.chosen,
                "rejected": pair.rejected,
                "verdict": v,
                "reasons": [REASONS[r] for r in v.reasons],
            }
        )
    return rows


def render_audit_report(summary: dict, pairs, verdicts: list[Verdict], oof: OutOfFold) -> str:
    confident = [v.margin for v in verdicts if "likely-flipped" in v.reasons]
    marked = {"zero margin": 0.0}
    if confident:
        marked["weakest likely-flipped"] = float(np.max(confident))
    plot = margin_histogram(oof.mean, marked, "Out-of-fold margins of the labels as given")
    template = environment(TEMPLATES).get_template("audit.html.j2")
    return template.render(
        s=summary,
        reasons=REASONS,
        rows=suspect_rows(pairs, verdicts),
        shown=SHOWN,
        plot=plot,
        version=__version__,
        created=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def write_audit_report(path, summary: dict, pairs, verdicts, oof: OutOfFold) -> Path:
    with files.atomic_write(path) as handle:
        handle.write(render_audit_report(summary, pairs, verdicts, oof))
    return Path(path)
