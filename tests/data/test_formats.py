"""Record formats, sniffed and forced, on tiny hand-made files."""

import math

import pytest

from rewardkit.data import FORMATS, PreferencePair, ScoredItem, read_items, read_pairs
from rewardkit.errors import BadRecordError, UserError

USER = {"role": "user", "content": "Hi, who are you?"}


def _assistant(text):
    return {"role": "assistant", "content": text}


# --- explicit ------------------------------------------------------------------------------------


def test_explicit_text_with_optional_fields(write_jsonl):
    row = {
        "prompt": "p",
        "chosen": "good",
        "rejected": "bad",
        "margin": 2,
        "tie": False,
        "subset": "math",
        "annotator": "ann7",
        "id": 41,
        "weight": 0.5,
    }
    (pair,), report = read_pairs(write_jsonl([row]))
    assert pair == PreferencePair(
        prompt="p",
        chosen="good",
        rejected="bad",
        margin=2.0,
        weight=0.5,
        subset="math",
        annotator="ann7",
        id="41",
        source=pair.source,
    )
    assert report.format == "explicit"


def test_explicit_chat_prompt_with_trl_conversational_responses(write_jsonl):
    rows = [
        {
            "prompt": [USER],
            "chosen": [_assistant("A helper.")],
            "rejected": [_assistant("Nobody.")],
        },
        # the whole conversation repeated in each response is accepted too
        {"prompt": [USER], "chosen": [USER, _assistant("Me.")], "rejected": "You."},
    ]
    pairs, _ = read_pairs(write_jsonl(rows))
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [
        ([USER], "A helper.", "Nobody."),
        ([USER], "Me.", "You."),
    ]


@pytest.mark.parametrize(
    "chosen, expected",
    [
        ([USER], "field 'chosen': does not end with an assistant message"),
        (
            [{"role": "user", "content": "other"}, _assistant("x")],
            "field 'chosen': holds more than one message",
        ),
        ([{"role": "assistant"}], "field 'chosen': message 0 has no string 'content'"),
    ],
)
def test_explicit_bad_message_responses(write_jsonl, chosen, expected):
    path = write_jsonl([{"prompt": [USER], "chosen": chosen, "rejected": "r"}])
    with pytest.raises(BadRecordError, match=f"^{path}:1: {expected}"):
        read_pairs(path)


# --- implicit ------------------------------------------------------------------------------------


def test_implicit_messages_take_the_common_prefix_as_prompt(write_jsonl):
    history = [USER, _assistant("A bot."), {"role": "user", "content": "Sure?"}]
    row = {"chosen": history + [_assistant("Yes.")], "rejected": history + [_assistant("No.")]}
    (pair,), report = read_pairs(write_jsonl([row]))
    assert (pair.prompt, pair.chosen, pair.rejected) == (history, "Yes.", "No.")
    assert report.format == "implicit"


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            {"chosen": [USER, _assistant("a")], "rejected": [USER]},
            "field 'rejected': does not end with an assistant",
        ),
        (
            {
                "chosen": [USER, _assistant("a")],
                "rejected": [{"role": "user", "content": "?"}, _assistant("b")],
            },
            "chosen and rejected differ before their last message",
        ),
        (
            {"chosen": [_assistant("a")], "rejected": [_assistant("b")]},
            "chosen and rejected share no prompt",
        ),
        (
            {"chosen": [USER, _assistant("a")], "rejected": "text"},
            "chosen and rejected must both be text",
        ),
        (
            {"chosen": [USER, "oops"], "rejected": [USER, _assistant("b")]},
            "field 'chosen': message 1 is not a dict",
        ),
    ],
)
def test_implicit_bad_conversations(write_jsonl, row, expected):
    path = write_jsonl([{"chosen": "Q: x? A: yes", "rejected": "Q: x? A: no"}, row])
    with pytest.raises(BadRecordError, match=f"^{path}:2: {expected}"):
        read_pairs(path, format="implicit")


def test_implicit_text_splits_at_a_word_boundary(write_jsonl):
    rows = [
        {"chosen": "Q: how many? A: nine", "rejected": "Q: how many? A: ninety"},
        {"chosen": "Q: ok? A: yes", "rejected": "Q: ok? A: no"},
    ]
    pairs, report = read_pairs(write_jsonl(rows))
    assert report.format == "implicit"
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [
        ("Q: how many? A: ", "nine", "ninety"),
        ("Q: ok? A: ", "yes", "no"),
    ]


# --- hh-rlhf -------------------------------------------------------------------------------------

H, A = "\n\nHuman:", "\n\nAssistant:"


