"""Printing metrics as a rich table in the terminal."""

from __future__ import annotations

from rich.table import Table

from rewardkit.progress import console


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def print_metrics(metrics: dict) -> None:
    table = Table(title=f"{metrics.get('model', '')} on {metrics.get('data', '')}")
    for column in ("set", "pairs", "accuracy", "95% CI", "mean margin", "BT loss"):
        table.add_column(column)

    def row(name: str, block: dict) -> None:
        ci = block.get("accuracy_ci95")
        table.add_row(name, str(block.get("n", 0)), _pct(block.get("accuracy")),
                      f"{_pct(ci[0])}–{_pct(ci[1])}" if ci else "",
                      "–" if block.get("mean_margin") is None else f"{block['mean_margin']:.3f}",
                      "–" if block.get("bt_loss") is None else f"{block['bt_loss']:.4f}")

    row("all", metrics)
    fits = metrics.get("fits_max_length")
    if fits and fits.get("n") != metrics.get("n"):
        row(f"fits {metrics.get('max_length')} tokens", fits)
    for name, block in (metrics.get("per_subset") or {}).items():
        row(f"subset {name}", block)
    console.print(table)
    overlong = metrics.get("overlong") or {}
    if metrics.get("ties"):
        console.print(f"{metrics['ties']} tied pairs left out of accuracy")
    if overlong.get("prompt_truncated") or overlong.get("dropped_response_too_long"):
        console.print(f"over-long: {overlong}")
