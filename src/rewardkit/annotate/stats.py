"""``rewardkit annotate stats``: progress, then agreement and annotator quality
(:mod:`.agreement`), as one JSON-able dict and as tables for the terminal."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rewardkit.annotate.agreement import agreement_stats
from rewardkit.annotate.collected import collect
from rewardkit.annotate.store import Store


def collection_stats(store: Store) -> dict[str, Any]:
    collected = collect(store)
    per_annotator = Counter(name for _, _, name in collected.judgements)
    per_item = Counter(item.id for item, judgement, _ in collected.judgements)
    labels = Counter(judgement.choice for _, judgement, _ in collected.judgements)
    progress = {
        "items": len(collected.items),
        "gold_items": sum(item.gold is not None for item in collected.items),
        "items_judged": len(per_item),
        "judgements": len(collected.judgements),
        "answers": dict(sorted(labels.items())),
        "judgements_per_item": dict(sorted(Counter(per_item.values()).items())),
        "per_annotator": dict(sorted(per_annotator.items())),
    }
    return {
        "progress": progress,
        **agreement_stats(collected.label_table(), collected.gold_choices()),
    }


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def print_stats(stats: dict[str, Any]) -> None:
    """The statistics as a few rich tables."""
    from rich.table import Table

    from rewardkit.progress import console

    progress = stats["progress"]
    console.print(
        f"{progress['items']} items ({progress['gold_items']} gold), "
        f"{progress['items_judged']} judged, {progress['judgements']} judgements "
        f"{progress['answers']}; judgements per item {progress['judgements_per_item']}",
        highlight=False,
    )
    fleiss = stats["fleiss_kappa"]
    console.print(
        f"raw agreement {_number(stats['raw_agreement'])} over "
        f"{stats['annotator_pairs_compared']} same-item pairs; Fleiss' κ "
        f"{_number(fleiss['kappa'])} ({fleiss['items']} items × {fleiss['raters_per_item']} "
        f"annotators); Krippendorff's α {_number(stats['krippendorff_alpha'])} "
        f"({stats['items_with_overlap']} items with overlap)",
        highlight=False,
    )
    table = Table(title="annotators")
    for column in ("annotator", "judgements", "vs others' majority", "gold accuracy", "D–S"):
        table.add_column(column)
    for name, count in progress["per_annotator"].items():
        loo = stats["leave_one_out"].get(name)
        gold = stats["gold_accuracy"].get(name)
        table.add_row(
            name,
            str(count),
            f"{_number(loo['agreement'])} ({loo['items']})" if loo else "–",
            f"{_number(gold['accuracy'])} ({gold['items']})" if gold else "–",
            _number(stats["dawid_skene_reliability"].get(name)),
        )
    console.print(table)
    kappas = Table(title="Cohen's κ per annotator pair")
    for column in ("pair", "shared items", "κ"):
        kappas.add_column(column)
    for row in stats["cohen_kappa"]:
        kappas.add_row(" / ".join(row["annotators"]), str(row["items"]), _number(row["kappa"]))
    console.print(kappas)