def test_hh_rlhf_prompt_is_the_shared_dialogue_up_to_the_last_shared_assistant_turn(write_jsonl):
    shared = f"{H} Hi{A} Hello!{H} Tell me a joke.{A}"
    rows = [
        {"chosen": shared + " Why did the chicken...  ", "rejected": shared + " No."},
        # the responses share a first word: the prompt still ends at the shared Assistant turn
        {"chosen": shared + " Sure, here", "rejected": shared + " Sure, there"},
        # a silent refusal: one empty response is valid
        {"chosen": shared, "rejected": shared + " Go away."},
    ]
    pairs, report = read_pairs(write_jsonl(rows))
    assert report.format == "hh-rlhf"
    assert all(p.prompt == shared for p in pairs)
    assert [(p.chosen, p.rejected) for p in pairs] == [
        ("Why did the chicken...", "No."),
        ("Sure, here", "Sure, there"),
        ("", "Go away."),
    ]


def test_hh_rlhf_without_a_shared_assistant_turn_is_bad(write_jsonl):
    path = write_jsonl([{"chosen": f"{H} a{A} b", "rejected": f"{H} c{A} d"}])
    with pytest.raises(
        BadRecordError, match=rf"^{path}:1: chosen and rejected share no '\\n\\nAssistant:' turn"
    ):
        read_pairs(path)


def test_forcing_implicit_on_a_transcript_changes_the_split(write_jsonl):
    path = write_jsonl([{"chosen": f"{H} Hi{A} Hello there", "rejected": f"{H} Hi{A} Hello you"}])
    (hh,), _ = read_pairs(path)
    (implicit,), report = read_pairs(path, format="implicit")
    assert hh.prompt == f"{H} Hi{A}" and (hh.chosen, hh.rejected) == ("Hello there", "Hello you")
    assert implicit.prompt == f"{H} Hi{A} Hello " and report.format == "implicit"


def test_real_hh_rlhf_file(shared_data):
    pairs, report = read_pairs(shared_data / "hh-rlhf-harmless-base" / "test.jsonl.gz")
    assert (report.format, report.n_records, len(pairs), report.skipped) == (
        "hh-rlhf",
        2312,
        2312,
        [],
    )
    assert all(isinstance(p.prompt, str) and p.prompt.endswith(A) for p in pairs)
    one_empty = [p for p in pairs if (p.chosen == "") != (p.rejected == "")]
    assert len(one_empty) == 4


# --- rankings ------------------------------------------------------------------------------------


def test_rankings_expand_to_all_pairs_best_first(write_jsonl):
    row = {
        "id": "g1",
        "prompt": [USER],
        "responses": ["r0", "r1", "r2", "r3"],
        "ranking": [2, 0, 3, 1],
    }
    pairs, report = read_pairs(write_jsonl([row]))
    assert report.format == "rankings" and report.n_records == 1 and report.n_pairs == 6
    assert [p.id for p in pairs] == ["g1:2-0", "g1:2-3", "g1:2-1", "g1:0-3", "g1:0-1", "g1:3-1"]
    assert [(p.chosen, p.rejected) for p in pairs][:2] == [("r2", "r0"), ("r2", "r3")]
    assert all(p.weight == pytest.approx(1 / 6) for p in pairs)  # 1 / C(4, 2)
    assert not any(p.tie for p in pairs)


def test_rankings_from_scores_keep_ties(write_jsonl):
    row = {"prompt": "p", "responses": ["a", "b", "c"], "scores": [1.0, 3, 1.0]}
    path = write_jsonl([row])
    pairs, _ = read_pairs(path)
    assert [(p.chosen, p.rejected, p.tie) for p in pairs] == [
        ("b", "a", False),
        ("a", "c", True),
        ("b", "c", False),
    ]
    assert [p.id for p in pairs] == [f"{path}:1:1-0", f"{path}:1:0-2", f"{path}:1:1-2"]
    assert math.fsum(p.weight for p in pairs) == pytest.approx(1.0)


def test_top_k_ranking_orders_ranked_over_unranked_only(write_jsonl):
    """K = 5, top-2 [3, 1]: 3 ≻ 1, then each of 3 and 1 ≻ each of the unranked {0, 2, 4}
    (2 × 3 = 6 pairs), and nothing among 0, 2, 4: 1 + 6 = 7 pairs, weight 1/7 each."""
    row = {"id": "g", "prompt": "p", "responses": ["r0", "r1", "r2", "r3", "r4"], "ranking": [3, 1]}
    pairs, report = read_pairs(write_jsonl([row]))
    assert report.n_pairs == 7
    assert [p.id for p in pairs] == ["g:3-1", "g:3-0", "g:3-2", "g:3-4", "g:1-0", "g:1-2", "g:1-4"]
    assert all(p.weight == pytest.approx(1 / 7) for p in pairs)
    unranked = {"r0", "r2", "r4"}
    assert not any(p.chosen in unranked for p in pairs)


