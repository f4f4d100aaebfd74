"""The model card's measured sections, written from a ``metrics.json`` (training's or
``rewardkit eval``'s: one schema) — never by hand.

Each function takes the metrics dict and returns Markdown; a section whose figures are absent
says so and names the command that measures them. :func:`failure_modes` turns the figures into
sentences ("prefers the shorter answer: ρ = −0.43") by the thresholds below.
"""

from __future__ import annotations

from rewardkit.bradley_terry import Calibration
from rewardkit.formatting import number, percent, percent_interval

NOT_MEASURED = "not measured yet: run `rewardkit eval --model DIR --data FILE --update-card`"
LENGTH_RHO = 0.3  # |Spearman ρ(reward, length)| from which the card names a length preference
SHORTER_GAP = 0.10  # accuracy drop when the chosen answer is the shorter one
ECE_HIGH = 0.10  # expected calibration error the card calls miscalibrated
TRICK_FLIPS = 0.10  # flip rate of a cheap trick the card calls a weakness
OOD_GAP = 0.10  # accuracy drop on pairs flagged out of distribution


def _ci(interval) -> str:
    return percent_interval(interval)


def accuracy(m: dict) -> str:
    if m.get("accuracy") is None:
        return f"## Accuracy\n\n{NOT_MEASURED}.\n"
    rows = [("all pairs", m)] + [
        (f"subset `{name}`", block) for name, block in (m.get("per_subset") or {}).items()
    ]
    lines = ["| pairs | n | accuracy | 95% CI |", "|---|---:|---:|---:|"]
    for name, block in rows:
        lines.append(
            f"| {name} | {block.get('n')} | {percent(block.get('accuracy'))} "
            f"| {_ci(block.get('accuracy_ci95'))} |"
        )
    return (
        "## Accuracy\n\nA pair counts as right when r(chosen) > r(rejected); intervals are a "
        "percentile bootstrap over pairs.\n\n" + "\n".join(lines) + "\n"
    )


def calibration(m: dict) -> str:
    c = m.get("calibration")
    if not c:
        return f"## Calibration\n\n{NOT_MEASURED}.\n"
    used = Calibration.stored(c.get("temperature"), c.get("exponent"))
    text = (
        f"## Calibration\n\nP(chosen ≻ rejected) = {used.formula}, Δ = r(chosen) − r(rejected), "
        f"with {used.label()}: ECE {number(c.get('ece'))} ({c.get('binning')}), Brier "
        f"{number(c.get('brier'))}, mean confidence {percent(c.get('mean_confidence'))} against "
        f"accuracy {percent(c.get('accuracy'))} on {c.get('n')} pairs.\n"
    )
    fit = c.get("calibration_fit")
    if fit:
        stored = Calibration.stored(fit.get("temperature"), fit.get("exponent"))
        text += (
            f"\nThen calibrated: the {fit.get('form')} form, P = {stored.formula} with "
            f"{stored.label()}, fitted on {fit.get('fitted_on')}, took the ECE on "
            f"{fit.get('tested_on')} from {number(fit['before'].get('ece'))} to "
            f"{number(fit['after'].get('ece'))} ({fit.get('why')}).\n"
        )
    return text


def length_bias(m: dict) -> str:
    lb = m.get("length_bias")
    if not lb:
        return f"## Length bias\n\n{NOT_MEASURED}.\n"
    return (
        f"## Length bias\n\nOver the {lb.get('n_different_length')} pairs whose responses "
        f"differ in length ({lb.get('unit')}): the data prefers the longer response in "
        f"{percent(lb.get('data_prefers_longer'))}, the model scores it higher in "
        f"{percent(lb.get('rm_prefers_longer'))}; Spearman ρ(reward, length) = "
        f"{number(lb.get('spearman_reward_length'), 2)}. Accuracy when the chosen answer is the "
        f"longer: {percent(lb.get('accuracy_chosen_longer'))} ({lb.get('n_chosen_longer')} "
        f"pairs); the shorter: {percent(lb.get('accuracy_chosen_shorter'))} "
        f'({lb.get("n_chosen_shorter")} pairs). "Longer wins" scores '
        f"{percent(lb.get('longer_wins_accuracy'))}.\n"
    )


