"""``rewardkit annotate export``: the judgements as pairs ``rewardkit train`` reads as they
are, plus the raw votes, plus a sidecar saying how the pairs were made.

==============================  =================================================================
file                            what
==============================  =================================================================
``OUT``                         explicit pairs ``{"prompt", "chosen", "rejected", "margin",
                                "tie", "weight", "annotator", "id"}``: one per two-response item
                                (aggregated), and the pairs of every top-k ranking (each ranked
                                response ≻ those below it and the unranked ones), weighted so
                                that each item's rankings count once together
``OUT_STEM.votes.jsonl``        raw votes, one row per pair judgement (:mod:`.votes_io`)
``OUT_STEM.rankings.jsonl``     raw rankings, one row per ranking judgement (rankings format)
``OUT.meta.json``               the sidecar: aggregation, strength → margin map, counts
==============================  =================================================================

Aggregation of the votes of an item: ``majority`` is the votes reader's own
(:class:`rewardkit.data.votes.VoteTally`: the most votes wins, no clear winner is a tie);
``dawid-skene`` is the label of a Dawid–Skene fit (Dawid & Skene 1979, via crowd-kit), which
weighs each annotator by their estimated confusion matrix. Both-bad items are left out of the
pairs and counted. A pair's margin is the mean strength margin of the votes that agree with
its label (default slight 0, clear 0.5, strong 1.0; 0 when none gave a strength; 0 for ties).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rewardkit.annotate.agreement import dawid_skene
from rewardkit.annotate.collected import Collected, collect
from rewardkit.annotate.store import Store, head_revision, safe_url
from rewardkit.annotate.votes_io import ranking_row, vote_row
from rewardkit.data.formats import parse_rankings
from rewardkit.data.records import PreferencePair
from rewardkit.data.votes import BOTH_BAD, STRENGTH_MARGINS, Vote, VoteTally
from rewardkit.data.writers import pairs_to_jsonl, write_jsonl
from rewardkit.files import write_json_atomic

AGGREGATES = ("majority", "dawid-skene")


def side_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """The raw votes, raw rankings and sidecar paths that go with ``out``."""
    out = Path(out)
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return (
        out.with_name(f"{stem}.votes.jsonl"),
        out.with_name(f"{stem}.rankings.jsonl"),
        out.with_name(f"{out.name}.meta.json"),
    )


def as_vote(row: dict[str, Any], where: str) -> Vote:
    return Vote(
        item_id=row["item_id"],
        prompt=row["prompt"],
        response_a=row["response_a"],
        response_b=row["response_b"],
        choice=row["choice"],
        annotator=row["annotator"],
        subset=None,
        where=where,
        strength=row["strength"],
    )


def majority_pairs(rows: list[dict], margins: dict[str, float]) -> tuple[list, VoteTally]:
    tally = VoteTally(margins)
    for n, row in enumerate(rows, start=1):
        tally.add(as_vote(row, f"votes:{n}"))
    return tally.pairs(), tally


def dawid_skene_pairs(rows: list[dict], margins: dict[str, float]) -> tuple[list, int]:
    """One pair per item labelled a, b or tie by the Dawid–Skene fit; both-bad items counted."""
    _, labels = dawid_skene([(r["item_id"], r["annotator"], r["choice"]) for r in rows])
    by_item: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_item[row["item_id"]].append(row)
    pairs, both_bad = [], 0
    for key, votes in by_item.items():
        label = labels[key]
        if label == BOTH_BAD:
            both_bad += 1
            continue
        first = votes[0]
        chosen, rejected = first["response_a"], first["response_b"]
        if label == "b":
            chosen, rejected = rejected, chosen
        given = [margins[v["strength"]] for v in votes if v["choice"] == label and v["strength"]]
        pairs.append(
            PreferencePair(
                prompt=first["prompt"],
                chosen=chosen,
                rejected=rejected,
                margin=sum(given) / len(given) if given and label != "tie" else 0.0,
                tie=label == "tie",
                annotator=",".join(v["annotator"] for v in votes),
                id=key,
                extra={"votes": dict(Counter(v["choice"] for v in votes))},
            )
        )
    return pairs, both_bad


def ranking_pairs(rows: list[dict]) -> list[PreferencePair]:
    """The pairs of every ranking judgement (the rankings reader's own expansion), each
    ranking weighted 1 / (rankings of its item) so an item counts once."""
    per_item = Counter(row["item_id"] for row in rows)
    pairs = []
    for n, row in enumerate(rows, start=1):
        record = {**row, "weight": 1.0 / per_item[row["item_id"]]}
        pairs.extend(parse_rankings(record, f"rankings:{n}"))
    return pairs


def export(
    store: Store,
    out: str | Path,
    *,
    aggregate: str = "majority",
    margins: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Write the pairs, raw votes, raw rankings and sidecar; returns the sidecar's content."""
    margins = dict(margins or STRENGTH_MARGINS)
    collected: Collected = collect(store)
    votes = [vote_row(item, j, name) for item, j, name in collected.pair_votes()]
    rankings = [ranking_row(item, j, name) for item, j, name in collected.rankings()]
    if aggregate == "majority":
        pairs, tally = majority_pairs(votes, margins)
        both_bad_items = tally.both_bad_items
    else:
        pairs, both_bad_items = dawid_skene_pairs(votes, margins)
    ranked = ranking_pairs(rankings)
    pairs += ranked
    votes_path, rankings_path, meta_path = side_paths(out)
    pairs_to_jsonl(out, pairs)
    write_jsonl(votes_path, votes)
    write_jsonl(rankings_path, rankings)
    meta = {
        "aggregate": aggregate,
        "strength_margins": margins,
        "margin_rule": "mean strength margin of the votes agreeing with the pair's label; "
        "0 when none gave a strength; 0 for ties",
        "pairs": len(pairs),
        "ties": sum(p.tie for p in pairs),
        "pairs_from_rankings": len(ranked),
        "both_bad_items_left_out": both_bad_items,
        "both_bad_votes": sum(v["choice"] == BOTH_BAD for v in votes),
        "skips": collected.skips(),
        "votes": len(votes),
        "rankings": len(rankings),
        "raw_votes": votes_path.name,
        "raw_rankings": rankings_path.name,
        "database": safe_url(store.url),
        "schema_revision": head_revision(),
    }
    write_json_atomic(meta_path, meta)
    return {**meta, "out": str(out)}
