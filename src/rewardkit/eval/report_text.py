"""Printing metrics as a rich table in the terminal."""

from __future__ import annotations

from rich.table import Table

from rewardkit.formatting import number, percent
from rewardkit.progress import console

FIGURE_NAMES = {"nll": "NLL", "brier": "Brier"}


def print_metrics(metrics: dict) -> None:
    table = Table(title=f"{metrics.get('model', '')} on {metrics.get('data', '')}")
    for column in ("set", "pairs", "accuracy", "95% CI", "mean margin", "BT loss"):
        table.add_column(column)

    def row(name: str, block: dict) -> None:
        ci = block.get("accuracy_ci95")
        table.add_row(
            name,
            str(block.get("n", 0)),
            percent(block.get("accuracy")),
            f"{percent(ci[0])}–{percent(ci[1])}" if ci else "",
            "–" if block.get("mean_margin") is None else f"{block['mean_margin']:.3f}",
            "–" if block.get("bt_loss") is None else f"{block['bt_loss']:.4f}",
        )

    row("all", metrics)
    fits = metrics.get("fits_max_length")
    if fits and fits.get("n") != metrics.get("n"):
        row(f"fits {metrics.get('max_length')} tokens", fits)
    for name, block in (metrics.get("per_subset") or {}).items():
        row(f"subset {name}", block)
    strength = metrics.get("accuracy_by_strength")
    for name, block in (strength or {}).get("buckets", {}).items():
        row(f"{strength['by']} {name}" if strength["by"] == "vote agreement" else name, block)
    for name, block in ((metrics.get("section_scores") or {}).get("sections") or {}).items():
        table.add_row(f"section {name}", str(block["n"]), percent(block["score"]), "", "", "")
    console.print(table)
    overlong = metrics.get("overlong") or {}
    if metrics.get("ties"):
        console.print(f"{metrics['ties']} tied pairs left out of accuracy")
    if overlong.get("truncated") or overlong.get("dropped_response_too_long"):
        console.print(f"over-long: {overlong}")
    _print_proxy_sections(metrics)


def _print_proxy_sections(metrics: dict) -> None:
    """One or two lines per proxy section (the report has the detail)."""
    lines = []
    cal = metrics.get("calibration")
    if cal:
        lines += calibration_lines(cal)
    lb = metrics.get("length_bias")
    if lb:
        lines.append(
            f"length: data prefers longer {percent(lb.get('data_prefers_longer'))}, model "
            f"{percent(lb.get('rm_prefers_longer'))}; 'longer wins' baseline "
            f"{percent(lb.get('longer_wins_accuracy'))}; accuracy chosen longer/shorter "
            f"{percent(lb.get('accuracy_chosen_longer'))}/"
            f"{percent(lb.get('accuracy_chosen_shorter'))}; Spearman ρ(reward, length) "
            f"{number(lb.get('spearman_reward_length'), 2)}"
        )
    probes = (metrics.get("probes") or {}).get("results")
    if probes:
        lines.append(
            "probes (flip rate): "
            + ", ".join(f"{name} {percent(block['flip_rate'])}" for name, block in probes.items())
        )
    unc = metrics.get("uncertainty")
    if unc:
        lines.append(uncertainty_line(unc))
    ood = metrics.get("ood")
    if ood:
        reference = ood.get("in_distribution_fraction_flagged")
        lines.append(
            f"OOD: {percent(ood.get('fraction_flagged'))} of pairs flagged"
            + (f" (in distribution: {percent(reference)})" if reference is not None else "")
            + f"; accuracy flagged {percent(ood.get('accuracy_flagged'))} vs unflagged "
            f"{percent(ood.get('accuracy_unflagged'))}"
        )
    for line in lines:
        console.print(line, highlight=False)


def _calibration_label(block: dict) -> str:
    text = f"T {number(block.get('temperature'))}"
    exponent = block.get("exponent")
    return text if exponent in (None, 1.0) else f"{text}, γ {number(exponent)}"