NOT_A_RANKING = "field 'ranking': is not a full or top-k ranking"


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"responses": ["a", "b"], "ranking": [0, 0]}, f"{NOT_A_RANKING}"),
        ({"responses": ["a", "b"], "ranking": [0, 1, 2]}, f"{NOT_A_RANKING}"),
        ({"responses": ["a", "b"], "ranking": []}, f"{NOT_A_RANKING}"),
        ({"responses": ["a", "b"], "ranking": [2]}, f"{NOT_A_RANKING}"),
        ({"responses": ["a", "b"], "scores": [1]}, "field 'scores': is not a list of 2 numbers"),
        (
            {"responses": ["a", "b"], "scores": [1, float("nan")]},
            "field 'scores': item 1 is not a finite number",
        ),
        ({"responses": ["a"], "ranking": [0]}, "field 'responses': is not a list of at least 2"),
        ({"responses": ["a", 7], "ranking": [0, 1]}, "field 'responses': item 1 is not a string"),
        (
            {"responses": ["a", "b", "a"], "ranking": [0, 1, 2]},
            "'responses\\[0\\]' is identical to 'responses\\[2\\]'",
        ),
        ({"responses": ["a", "b"], "scores": None, "ranking": None}, "field 'ranking': is missing"),
    ],
)
def test_bad_rankings(write_jsonl, row, expected):
    path = write_jsonl([{"prompt": "p", **row}])
    with pytest.raises(BadRecordError, match=f"^{path}:1: {expected}"):
        read_pairs(path, format="rankings")


def test_real_oasst_rankings(shared_data):
    import json

    path = shared_data / "oasst-en100" / "rankings.jsonl"
    groups = [json.loads(line) for line in path.read_text().splitlines()]
    pairs, report = read_pairs(path)
    expected = sum(math.comb(len(g["responses"]), 2) for g in groups)
    assert (report.format, report.n_records, report.n_pairs) == ("rankings", 212, expected)
    weight_per_group = {}
    for p in pairs:
        group = p.id.rsplit(":", 1)[0]
        weight_per_group[group] = weight_per_group.get(group, 0.0) + p.weight
    assert len(weight_per_group) == 212
    assert all(w == pytest.approx(1.0) for w in weight_per_group.values())
    # the best reply of each group is chosen in all its K-1 pairs
    first = groups[0]
    best = first["responses"][first["ranking"][0]]
    assert (
        sum(p.chosen == best for p in pairs if p.id.startswith(first["id"] + ":"))
        == len(first["responses"]) - 1
    )


# --- single, sniffing, forcing -------------------------------------------------------------------


def test_single_records_are_items_for_scoring_not_pairs(write_jsonl):
    path = write_jsonl(
        [{"prompt": "p", "response": "r", "id": "x"}, {"prompt": [USER], "response": ""}]
    )
    items, report = read_items(path)
    assert items == [
        ScoredItem("p", "r", id="x", source=f"{path}:1"),
        ScoredItem([USER], "", id=f"{path}:2", source=f"{path}:2"),
    ]
    assert (report.format, report.n_items, report.n_pairs) == ("single", 2, 0)
    with pytest.raises(UserError, match="can be scored but not trained on"):
        read_pairs(path)
    with pytest.raises(UserError, match="--format single"):
        read_pairs(path, format="single")


def test_read_items_reads_pairs_too(write_jsonl):
    items, report = read_items(write_jsonl([{"prompt": "p", "chosen": "a", "rejected": "b"}]))
    assert isinstance(items[0], PreferencePair) and report.n_pairs == 1


def test_sniffing_uses_the_first_good_record_then_holds_the_format(write_jsonl):
    path = write_jsonl(
        [
            "{broken",
            {"prompt": "p", "chosen": "a", "rejected": "b"},
            {"prompt": "p", "responses": ["a", "b"], "ranking": [0, 1]},  # not explicit → bad
        ]
    )
    pairs, report = read_pairs(path, on_bad_record="skip")
    assert report.format == "explicit" and len(pairs) == 1
    assert [(s.where, s.reason) for s in report.skipped] == [
        (f"{path}:1", "broken JSON"),
        (f"{path}:3", "field 'chosen': is missing"),
    ]


def test_unknown_shape_and_unknown_flags(write_jsonl):
    path = write_jsonl([{"question": "q", "answer": "a"}])
    with pytest.raises(
        BadRecordError, match=f"^{path}:1: has an unknown record shape .*question.*--format"
    ):
        read_pairs(path)
    with pytest.raises(UserError, match="unknown --format 'dpo'"):
        read_pairs(path, format="dpo")
    with pytest.raises(UserError, match="unknown --on-bad-record 'ignore'"):
        read_pairs(path, on_bad_record="ignore")
    assert set(FORMATS) == {"explicit", "implicit", "hh-rlhf", "rankings", "votes", "single"}


def test_forced_format_reports_the_missing_field(write_jsonl):
    path = write_jsonl([{"chosen": "Q: a", "rejected": "Q: b"}])
    with pytest.raises(
        BadRecordError, match=f"^{path}:1: field 'prompt': is missing \\[format explicit\\]"
    ):
        read_pairs(path, format="explicit")