def ood(m: dict) -> str:
    o = m.get("ood")
    if not o or o.get("fraction_flagged") is None:
        return f"## Out-of-distribution behaviour\n\n{NOT_MEASURED}.\n"
    return (
        f"## Out-of-distribution behaviour\n\n{o.get('rule', 'Flagged pairs')}. Flagged: "
        f"{percent(o.get('fraction_flagged'))} of {o.get('n')} pairs (in distribution, "
        f"{o.get('in_distribution_source')}: "
        f"{percent(o.get('in_distribution_fraction_flagged'))}). Accuracy on flagged pairs "
        f"{percent(o.get('accuracy_flagged'))}, on the others "
        f"{percent(o.get('accuracy_unflagged'))}.\n"
    )


def probes(m: dict) -> str:
    results = (m.get("probes") or {}).get("results")
    if not results:
        return f"## Hackability probes\n\n{NOT_MEASURED}.\n"
    lines = ["| probe | kind | flip rate | mean Δ reward |", "|---|---|---:|---:|"]
    for name, p in results.items():
        lines.append(
            f"| {name} | {p.get('kind', '')} | {percent(p.get('flip_rate'))} "
            f"| {number(p.get('mean_reward_change'))} |"
        )
    return (
        "## Hackability probes\n\nEach edit is applied to the rejected response; the flip rate "
        "is how often it lifts the rejected over the chosen among pairs ranked right "
        "before.\n\n" + "\n".join(lines) + "\n"
    )


def failure_modes(m: dict) -> list[str]:
    """Sentences naming where the figures say the model should not be trusted."""
    found = []
    lb = m.get("length_bias") or {}
    rho = lb.get("spearman_reward_length")
    if rho is not None and abs(rho) >= LENGTH_RHO:
        side = "shorter" if rho < 0 else "longer"
        found.append(f"prefers the {side} answer: ρ(reward, length) = {number(rho, 2)}")
    shorter, overall = lb.get("accuracy_chosen_shorter"), m.get("accuracy")
    if shorter is not None and overall is not None and overall - shorter >= SHORTER_GAP:
        found.append(
            f"weaker when the chosen answer is the shorter one: {percent(shorter)} against "
            f"{percent(overall)} overall"
        )
    ece = (m.get("calibration") or {}).get("ece")
    if ece is not None and ece >= ECE_HIGH:
        found.append(f"miscalibrated probabilities: ECE {number(ece)}")
    for name, block in (m.get("per_subset") or {}).items():
        low = (block.get("accuracy_ci95") or [None])[0]
        if low is not None and low <= 0.5:
            found.append(
                f"subset `{name}`: accuracy {percent(block.get('accuracy'))} "
                f"(95% CI {_ci(block.get('accuracy_ci95'))}) is not clearly above chance"
            )
    worst = ((m.get("probes") or {}).get("summary") or {}).get("worst_trick") or {}
    if worst.get("flip_rate") is not None and worst["flip_rate"] >= TRICK_FLIPS:
        found.append(
            f"hackable: the '{worst.get('probe')}' trick lifts the rejected answer over the "
            f"chosen one in {percent(worst['flip_rate'])} of pairs"
        )
    o = m.get("ood") or {}
    flagged, rest = o.get("accuracy_flagged"), o.get("accuracy_unflagged")
    if flagged is not None and rest is not None and rest - flagged >= OOD_GAP:
        found.append(
            f"less accurate out of distribution: {percent(flagged)} on flagged pairs against "
            f"{percent(rest)}"
        )
    return found


def failure_modes_section(m: dict) -> str:
    found = failure_modes(m)
    checked = (
        f"|ρ(reward, length)| ≥ {LENGTH_RHO}, accuracy {percent(SHORTER_GAP, 0)} lower when the "
        f"chosen answer is shorter, ECE ≥ {ECE_HIGH}, a subset not clearly above chance, a "
        f"trick flipping ≥ {percent(TRICK_FLIPS, 0)}, {percent(OOD_GAP, 0)} lower accuracy out "
        "of distribution"
    )
    body = "\n".join(f"* {line}" for line in found) if found else "None of the checks fired."
    return f"## Known failure modes\n\n{body}\n\nChecked: {checked}.\n"


def measured_sections(m: dict) -> str:
    """Accuracy, calibration, length bias, OOD, probes and failure modes of one evaluation."""
    parts = [accuracy(m), calibration(m), length_bias(m), ood(m), probes(m)]
    parts.append(failure_modes_section(m))
    return "\n".join("#" + part for part in parts)  # one level under the caller's heading
