"""Malformed values in every file kind: one ``file:line`` line naming the field, or a counted
skip; a damaged file names the file and the line where reading stopped.

The values are an adversarial user's (issue 18): integers of 401 digits (no float holds them)
and of 5,001 digits (more than Python's 4,300-digit ``int`` limit), nesting 150 and 200,000
levels deep (``MAX_NESTING`` is 100), lone surrogates (JSON ``\\ud800`` escapes: not valid
Unicode, cannot be tokenized or hashed), and chat roles outside system/user/assistant.
Each file holds a good record, the bad one, and another good one, so the bad record is on line
2 (``.jsonl``), row 2 (``.json``, ``.parquet``) or line 3 (``.csv``, after its header).
"""

import gzip
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest

from rewardkit.candidates.format import read_candidates
from rewardkit.data import read_items, read_pairs
from rewardkit.data.validation import MAX_NESTING
from rewardkit.errors import BadRecordError, UserError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_files import (  # noqa: E402
    KINDS,
    RawJSON,
    deep_list,
    gzip_with_a_broken_stream,
    huge_integer,
    write_records,
)

EXPLICIT = {"prompt": "p", "chosen": "a", "rejected": "b"}
RANKED = {"prompt": "p", "responses": ["a", "b", "c"], "scores": [3, 2, 1]}
CHAT = {**EXPLICIT, "prompt": [{"role": "user", "content": "hi"}]}  # one column type in parquet
SURROGATE = "\ud800"
BAD_LINE = {".jsonl": "2", ".jsonl.gz": "2", ".json": "row 2", ".json.gz": "row 2"}
BAD_LINE |= {".csv": "3", ".parquet": "row 2"}


def assert_one_line(message: str, path: str) -> None:
    """One printable line that starts with the file's name."""
    assert message.splitlines() == [message], message
    assert message.startswith(f"{path}:"), message
    message.encode("utf-8")  # no lone surrogate of the record leaks into the message


