"""``report.html`` of ``rewardkit overopt`` and the overoptimization section of the demo's
report: the plot, a table per selector (fit, peaks with bootstrap intervals, the proxy–gold
gap, tricks among winners), the exploited example, and the findings in plain words."""

from __future__ import annotations

from pathlib import Path

from rewardkit.eval.report_html import environment
from rewardkit.files import atomic_write
from rewardkit.overopt.plot import KL_NOTE, overoptimization_plot
from rewardkit.overopt.summary import (
    mitigation_sentence,
    overoptimization_sentence,
    shared_error_sentence,
)
from rewardkit.overopt.tricks import WORLD_FLATTERY_PROBE

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONSERVATIVE = ("worst case", "uncertainty-weighted")


def findings(lab: dict) -> dict:
    """The plain-words findings: did the first selector (the proxy) overoptimize, did each
    conservative selector reach a higher gold peak, and do an ensemble's members share the
    proxy's favourite trick."""
    results = lab["selectors"]
    names = list(results)
    baseline = names[0]
    n_max = lab["candidates_per_prompt"]
    sentences = [overoptimization_sentence(baseline, results[baseline], n_max)]
    mitigations = {}
    for name in names[1:]:
        mitigations[name] = mitigation_sentence(baseline, name, results)
        sentences.append(mitigations[name])
    tricks = results[baseline]["tricks"]
    trick = WORLD_FLATTERY_PROBE if WORLD_FLATTERY_PROBE in tricks else None
    if trick is None and tricks:
        trick = max(tricks, key=lambda t: tricks[t]["lift"])
    worst_case = next((n for n in names if n.startswith(CONSERVATIVE)), None)
    shared = shared_error_sentence(baseline, worst_case, results, trick) if worst_case else None
    if shared:
        sentences.append(shared)
    return {
        "baseline": baseline,
        "overoptimizes": results[baseline]["trend"]["verdict"] != "rises",
        "mitigations": mitigations,
        "shared_error": shared,
        "paragraph": " ".join(sentences),
    }


def render_section(
    lab: dict, *, heading: str = "Overoptimization: best-of-n against the proxy"
) -> str:
    """The section as HTML (autoescaped), for this report or the demo's."""
    template = environment(TEMPLATES).get_template("overopt_section.html.j2")
    return template.render(
        lab=lab, plot=overoptimization_plot(lab), heading=heading, kl_note=KL_NOTE
    )


def write_overopt_report(path: str | Path, lab: dict) -> Path:
    """``report.html``: the section on a page of its own, with eval's style."""
    page = (
        environment(TEMPLATES)
        .get_template("overopt.html.j2")
        .render(section=render_section(lab, heading="Best-of-n against the proxy"), lab=lab)
    )
    with atomic_write(path) as handle:
        handle.write(page)
    return Path(path)
