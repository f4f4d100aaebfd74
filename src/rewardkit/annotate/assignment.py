"""Which item an annotator sees next, and recording, refusing and undoing their answers.

Each item gets up to ``overlap`` judgements (skips do not count), each annotator at most one
per item: the unique (item, annotator) constraint guards the second on both backends, and the
first is counted while the item's row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite every write transaction is ``BEGIN IMMEDIATE``, see :mod:`.store`), so two annotators
racing for an item's last place cannot both get it.

Order: gold (attention-check) items come every ``round(1 / gold_rate)``-th judgement while an
annotator has unseen ones; otherwise, by default, the item with the fewest judgements (then
the oldest). A ``priority`` map (item id → rank, lower first; see :mod:`.queue`) puts the
reward model's least certain items first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from rewardkit.annotate.schema import ANSWERS, RANKING, STRENGTHS, Item, Judgement
from rewardkit.annotate.store import Store
from rewardkit.data.formats import ranked_pairs
from rewardkit.data.validation import RecordProblem

MAX_COMMENT = 2000


class Refused(Exception):
    """An answer the server will not record: ``status`` (HTTP) and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Answer:
    """One submitted answer. ``choice`` a/b name ``responses[0]``/``[1]`` (not sides)."""

    item_id: int
    choice: str
    shown_order: list[int]
    ranking: list[int] | None = None
    strength: str | None = None
    comment: str | None = None


def judged_counts():
    """Subquery: item id → number of judgements that are not skips."""
    return (
        select(Judgement.item_id, func.count().label("n"))
        .where(Judgement.choice != "skip")
        .group_by(Judgement.item_id)
        .subquery()
    )


def open_items(session, annotator_id: int, overlap: int) -> list[tuple[int, int]]:
    """``(item id, judgements so far)`` of the non-gold items this annotator may judge."""
    counts = judged_counts()
    mine = select(Judgement.item_id).where(Judgement.annotator_id == annotator_id)
    n = func.coalesce(counts.c.n, 0)
    rows = session.execute(
        select(Item.id, n)
        .outerjoin(counts, counts.c.item_id == Item.id)
        .where(Item.gold.is_(None), Item.id.not_in(mine), n < overlap)
        .order_by(n, Item.id)
    )
    return [(item_id, count) for item_id, count in rows]


@dataclass
class Next:
    """What an annotator's page shows: the item (None when nothing is left) and progress."""

    item: Item | None
    done: int
    total: int


def next_item(
    store: Store,
    annotator_id: int,
    *,
    overlap: int,
    gold_rate: float = 0.0,
    priority: dict[int, int] | None = None,
) -> Next:
    """The item ``annotator_id`` should judge next, with their progress (judged, judged +
    still open)."""
    with store.reading() as session:
        done = session.scalar(select(func.count()).where(Judgement.annotator_id == annotator_id))
        candidates = open_items(session, annotator_id, overlap)
        total = done + len(candidates)
        if gold_rate > 0 and (done + 1) % max(1, round(1 / gold_rate)) == 0:
            seen = select(Judgement.item_id).where(Judgement.annotator_id == annotator_id)
            gold = session.scalar(
                select(Item).where(Item.gold.is_not(None), Item.id.not_in(seen)).order_by(Item.id)
            )
            if gold is not None:
                return Next(gold, done, total + 1)
        if not candidates:
            return Next(None, done, total)
        if priority:
            last = len(priority)
            candidates.sort(key=lambda row: (priority.get(row[0], last), row[1], row[0]))
        return Next(session.get(Item, candidates[0][0]), done, total)


def check_answer(item: Item, answer: Answer) -> None:
    """Refuse (422) an answer that does not fit its item."""
    k = len(item.responses)
    if sorted(answer.shown_order) != list(range(k)):
        raise Refused(422, f"shown_order must list the {k} response indices once")
    allowed = (*ANSWERS,) if k == 2 else (RANKING, "both_bad", "skip")
    if answer.choice not in allowed:
        raise Refused(422, f"choice must be one of {', '.join(allowed)} for this item")
    if answer.choice == RANKING:
        try:
            ranked_pairs(answer.ranking, k)
        except RecordProblem as problem:
            raise Refused(422, f"ranking {problem.problem}") from None
    elif answer.ranking is not None:
        raise Refused(422, "a ranking goes with choice=ranking only")
    if answer.strength is not None and answer.strength not in STRENGTHS:
        raise Refused(422, f"strength must be one of {', '.join(STRENGTHS)}")
    if answer.comment is not None and len(answer.comment) > MAX_COMMENT:
        raise Refused(422, f"a comment holds at most {MAX_COMMENT} characters")


def submit(
    store: Store,
    annotator_id: int,
    item_id: int,
    read_answer: Callable[[Item], Answer],
    *,
    overlap: int,
) -> int:
    """Record the answer ``read_answer(item)`` gives for item ``item_id`` (read inside the
    transaction that locks the item); returns the judgement's id or raises :class:`Refused`."""
    try:
        with store.transaction() as session:
            item = session.scalar(select(Item).where(Item.id == item_id).with_for_update())
            if item is None:
                raise Refused(404, f"no item {item_id}")
            answer = read_answer(item)
            check_answer(item, answer)
            if item.gold is None and answer.choice != "skip":
                counts = judged_counts()
                taken = session.scalar(select(counts.c.n).where(counts.c.item_id == item.id))
                if (taken or 0) >= overlap:
                    raise Refused(409, f"item {item.id} already has its {overlap} judgements")
            judgement = Judgement(
                item_id=item.id,
                annotator_id=annotator_id,
                choice=answer.choice,
                ranking=answer.ranking,
                shown_order=answer.shown_order,
                strength=answer.strength,
                comment=answer.comment or None,
            )
            session.add(judgement)
            session.flush()
            return judgement.id
    except IntegrityError:
        raise Refused(409, f"you already judged item {item_id}") from None


def undo_last(store: Store, annotator_id: int) -> int | None:
    """Delete this annotator's most recent judgement; returns its item id (None if none)."""
    with store.transaction() as session:
        last = session.scalar(
            select(Judgement)
            .where(Judgement.annotator_id == annotator_id)
            .order_by(Judgement.id.desc())
            .limit(1)
        )
        if last is None:
            return None
        session.execute(delete(Judgement).where(Judgement.id == last.id))
        return last.item_id