# (name, good record, bad record, the message after "file:line: ", kinds it cannot be written in)
CASES = [
    (
        "401-digit margin",
        EXPLICIT,
        {**EXPLICIT, "margin": huge_integer(401)},
        "field 'margin': is not a finite number",
        (),
    ),
    (
        "401-digit weight",
        EXPLICIT,
        {**EXPLICIT, "weight": huge_integer(401, "-")},
        "field 'weight': is not a finite number",
        (),
    ),
    (
        "401-digit ranking score",
        RANKED,
        {**RANKED, "scores": [1, huge_integer(401), 2]},
        "field 'scores': item 1 is not a finite number",
        (".parquet",),
    ),
    (
        "5001-digit integer",
        RANKED,
        {**RANKED, "scores": [1, huge_integer(5001), 2]},
        "field 'scores': holds an integer of 5001 digits, more than the 4300 Python reads",
        (".parquet",),
    ),
    (
        "150-deep nesting",
        CHAT,
        {**EXPLICIT, "prompt": [{"role": "user", "content": "hi", "extra": deep_list(148)}]},
        f"field 'prompt': nests lists or objects deeper than {MAX_NESTING} levels",
        (".parquet",),
    ),
    (
        "lone surrogate in a chat prompt",
        EXPLICIT,
        {**EXPLICIT, "prompt": [{"role": "user", "content": f"hi {SURROGATE}"}]},
        "field 'prompt': holds a lone surrogate, which is not valid Unicode",
        (".parquet",),
    ),
    (
        "lone surrogate in a response",
        EXPLICIT,
        {**EXPLICIT, "chosen": [{"role": "assistant", "content": "a\udfff"}]},
        "field 'chosen': holds a lone surrogate, which is not valid Unicode",
        (".parquet",),
    ),
    (
        "role wizard",
        CHAT,
        {**EXPLICIT, "prompt": [{"role": "wizard", "content": "hi"}]},
        "field 'prompt': message 0 has an unknown role",
        (),
    ),
    (
        "empty role",
        CHAT,
        {**EXPLICIT, "prompt": [{"role": "", "content": "hi"}]},
        "field 'prompt': message 0 has an empty role",
        (),
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name, good, bad, says, impossible", CASES, ids=[c[0] for c in CASES])
def test_bad_value_is_one_line_or_a_counted_skip(tmp_path, kind, name, good, bad, says, impossible):
    """Error mode: one line, ``file:line: <field and problem>``. Skip mode: the 2 good
    records read, the bad one counted once with the same reason, at the same place."""
    if kind in impossible:
        pytest.skip(f"{kind} cannot hold this value")
    path = write_records(tmp_path / f"data{kind}", [good, bad, good])
    with pytest.raises(BadRecordError) as err:
        read_items(path)
    assert_one_line(str(err.value), path)
    assert str(err.value).startswith(f"{path}:{BAD_LINE[kind]}: {says}")
    items, report = read_items(path, on_bad_record="skip")
    assert report.n_records == 3 and len(report.skipped) == 1
    assert report.skipped[0].where == f"{path}:{BAD_LINE[kind]}"
    assert report.skipped[0].reason.startswith(says)
    assert len({item.source for item in items}) == 2  # the two good records, all their pairs


@pytest.mark.parametrize("kind", [".jsonl", ".jsonl.gz", ".csv"])
def test_200000_deep_nesting_is_a_bad_record(tmp_path, kind):
    """Nesting past Python's recursion limit stops ``json`` itself: still one bad record of a
    ``.jsonl`` file (with no field: ``json`` gave up before the record was whole) and of a CSV
    file (its JSON column named)."""
    bad = {**RANKED, "responses": deep_list(200_000)}
    path = write_records(tmp_path / f"data{kind}", [RANKED, bad])
    with pytest.raises(BadRecordError) as err:
        read_pairs(path)
    assert_one_line(str(err.value), path)
    field = "field 'responses': " if kind == ".csv" else ""
    assert str(err.value).startswith(f"{path}:{BAD_LINE[kind]}: {field}nests lists or objects")
    pairs, report = read_pairs(path, on_bad_record="skip")
    assert len(pairs) == 3 and [s.where for s in report.skipped] == [f"{path}:{BAD_LINE[kind]}"]


def test_csv_cell_that_is_no_json_messages_stays_text(tmp_path):
    """A prompt cell starting with "[" is chat messages only when it decodes to a list of
    dicts; otherwise (even nested past the recursion limit) it is the prompt's text."""
    for depth in (3, 150, 200_000):
        path = write_records(tmp_path / "data.csv", [{**EXPLICIT, "prompt": deep_list(depth)}])
        (pair,), _ = read_pairs(path)
        assert pair.prompt == deep_list(depth).text


@pytest.mark.parametrize("kind", [".json", ".json.gz"])
def test_200000_deep_nesting_in_a_json_array_is_a_bad_file(tmp_path, kind):
    """A ``.json`` file is one JSON value: past the recursion limit no record can be read, so
    the file is refused (one line, both modes) with a pointer to ``.jsonl``."""
    path = write_records(
        tmp_path / f"data{kind}", [EXPLICIT, {**EXPLICIT, "prompt": deep_list(200_000)}]
    )
    for mode in ("error", "skip"):
        with pytest.raises(UserError) as err:
            read_pairs(path, on_bad_record=mode)
        assert_one_line(str(err.value), path)
        assert str(err.value).startswith(f"{path}: nests lists or objects deeper than")
        assert "use .jsonl" in str(err.value)


def test_nesting_at_the_limit_is_read(tmp_path):
    """A message content may hold extra keys: a record nested exactly MAX_NESTING levels is
    fine, one level more is not (record 1 + prompt list 2 + message 3 + 97 lists = 100)."""

    def record(depth):
        message = {"role": "user", "content": "hi", "extra": RawJSON("[" * depth + "]" * depth)}
        return {**EXPLICIT, "prompt": [message]}

    path = write_records(
        tmp_path / "data.jsonl", [record(MAX_NESTING - 3), record(MAX_NESTING - 2)]
    )
    pairs, report = read_pairs(path, on_bad_record="skip")
    assert [p.source for p in pairs] == [f"{path}:1"]
    assert (
        report.skipped[0].reason
        == f"field 'prompt': nests lists or objects deeper than {MAX_NESTING} levels"
    )


def test_401_digit_integers_that_need_no_float_are_kept(write_jsonl):
    """An id is text: a 401-digit integer id is fine (kept as its digits); the valid surrogate
    pair ``\\ud83d\\ude00`` is the emoji U+1F600, not a lone surrogate."""
    row = '{"prompt": "p \\ud83d\\ude00", "chosen": "a", "rejected": "b", "id": %s}' % ("7" * 401)
    (pair,), _ = read_pairs(write_jsonl([row]))
    assert pair.id == "7" * 401 and pair.prompt == "p \U0001f600"


# --- every format -----------------------------------------------------------------------------

USER_HI = {"role": "user", "content": "hi"}
FORMAT_CASES = [
    (
        "implicit",
        {
            "chosen": [{"role": "wizard", "content": "hi"}, {"role": "assistant", "content": "a"}],
            "rejected": [
                {"role": "wizard", "content": "hi"},
                {"role": "assistant", "content": "b"},
            ],
        },
        "field 'chosen': message 0 has an unknown role",
    ),
    (
        "hh-rlhf",
        {
            "chosen": f"\n\nHuman: hi\n\nAssistant: a{SURROGATE}",
            "rejected": "\n\nHuman: hi\n\nAssistant: b",
        },
        "field 'chosen': holds a lone surrogate",
    ),
    (
        "rankings",
        {"prompt": [{"role": "", "content": "hi"}], "responses": ["a", "b"], "ranking": [0, 1]},
        "field 'prompt': message 0 has an empty role",
    ),
    (
        "rankings",
        {"prompt": "p", "responses": ["a", "b"], "ranking": [0, 1], "weight": huge_integer(401)},
        "field 'weight': is not a finite number (got an integer too large for a float)",
    ),
    (
        "votes",
        {
            "item_id": 1,
            "prompt": "p",
            "response_a": f"a{SURROGATE}",
            "response_b": "b",
            "choice": "a",
        },
        "field 'response_a': holds a lone surrogate",
    ),
    (
        "votes",
        {
            "item_id": huge_integer(5001),
            "prompt": "p",
            "response_a": "a",
            "response_b": "b",
            "choice": "a",
        },
        "field 'item_id': holds an integer of 5001 digits",
    ),
    (
        "single",
        {"prompt": [USER_HI, {"role": "wizard", "content": "x"}], "response": "r"},
        "field 'prompt': message 1 has an unknown role",
    ),
    (
        "single",
        {"prompt": "p", "response": f"r{SURROGATE}"},
        "field 'response': holds a lone surrogate",
    ),
]


@pytest.mark.parametrize(
    "format, bad, says", FORMAT_CASES, ids=[f"{c[0]}-{c[2][:24]}" for c in FORMAT_CASES]
)
def test_every_format_refuses_the_bad_value(tmp_path, format, bad, says):
    """The checks sit below the formats: forced or sniffed, each format gives the same line."""
    path = write_records(tmp_path / "data.jsonl", [bad])
    for forced in ("auto", format):
        with pytest.raises(BadRecordError) as err:
            read_items(path, format=forced)
        assert_one_line(str(err.value), path)
        assert str(err.value).startswith(f"{path}:1: {says}"), str(err.value)


def test_unknown_role_hint_names_the_role_escaped(tmp_path):
    """The role is shown in the hint (not in the skip reason), escaped to stay on one line."""
    path = write_records(
        tmp_path / "data.jsonl", [{**EXPLICIT, "prompt": [{"role": "Wiz\nard", "content": "x"}]}]
    )
    with pytest.raises(BadRecordError) as err:
        read_pairs(path)
    assert 'got "Wiz\\nard"; use system, user or assistant, in lowercase' in str(err.value)
    assert_one_line(str(err.value), path)


def test_unknown_shape_hint_escapes_the_keys(tmp_path):
    """Keys are the one piece of a record a message quotes: shown escaped, surrogates too."""
    path = write_records(tmp_path / "data.jsonl", [{"a\u2028b": "x", "c\r": "y"}])
    with pytest.raises(BadRecordError) as err:
        read_pairs(path)
    assert "its keys are a\\u2028b, c\\r;" in str(err.value)
    assert_one_line(str(err.value), path)
    path = write_records(tmp_path / "keys.jsonl", [{**EXPLICIT, f"k{SURROGATE}": 1}])
    with pytest.raises(BadRecordError, match=r"field 'k\\ud800': holds a lone surrogate"):
        read_pairs(path)


# --- damaged files ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [".jsonl.gz", ".json.gz"])
def test_corrupt_gzip_stream_names_the_line_where_reading_stopped(tmp_path, kind):
    """3,000 records, one compressed byte flipped midway: in skip mode too the file is refused
    (what follows cannot be read), naming ``file:N`` with N the line after the last one read."""
    path = gzip_with_a_broken_stream(tmp_path / f"data{kind}")
    with pytest.raises(UserError) as err:
        read_pairs(str(path), on_bad_record="skip")
    message = str(err.value)
    assert_one_line(message, str(path))
    found = re.match(
        rf"{re.escape(str(path))}:(\d+): cannot read the file \(.*\); "
        r"reading stopped after line (\d+)",
        message,
    )
    assert found, message
    assert int(found[1]) == int(found[2]) + 1 > 1  # lines of the damaged stream


def test_truncated_gzip_names_the_line(tmp_path):
    path = tmp_path / "data.jsonl.gz"
    data = gzip.compress(
        b"".join(b'{"prompt": "p", "chosen": "a%d", "rejected": "b"}\n' % i for i in range(2000))
    )
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r":\d+: cannot read the file \(Compressed file ended"):
        read_pairs(str(path), on_bad_record="skip")


@pytest.mark.parametrize("kind", [".json", ".csv"])
def test_not_utf8_file_names_the_line(tmp_path, kind):
    """A ``.json`` or ``.csv`` file is decoded whole: the line of its first bad byte is named."""
    path = tmp_path / f"data{kind}"
    head = (
        b"prompt,chosen,rejected\np,a,b\n"
        if kind == ".csv"
        else b'[{"prompt": "p", "chosen": "a",\n"rejected": "b"},\n'
    )
    path.write_bytes(head + b"q,\xff,c\n" if kind == ".csv" else head + b'{"prompt": "\xff"}]')
    with pytest.raises(UserError) as err:
        read_pairs(str(path))
    assert str(err.value) == f"{path}:3: is not UTF-8 text; save the file as UTF-8"


def test_damaged_parquet_is_one_line(tmp_path):
    path = write_records(tmp_path / "data.parquet", [EXPLICIT, {**EXPLICIT, "chosen": "c"}])
    data = Path(path).read_bytes()
    for damaged in (
        data[: len(data) // 2],
        data[:8] + bytes(len(data) - 16) + data[-8:],
        b"PAR1" * 4,
    ):
        Path(path).write_bytes(damaged)
        with pytest.raises(UserError) as err:
            read_pairs(path)
        assert_one_line(str(err.value), path)
        assert "cannot read as parquet" in str(err.value)


# --- candidates files share the readers' checks -----------------------------------------------


@pytest.mark.parametrize(
    "bad, says",
    [
        (
            {"prompt": [{"role": "wizard", "content": "x"}], "responses": ["a"]},
            "field 'prompt': message 0 has an unknown role",
        ),
        (
            {"prompt": "p", "responses": [f"a{SURROGATE}"]},
            "field 'responses': holds a lone surrogate",
        ),
        (
            {"prompt": "p", "responses": ["a"], "seed": huge_integer(5001)},
            "field 'seed': holds an integer of 5001 digits",
        ),
        (
            {"prompt": "p", "responses": ["a"], "extra": deep_list(200_000)},
            "nests lists or objects deeper than",
        ),
    ],
)
def test_candidates_files_get_the_same_checks(tmp_path, bad, says):
    """``read_candidates`` reads through ``open_records``: the same refusals, one line each."""
    path = write_records(tmp_path / "candidates.jsonl", [{"prompt": "p", "responses": ["a"]}, bad])
    with pytest.raises(BadRecordError) as err:
        read_candidates(path)
    assert_one_line(str(err.value), path)
    assert says in str(err.value) and str(err.value).startswith(f"{path}:2: ")
    sets, skipped = read_candidates(path, on_bad_record="skip")
    assert len(sets) == 1 and [where for where, _ in skipped] == [f"{path}:2"]


@pytest.mark.parametrize("kind", [".jsonl", ".json"])
def test_a_file_holding_one_huge_integer(tmp_path, kind):
    """Not a record at all: a .jsonl line is a bad record, a .json file a bad file; both say
    it holds an int (the digits cannot be printed: Python will not convert them)."""
    path = write_records(tmp_path / f"data{kind}", [EXPLICIT])
    Path(path).write_text("9" * 5001 + "\n")
    with pytest.raises(UserError) as err:
        read_pairs(path, on_bad_record="skip" if kind == ".json" else "error")
    assert_one_line(str(err.value), path)
    expected = "is not a JSON object (got int)" if kind == ".jsonl" else "holds a JSON int;"
    assert expected in str(err.value)


@pytest.mark.parametrize(
    "value, kind",
    [(datetime(2026, 11, 30, 12, 0), "datetime"), (b"\x00\xff", "bytes")],
)
def test_a_parquet_message_holding_no_json_value_is_one_line(tmp_path, value, kind):
    """Parquet columns may hold timestamps or bytes, which JSON (and the prompt's hash) has no
    form for: the message is one line naming the key, not a TypeError later."""
    good = {**EXPLICIT, "prompt": [{"role": "user", "content": "hi", "at": None}]}
    bad = {**EXPLICIT, "prompt": [{"role": "user", "content": "hi", "at": value}]}
    path = write_records(tmp_path / "data.parquet", [good, bad, good])
    with pytest.raises(BadRecordError) as err:
        read_items(path)
    assert_one_line(str(err.value), path)
    assert str(err.value).startswith(f"{path}:row 2: field 'prompt': message 0 holds a {kind}")
