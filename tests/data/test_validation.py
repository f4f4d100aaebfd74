"""The validation rules, each with its exact ``file:line`` in a one-line error, and skip mode.

The issue's words: a record is bad when a field is missing or not a string, when both
responses are empty, when chosen is identical to rejected, or when its JSON is broken. One
empty response is valid.
"""

import re

import pytest

from rewardkit.data import read_pairs
from rewardkit.errors import BadRecordError, UserError

GOOD = {"prompt": "p", "chosen": "yes", "rejected": "no"}
FIX = "pass --on-bad-record skip to skip such records"


@pytest.mark.parametrize(
    "bad, expected",
    [
        ('{"prompt": "p", "chosen": "a", "rejected": ', "broken JSON"),
        ('["p", "a", "b"]', "is not a JSON object \\(got list\\)"),
        ({"prompt": "p", "chosen": "a"}, "field 'rejected': is missing"),
        ({"prompt": "p", "chosen": "a", "rejected": None}, "field 'rejected': is missing"),
        (
            {"prompt": 3, "chosen": "a", "rejected": "b"},
            "field 'prompt': is not a string or a list of messages \\(got int\\)",
        ),
        (
            {"prompt": "p", "chosen": "a", "rejected": {"text": "b"}},
            "field 'rejected': is not a string",
        ),
        (
            {"prompt": "p", "chosen": "", "rejected": "  "},
            "both responses \\('chosen' and 'rejected'\\) are empty",
        ),
        (
            {"prompt": "p", "chosen": "same", "rejected": "same"},
            "'chosen' is identical to 'rejected'",
        ),
        (
            {"prompt": [{"role": "user"}], "chosen": "a", "rejected": "b"},
            "field 'prompt': message 0 has no string 'content'",
        ),
        (
            {"prompt": [{"role": 1, "content": "x"}], "chosen": "a", "rejected": "b"},
            "field 'prompt': message 0 has no string 'role'",
        ),
        (
            {"prompt": ["hi"], "chosen": "a", "rejected": "b"},
            "field 'prompt': message 0 is not a dict",
        ),
        ({"prompt": [], "chosen": "a", "rejected": "b"}, "field 'prompt': is not a non-empty list"),
        ({**GOOD, "margin": "big"}, "field 'margin': is not a finite number \\(got str\\)"),
        ({**GOOD, "margin": True}, "field 'margin': is not a finite number \\(got bool\\)"),
        (
            '{"prompt": "p", "chosen": "a", "rejected": "b", "margin": NaN}',
            "field 'margin': is not a finite number",
        ),
        ({**GOOD, "tie": "yes"}, "field 'tie': is not true/false"),
        ({**GOOD, "weight": -1}, "field 'weight': is negative"),
        ({**GOOD, "subset": 3}, "field 'subset': is not a string"),
    ],
)
def test_bad_record_error_names_file_line_field_and_fix(write_jsonl, bad, expected):
    path = write_jsonl([GOOD, GOOD, bad, GOOD])
    with pytest.raises(BadRecordError) as err:
        read_pairs(path, format="explicit")
    message = str(err.value)
    assert message.startswith(f"{path}:3: ")
    assert re.search(expected, message), message
    assert message.endswith(FIX) and "\n" not in message


def test_line_numbers_count_blank_lines_and_are_1_based(write_jsonl):
    path = write_jsonl(["", GOOD, "", {"prompt": "p", "chosen": "x", "rejected": "x"}])
    with pytest.raises(BadRecordError, match=f"^{path}:4: "):
        read_pairs(path)


def test_one_empty_response_is_valid(write_jsonl):
    pairs, report = read_pairs(
        write_jsonl(
            [
                {"prompt": "p", "chosen": "", "rejected": "I won't."},
                {"prompt": "p", "chosen": "Sure.", "rejected": ""},
            ]
        )
    )
    assert [(p.chosen, p.rejected) for p in pairs] == [("", "I won't."), ("Sure.", "")]
    assert report.skipped == []


def test_skip_mode_counts_every_skipped_record_with_its_reason(write_jsonl):
    rows = [
        GOOD,
        "{oops",
        {"prompt": "p", "chosen": "a"},
        GOOD,
        {"prompt": "p", "chosen": "a"},
        {"prompt": "p", "chosen": "s", "rejected": "s"},
        '{"also": broken}',
        GOOD,
    ]
    path = write_jsonl(rows)
    pairs, report = read_pairs(path, on_bad_record="skip")
    assert [p.source for p in pairs] == [f"{path}:1", f"{path}:4", f"{path}:8"]
    assert (report.n_records, report.n_pairs) == (8, 3)
    assert [s.where for s in report.skipped] == [f"{path}:{n}" for n in (2, 3, 5, 6, 7)]
    assert report.skipped_by_reason() == {
        "broken JSON": 2,
        "field 'rejected': is missing": 2,
        "'chosen' is identical to 'rejected'": 1,
    }
    assert report.n_records == report.n_pairs + len(report.skipped)  # nothing silently dropped
    summary = report.summary()
    assert summary.startswith(
        f"{path}: 3 pairs from 8 records (explicit), 5 skipped (2× broken JSON"
    )
    assert "\n" not in summary


def test_not_utf8_line_is_a_bad_record(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"prompt": "p", "chosen": "a", "rejected": "b"}\n{"prompt": "\xff"}\n')
    with pytest.raises(BadRecordError, match=f"^{path}:2: is not UTF-8 text"):
        read_pairs(str(path))


def test_all_bad_is_an_error_even_in_skip_mode(write_jsonl):
    path = write_jsonl(["{", "{"])
    with pytest.raises(UserError, match="no usable records: all 2 were bad"):
        read_pairs(path, on_bad_record="skip")
