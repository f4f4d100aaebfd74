"""Per-vote rows → one pair per item by majority; ties when tie wins or nobody leads."""

import json
from collections import Counter, defaultdict

import pytest

from rewardkit.data import read_pairs
from rewardkit.errors import BadRecordError


def _votes(item_id, choices, a="answer A", b="answer B", prompt="Q?"):
    return [
        {
            "item_id": item_id,
            "prompt": prompt,
            "response_a": a,
            "response_b": b,
            "annotator": f"ann{n}",
            "choice": choice,
        }
        for n, choice in enumerate(choices, start=1)
    ]


def test_majority_vote_on_a_hand_made_file(write_jsonl):
    rows = (
        _votes("a-wins", ["a", "a", "b"])
        + _votes("b-wins", ["b", "tie", "B"])  # 1 b, 1 tie, 1 B (case-insensitive) → b
        + _votes("tie-wins", ["tie", "a", "tie"])
        + _votes("no-majority", ["a", "b", "tie"])
    )
    path = write_jsonl(rows)
    pairs, report = read_pairs(path)
    assert (report.format, report.n_records, report.n_pairs) == ("votes", 12, 4)
    by_id = {p.id: p for p in pairs}
    assert list(by_id) == ["a-wins", "b-wins", "tie-wins", "no-majority"]
    assert (by_id["a-wins"].chosen, by_id["a-wins"].tie) == ("answer A", False)
    assert (by_id["b-wins"].chosen, by_id["b-wins"].rejected, by_id["b-wins"].tie) == (
        "answer B",
        "answer A",
        False,
    )
    assert by_id["tie-wins"].tie and by_id["no-majority"].tie
    assert by_id["a-wins"].extra["votes"] == {"a": 2, "b": 1, "tie": 0}
    assert by_id["b-wins"].extra["votes"] == {"a": 0, "b": 2, "tie": 1}
    assert by_id["no-majority"].extra["votes"] == {"a": 1, "b": 1, "tie": 1}
    assert by_id["a-wins"].annotator == "ann1,ann2,ann3"
    assert by_id["tie-wins"].source == f"{path}:7"  # the item's first vote


def test_votes_may_come_in_any_order(write_jsonl):
    first, second = _votes("x", ["b", "b"]), _votes("y", ["a"])
    pairs, _ = read_pairs(write_jsonl([first[0], second[0], first[1]]))
    assert [(p.id, p.chosen, p.extra["votes"]["b"]) for p in pairs] == [
        ("x", "answer B", 2),
        ("y", "answer A", 0),
    ]


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"choice": "maybe"}, "field 'choice': is not 'a', 'b', 'tie' or 'both_bad'"),
        ({"strength": "huge"}, "field 'strength': is not one of slight, clear, strong"),
        ({"both_bad": "yes"}, "field 'both_bad': is not true/false"),
        ({"choice": None}, "field 'choice': is missing"),
        ({"response_b": "answer A"}, "'response_a' is identical to 'response_b'"),
        (
            {"response_a": "", "response_b": ""},
            "both responses \\('response_a' and 'response_b'\\) are empty",
        ),
        (
            {"prompt": "Another question?"},
            "field 'prompt': differs from the first vote of its item_id",
        ),
        ({"annotator": 5}, "field 'annotator': is not a string"),
    ],
)
def test_bad_vote_rows_are_bad_records(write_jsonl, change, expected):
    rows = _votes("i1", ["a", "a", "b"])
    rows[2] = {**rows[2], **change}
    path = write_jsonl(rows)
    with pytest.raises(BadRecordError, match=f"^{path}:3: {expected}"):
        read_pairs(path)
    (pair,), report = read_pairs(path, on_bad_record="skip")
    assert pair.extra["votes"] == {"a": 2, "b": 0, "tie": 0}  # the good votes still count
    assert [s.where for s in report.skipped] == [f"{path}:3"]


def test_one_empty_response_is_valid_in_votes(write_jsonl):
    (pair,), _ = read_pairs(write_jsonl(_votes("i", ["b", "b", "a"], b="")))
    assert (pair.chosen, pair.rejected) == ("", "answer A")


def test_real_pandalm_judgements(shared_data):
    path = shared_data / "pandalm" / "judgements.jsonl"
    pairs, report = read_pairs(path)
    assert (report.format, report.n_records, report.n_pairs, report.skipped) == (
        "votes",
        2997,
        999,
        [],
    )
    # count ties independently from the raw rows: no choice leads alone, or "tie" leads
    choices = defaultdict(Counter)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        choices[row["item_id"]][row["choice"]] += 1
    expected_ties = 0
    for counts in choices.values():
        ranked = counts.most_common()
        if ranked[0][0] == "tie" or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            expected_ties += 1
    assert 0 < expected_ties < 999
    assert sum(p.tie for p in pairs) == expected_ties
    assert all(sum(p.extra["votes"].values()) == 3 for p in pairs)
    assert all(p.annotator == "annotator1,annotator2,annotator3" for p in pairs)


def test_both_bad_votes_are_left_out_and_counted(write_jsonl):
    """Item x: a, tie-marked-both_bad (field), both_bad → a 1, both bad 2: both bad leads, no
    pair. Item y: a, a, both_bad → the a votes decide. Item z: both_bad ×2 → no pair."""
    rows = (
        _votes("x", ["a", "tie", "both_bad"])
        + _votes("y", ["a", "a", "both_bad"])
        + _votes("z", ["both_bad", "BOTH_BAD"])
    )
    rows[1]["both_bad"] = True
    pairs, report = read_pairs(write_jsonl(rows))
    assert [(p.id, p.chosen, p.extra["votes"]) for p in pairs] == [
        ("y", "answer A", {"a": 2, "b": 0, "tie": 0})
    ]
    assert (report.both_bad_votes, report.both_bad_items) == (5, 2)
    assert "5 both-bad votes left out (2 items where both bad led, no pair)" in report.summary()


def test_strength_becomes_the_mean_margin_of_the_winning_votes(write_jsonl):
    """b wins 2–1; the b votes say strong (1.0) and clear (0.5) → margin 0.75; the a vote's
    strength is not the winner's and does not count. A tie has margin 0."""
    rows = _votes("s", ["b", "b", "a"]) + _votes("t", ["tie", "tie"])
    for row, strength in zip(rows, ["strong", "clear", "strong", "strong", None]):
        row["strength"] = strength
    by_id = {p.id: p for p in read_pairs(write_jsonl(rows))[0]}
    assert by_id["s"].margin == pytest.approx((1.0 + 0.5) / 2)
    assert (by_id["t"].tie, by_id["t"].margin) == (True, 0.0)
