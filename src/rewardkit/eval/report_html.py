"""``report.html``: one self-contained page (inline CSS, plots as base64 data URIs, no
scripts, no external requests) rendered from ``templates/report.html.j2`` with Jinja2.
Every model-provided string is escaped (autoescape)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from rewardkit.files import atomic_write
from rewardkit.formatting import number, percent, percent_interval
from rewardkit.version import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _ci(interval) -> str:
    return percent_interval(interval, missing="")


def environment(*more_templates: str | Path) -> Environment:
    """The reports' Jinja environment: eval's templates (its ``style.css.j2``, the one
    stylesheet of every report, included) plus the folders in ``more_templates`` of other
    rooms' reports, searched first."""
    folders = [str(folder) for folder in more_templates] + [str(TEMPLATES)]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=percent, num=number, ci=_ci)
    return env


def accuracy_rows(metrics: dict) -> list[tuple[str, dict]]:
    rows = [("all pairs", metrics)]
    fits = metrics.get("fits_max_length")
    if fits and fits.get("n") != metrics.get("n"):
        rows.append((f"fit in {metrics.get('max_length')} tokens", fits))
    for name, block in (metrics.get("per_subset") or {}).items():
        rows.append((f"subset {name}", block))
    strength = metrics.get("accuracy_by_strength")
    if strength:
        for name, block in strength["buckets"].items():
            rows.append(
                (f"{strength['by']} {name}" if strength["by"] == "vote agreement" else name, block)
            )
    return rows


def render_report(
    metrics: dict, plots: dict, ensemble: str = "", sections: Sequence[str] = ()
) -> str:
    """The page; ``sections``: HTML already rendered (and escaped) by another room, e.g. the
    demo's overoptimization section, appended at the end."""
    template = environment().get_template("report.html.j2")
    return template.render(
        m=metrics,
        sections=list(sections),
        plots=plots,
        ensemble=ensemble,
        version=__version__,
        accuracy_rows=accuracy_rows(metrics),
        created=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def write_report(
    path: str | Path, metrics: dict, plots: dict, ensemble: str = "", sections: Sequence[str] = ()
) -> Path:
    """Render the report and write it atomically (:func:`atomic_write`)."""
    path = Path(path)
    html = render_report(metrics, plots, ensemble, sections)
    with atomic_write(path) as handle:
        handle.write(html)
    return path
