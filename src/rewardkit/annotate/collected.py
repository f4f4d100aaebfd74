"""Everything collected so far, read once: each judgement with its item and annotator's name,
and the pair judgements as one ``(item, annotator, label)`` table for the statistics."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from rewardkit.annotate.schema import RANKING, Annotator, Item, Judgement
from rewardkit.annotate.store import Store

LABELS = ("a", "b", "tie", "both_bad")  # the categories of agreement (tie ≠ both bad)


@dataclass
class Collected:
    items: list[Item]
    judgements: list[tuple[Item, Judgement, str]]  # (item, judgement, annotator name)
    annotators: list[str]

    def pair_votes(self) -> list[tuple[Item, Judgement, str]]:
        """Answers to two-response items that are not skips."""
        return [row for row in self.judgements if row[1].choice in LABELS]

    def rankings(self) -> list[tuple[Item, Judgement, str]]:
        return [row for row in self.judgements if row[1].choice == RANKING]

    def skips(self) -> int:
        return sum(row[1].choice == "skip" for row in self.judgements)

    def label_table(self) -> list[tuple[str, str, str]]:
        """``(item key, annotator, label)`` of every pair vote."""
        return [(item.key, name, judgement.choice) for item, judgement, name in self.pair_votes()]

    def gold_choices(self) -> dict[str, str]:
        """Item key → known choice, for two-response gold items."""
        return {
            item.key: item.gold["choice"]
            for item in self.items
            if item.gold and "choice" in item.gold
        }


def collect(store: Store) -> Collected:
    """Read every item, judgement and annotator name (ordered by id)."""
    with store.reading() as session:
        items = list(session.scalars(select(Item).order_by(Item.id)))
        rows = session.execute(
            select(Judgement, Annotator.name)
            .join(Annotator, Annotator.id == Judgement.annotator_id)
            .order_by(Judgement.id)
        ).all()
        names = list(session.scalars(select(Annotator.name).order_by(Annotator.id)))
    by_id = {item.id: item for item in items}
    return Collected(
        items=items,
        judgements=[(by_id[j.item_id], j, name) for j, name in rows],
        annotators=names,
    )