def calibration_lines(cal: dict) -> list[str]:
    """The calibration at the model's stored calibration, then (``--calibrate``) what was
    fitted and stored, why, and each form's held-out ECE (interval), NLL and Brier."""
    line = (
        f"calibration: ECE {number(cal.get('ece'))} ({cal.get('binning')}), Brier "
        f"{number(cal.get('brier'))}, NLL {number(cal.get('nll'))} at {_calibration_label(cal)}"
    )
    fit = cal.get("calibration_fit")
    if not fit:
        return [line]
    after = fit["after"]
    line += (
        f"; stored {fit['form']} {_calibration_label(fit)}, fitted on {fit['fitted_on']}: ECE "
        f"on {fit['tested_on']} {number(fit['before']['ece'])} → {number(after['ece'])}"
    )
    low, high = after["ece_ci95"]
    band = after["noise_floor"]["band90"]
    line += (
        f" (95% interval {number(low)}–{number(high)}); a perfectly calibrated model on "
        f"{after['n']} pairs: median {number(after['noise_floor']['median'])}, 90% band "
        f"{number(band[0])}–{number(band[1])} → "
        f"{'within' if after['within_noise_floor'] else 'above'} the noise floor"
    )
    lines = [line]
    for form, block in fit["forms"].items():
        low, high = block["ece_ci95"]
        lines.append(
            f"  {form} held out: ECE {number(block['ece'])} ({number(low)}–{number(high)}), "
            f"NLL {number(block['nll'], 4)}, Brier {number(block['brier'], 4)}"
        )
    differences = fit.get("power_minus_temperature")
    if differences:
        lines.append(
            "  power − temperature (paired bootstrap 95% CI): "
            + ", ".join(
                f"{FIGURE_NAMES[name]} {block['difference']:+.4f} "
                f"({block['ci95'][0]:+.4f} to {block['ci95'][1]:+.4f})"
                for name, block in differences.items()
            )
        )
    lines.append(f"  stored: {fit['form']} — {fit['why']}")
    return lines


def print_comparison(result: dict) -> None:
    table = Table(title=f"{result['n_common']} common pairs; differences to {result['baseline']}")
    for column in (
        "model",
        "accuracy",
        "difference",
        "95% CI (paired bootstrap)",
        "ECE",
        "flagged OOD",
    ):
        table.add_column(column)
    for row in result["models"]:
        diff = row.get("difference_to_first")
        table.add_row(
            row["name"],
            percent(row["accuracy"]),
            f"{100 * diff['difference']:+.1f} pts" if diff else "baseline",
            f"{100 * diff['ci95'][0]:+.1f} … {100 * diff['ci95'][1]:+.1f}" if diff else "",
            number(row.get("ece")),
            percent(row.get("fraction_flagged")),
        )
    console.print(table)


def uncertainty_line(unc: dict) -> str:
    """The default uncertainty first (:data:`rewardkit.eval.uncertainty.PAIR_UNCERTAINTY`,
    the metrics' ``default``), then the error AUROC of every other measure present."""
    default = unc.get("default", "margin")
    lead = unc.get(default) or unc["margin"]
    at = lead["accuracy_coverage"]["accuracy_at"]
    others = [
        f"{name.replace('_', ' ')} {number(unc[name]['error_auroc'])}"
        for name in ("spread", "probability_spread", "mc_dropout", "margin")
        if name != default and unc.get(name)
    ]
    members = f"{unc['members']} members; " if unc.get("members", 1) > 1 else ""
    return (
        f"uncertainty ({members}default: {default.replace('_', ' ')}): error AUROC "
        f"{number(lead['error_auroc'])}, accuracy at 50%/80% coverage {percent(at.get('0.5'))}/"
        f"{percent(at.get('0.8'))}" + (f"; error AUROC of {', '.join(others)}" if others else "")
    )
