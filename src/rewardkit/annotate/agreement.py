"""Agreement and annotator quality over pair judgements, with tie and both-bad as categories
of their own (labels a, b, tie, both_bad; skips are not judgements).

==========================  ======================================================================
statistic                   definition (and the library that computes it)
==========================  ======================================================================
raw agreement               share of same-item annotator pairs that gave the same label, pooled
                            over every pair of annotators on every item with ≥ 2 labels
Cohen's κ                   per annotator pair, over the items both judged: (p_o − p_e)/(1 − p_e)
                            with p_e from each one's own label rates (Cohen 1960;
                            ``sklearn.metrics.cohen_kappa_score``); None when fewer than 2
                            shared items or p_e = 1
Fleiss' κ                   over the items with exactly m labels, m the most common count ≥ 2
                            (Fleiss 1971 assumes equally many raters per item;
                            ``statsmodels.stats.inter_rater.fleiss_kappa``)
Krippendorff's α            nominal, every item with ≥ 2 labels, any number of annotators
                            (Krippendorff 2004/2011; the ``krippendorff`` package)
leave-one-out agreement     per annotator: share of their labels equal to the majority of the
                            *other* annotators' labels on that item (items where the others
                            have ≥ 2 labels and one label leads alone)
gold accuracy               per annotator: share of their labels on gold items equal to the
                            known answer
Dawid–Skene reliability     per annotator: Σ_k π_k · P(says k | truth k), from the confusion
                            matrices and class priors of the EM fit (Dawid & Skene 1979;
                            ``crowdkit.aggregation.DawidSkene``)
==========================  ======================================================================
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter, defaultdict
from typing import Any

from rewardkit.annotate.collected import LABELS

Table = list[tuple[str, str, str]]  # (item, annotator, label)


def labels_by_item(table: Table) -> dict[str, dict[str, str]]:
    by_item: dict[str, dict[str, str]] = defaultdict(dict)
    for item, annotator, label in table:
        by_item[item][annotator] = label
    return by_item


def raw_agreement(by_item: dict[str, dict[str, str]]) -> tuple[float | None, int]:
    """Pooled share of agreeing same-item annotator pairs, and how many pairs."""
    same = total = 0
    for labels in by_item.values():
        for x, y in itertools.combinations(labels.values(), 2):
            same += x == y
            total += 1
    return (same / total if total else None), total


def cohen_kappas(by_item: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Cohen's κ of every annotator pair with ≥ 2 shared items."""
    from sklearn.metrics import cohen_kappa_score

    shared: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for labels in by_item.values():
        for x, y in itertools.combinations(sorted(labels), 2):
            shared[(x, y)].append((labels[x], labels[y]))
    out = []
    for (x, y), rows in sorted(shared.items()):
        kappa = None
        if len(rows) >= 2:
            with warnings.catch_warnings():  # p_e = 1 gives nan with a RuntimeWarning
                warnings.simplefilter("ignore")
                value = cohen_kappa_score(
                    [r[0] for r in rows], [r[1] for r in rows], labels=list(LABELS)
                )
            kappa = None if math.isnan(value) else float(value)
        out.append({"annotators": [x, y], "items": len(rows), "kappa": kappa})
    return out


def fleiss(by_item: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Fleiss' κ over the items with the most common label count m ≥ 2."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    counts = Counter(len(labels) for labels in by_item.values() if len(labels) >= 2)
    if not counts:
        return {"kappa": None, "items": 0, "raters_per_item": None}
    m = max(counts, key=lambda n: (counts[n], n))
    rows = [
        [list(labels.values()).count(label) for label in LABELS]
        for labels in by_item.values()
        if len(labels) == m
    ]
    value = float(fleiss_kappa(rows, method="fleiss"))
    return {
        "kappa": None if math.isnan(value) else value,
        "items": len(rows),
        "raters_per_item": m,
    }


def krippendorff_alpha(by_item: dict[str, dict[str, str]], annotators: list[str]):
    """Nominal α over the items with ≥ 2 labels (None when there are none, or one value)."""
    import krippendorff
    import numpy as np

    items = [labels for labels in by_item.values() if len(labels) >= 2]
    values = {v for labels in items for v in labels.values()}
    if not items or len(values) < 2:
        return None
    data = np.full((len(annotators), len(items)), np.nan)
    row = {name: i for i, name in enumerate(annotators)}
    for j, labels in enumerate(items):
        for name, label in labels.items():
            data[row[name], j] = LABELS.index(label)
    value = krippendorff.alpha(
        reliability_data=data, level_of_measurement="nominal", value_domain=range(len(LABELS))
    )
    return float(value)


def leave_one_out(by_item: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Each annotator's agreement with the others' majority (see the module's docstring)."""
    agree: Counter = Counter()
    used: Counter = Counter()
    for labels in by_item.values():
        for name, label in labels.items():
            others = Counter(v for other, v in labels.items() if other != name)
            if sum(others.values()) < 2:
                continue
            (top, n), *rest = others.most_common()
            if rest and rest[0][1] == n:
                continue  # no label leads alone
            used[name] += 1
            agree[name] += label == top
    return {name: {"agreement": agree[name] / used[name], "items": used[name]} for name in used}


def gold_accuracy(table: Table, gold: dict[str, str]) -> dict[str, dict[str, Any]]:
    right: Counter = Counter()
    seen: Counter = Counter()
    for item, annotator, label in table:
        if item in gold:
            seen[annotator] += 1
            right[annotator] += label == gold[item]
    return {name: {"accuracy": right[name] / seen[name], "items": seen[name]} for name in seen}


def dawid_skene(table: Table) -> tuple[dict[str, float], dict[str, str]]:
    """Per-annotator reliability and per-item label of a Dawid–Skene EM fit (1979)."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    if not table:
        return {}, {}
    frame = pd.DataFrame(table, columns=["task", "worker", "label"])
    model = DawidSkene(n_iter=100)
    labels = model.fit_predict(frame)
    errors, priors = model.errors_, model.priors_
    reliability = {}
    for worker in sorted(frame["worker"].unique()):
        confusion = errors.loc[worker]
        reliability[worker] = float(
            sum(
                priors[k] * confusion.loc[k, k]
                for k in priors.index
                if k in confusion.index and k in confusion.columns
            )
        )
    return reliability, {str(task): str(label) for task, label in labels.items()}


def agreement_stats(table: Table, gold: dict[str, str]) -> dict[str, Any]:
    """Every statistic of the module's table, as one JSON-able dict."""
    by_item = labels_by_item(table)
    annotators = sorted({annotator for _, annotator, _ in table})
    agreement, n_pairs = raw_agreement(by_item)
    reliability, _ = dawid_skene(table)
    return {
        "labels": list(LABELS),
        "items_with_overlap": sum(len(labels) >= 2 for labels in by_item.values()),
        "raw_agreement": agreement,
        "annotator_pairs_compared": n_pairs,
        "cohen_kappa": cohen_kappas(by_item),
        "fleiss_kappa": fleiss(by_item),
        "krippendorff_alpha": krippendorff_alpha(by_item, annotators),
        "leave_one_out": leave_one_out(by_item),
        "gold_accuracy": gold_accuracy(table, gold),
        "dawid_skene_reliability": reliability,
    }
