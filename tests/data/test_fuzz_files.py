"""Property-based fuzzing of the readers (hypothesis): malformed files never give a traceback.

Each example is a file of one format (explicit, implicit, hh-rlhf, rankings, votes, single) in
one file kind (.jsonl, .jsonl.gz, .json, .json.gz, .csv, .parquet): good records, some of them
mutated (a field set to a wrong type, a 401- or 5,001-digit integer, NaN, nesting up to 200,000
deep, a lone surrogate, an unknown or empty chat role, a field deleted), and the file's bytes
possibly damaged (truncated, bytes flipped or inserted, or replaced by random bytes). The
properties:

* ``read_pairs`` and ``read_items`` return records or raise :class:`UserError` whose message
  is one printable line starting with the file's name (a bad record: ``file:line``);
* every record they return is usable: text encodes as UTF-8, chat roles are system/user/
  assistant, margins and weights are finite, the prompt hashes (the split key);
* error and skip mode agree: when skip mode skipped records, error mode stops at the first of
  them; when it skipped none, error mode reads the same records.

A few examples also run the real ``rewardkit score`` and ``eval``: exit 2 and stderr exactly
``error: <the reader's line>``. Settings are derandomized with no example database, so CI runs
the same inputs every time (the counts are in docs/data-formats.md, "Malformed input").
"""

import itertools
import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rewardkit.data import PreferencePair, read_items, read_pairs
from rewardkit.data.records import CHAT_ROLES, prompt_hash, prompt_text
from rewardkit.errors import BadRecordError, UserError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_files import KINDS, RawJSON, deep_list, file_bytes, huge_integer  # noqa: E402

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # tmp_path: each example writes its own file
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
READER_EXAMPLES = 150  # per file kind: 6 kinds × 150 = 900 files, each read three ways
CLI_EXAMPLES = 4  # per command (score, eval): a model load each

# --- good records of every format ---------------------------------------------------------------

words = st.text(alphabet="ab c?\n\u00e9", max_size=6)
answers = st.text(alphabet="xyz", min_size=1, max_size=5)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(CHAT_ROLES), "content": words}),
    min_size=1,
    max_size=3,
)
prompts = st.one_of(words, messages)
optional_fields = st.fixed_dictionaries(
    {},
    optional={
        "margin": st.floats(-5, 5),
        "weight": st.floats(0, 3),
        "tie": st.booleans(),
        "subset": words,
        "annotator": words,
        "id": st.one_of(words, st.integers(0, 99)),
    },
)


@st.composite
def explicit(draw):
    chosen = draw(answers)
    return {
        "prompt": draw(prompts),
        "chosen": chosen,
        "rejected": chosen + "!",
        **draw(optional_fields),
    }


@st.composite
def implicit(draw):
    chosen, prompt = draw(answers), draw(prompts)
    if isinstance(prompt, str):
        return {"chosen": f"{prompt} {chosen}", "rejected": f"{prompt} {chosen}!"}
    reply = [{"role": "assistant", "content": chosen}]
    return {"chosen": prompt + reply, "rejected": prompt + [{**reply[0], "content": chosen + "!"}]}


@st.composite
def hh_rlhf(draw):
    turn = f"\n\nHuman: {draw(words)}\n\nAssistant:"
    chosen = draw(answers)
    return {"chosen": f"{turn} {chosen}", "rejected": f"{turn} {chosen}!", **draw(optional_fields)}


@st.composite
def rankings(draw):
    k = draw(st.integers(2, 4))
    record = {"prompt": draw(prompts), "responses": [f"r{i} {draw(answers)}" for i in range(k)]}
    if draw(st.booleans()):
        record["ranking"] = draw(st.permutations(range(k)))
    else:
        record["scores"] = draw(st.lists(st.integers(0, 5), min_size=k, max_size=k))
    return record


votes = st.fixed_dictionaries(
    {
        "item_id": st.sampled_from([1, 2, "x"]),
        "prompt": st.just("p"),
        "response_a": st.just("a"),
        "response_b": st.just("b"),
        "choice": st.sampled_from(["a", "b", "tie", "A"]),
    },
    optional={"annotator": words, "subset": words},
)
single = st.fixed_dictionaries({"prompt": prompts, "response": words}, optional={"id": words})
FORMATS = {
    "explicit": explicit(),
    "implicit": implicit(),
    "hh-rlhf": hh_rlhf(),
    "rankings": rankings(),
    "votes": votes,
    "single": single,
}
FIELDS = sorted(
    {
        "prompt",
        "chosen",
        "rejected",
        "responses",
        "ranking",
        "scores",
        "margin",
        "weight",
        "tie",
        "item_id",
        "choice",
        "response",
        "response_a",
        "id",
    }
)

# --- mutations ----------------------------------------------------------------------------------

BAD_ROLES = ["wizard", "", " user", "User", "tool", "\ud800"]
bad_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.sampled_from([RawJSON("NaN"), RawJSON("-Infinity"), RawJSON("1e999")]),
    st.sampled_from([huge_integer(401), huge_integer(401, "-"), huge_integer(5001)]),
    st.sampled_from([deep_list(101), deep_list(999), deep_list(5000), deep_list(200_000)]),
    st.sampled_from(["\ud800", "a\udfffb", "\udbff\ud800", "\ud83d\ude00", "\u2028"]),
    words,
    st.lists(words, max_size=3),
    st.dictionaries(words, words, max_size=2),
    st.lists(
        st.fixed_dictionaries({"role": st.sampled_from(BAD_ROLES), "content": words}),
        min_size=1,
        max_size=2,
    ),
)


@st.composite
def mutated(draw, record):
    record = dict(record)
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(set(record) | set(FIELDS))))
        action = draw(st.sampled_from(["set", "set", "delete", "inside", "role"]))
        if action == "set":
            record[key] = draw(bad_values)
        elif action == "delete":
            record.pop(key, None)
        elif action == "inside" and isinstance(record.get(key), list) and record[key]:
            record[key] = list(record[key])
            record[key][draw(st.integers(0, len(record[key]) - 1))] = draw(bad_values)
        elif action == "role" and isinstance(record.get(key), list) and record[key]:
            record[key] = [dict(m) if isinstance(m, dict) else m for m in record[key]]
            if isinstance(record[key][0], dict):
                record[key][0]["role"] = draw(st.sampled_from(BAD_ROLES))
    return record


@st.composite
def pair_files(draw, kind):
    """``(format, bytes)``: 1-4 good records and 0-2 mutated ones, maybe a non-object JSON
    value, maybe damaged bytes."""
    strategy = FORMATS[draw(st.sampled_from(sorted(FORMATS)))]
    records = draw(st.lists(strategy, min_size=1, max_size=4))
    for _ in range(draw(st.integers(0, 2))):
        bad = draw(mutated(draw(strategy)))
        records.insert(draw(st.integers(0, len(records))), bad)
    if kind.startswith(".json") and draw(st.integers(0, 9)) == 0:
        records.insert(0, draw(st.sampled_from([[1, 2], "text", huge_integer(5001), None])))
    return damaged(draw, file_bytes(records, kind))


def damaged(draw, data: bytes) -> bytes:
    how = draw(st.sampled_from(["none"] * 5 + ["truncate", "flip", "insert", "random"]))
    if how == "truncate":
        return data[: draw(st.integers(1, max(1, len(data) - 1)))]
    if how == "flip":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(data)
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if how == "random":
        return draw(st.binary(min_size=1, max_size=200))
    return data


# --- the properties -----------------------------------------------------------------------------

names = itertools.count()


def new_file(folder: Path, kind: str, data: bytes) -> str:
    path = folder / f"fuzz{next(names)}{kind}"
    path.write_bytes(data)
    return str(path)


def read_or_user_error(read, path: str, on_bad_record: str):
    """``(items, report)``, or the UserError after checking it is one line naming the file."""
    try:
        return read(path, on_bad_record=on_bad_record)
    except UserError as err:
        message = str(err)
        assert message.splitlines() == [message], message
        assert message.startswith(f"{path}:"), message
        message.encode("utf-8")  # printable: no lone surrogate from the record
        if isinstance(err, BadRecordError):
            assert message.startswith(tuple(f"{path}:{s}" for s in "0123456789r")), message
        return err


def assert_usable(items) -> None:
    """What training, scoring and the split do with a record cannot fail."""
    for item in items:
        texts = (
            [item.chosen, item.rejected] if isinstance(item, PreferencePair) else [item.response]
        )
        if isinstance(item.prompt, list):
            assert all(m["role"] in CHAT_ROLES for m in item.prompt)
            texts += [m["content"] for m in item.prompt]
        for text in texts + [prompt_text(item.prompt), item.id or ""]:
            text.encode("utf-8")
        prompt_hash(item.prompt)
        if isinstance(item, PreferencePair):
            assert math.isfinite(item.margin) and math.isfinite(item.weight) and item.weight >= 0
            json.dumps(item.to_json(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(data=st.data())
def test_readers_never_raise_anything_but_one_line(tmp_path, kind, data):
    path = new_file(tmp_path, kind, data.draw(pair_files(kind)))
    skipped = read_or_user_error(read_pairs, path, "skip")
    strict = read_or_user_error(read_pairs, path, "error")
    items = read_or_user_error(read_items, path, "skip")
    for result in (skipped, strict, items):
        if not isinstance(result, UserError):
            assert_usable(result[0])
            report = result[1]
            assert report.n_records >= len(report.skipped)
            assert all(s.where.startswith(f"{path}:") for s in report.skipped)
    event(f"skip mode: {outcome(skipped)}")  # the mix, in --hypothesis-show-statistics
    if not isinstance(skipped, UserError):
        if skipped[1].skipped:
            assert isinstance(strict, BadRecordError), strict
            assert str(strict).startswith(f"{skipped[1].skipped[0].where}: ")
        else:
            assert not isinstance(strict, UserError) and strict[0] == skipped[0]
    Path(path).unlink()


def outcome(result) -> str:
    if isinstance(result, UserError):
        return "refused (bad record)" if isinstance(result, BadRecordError) else "refused (file)"
    return "read, some records skipped" if result[1].skipped else "read, nothing skipped"


def rewardkit(*args):
    from rewardkit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", ["score", "eval"])
@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(data=st.data())
def test_cli_exit_2_and_the_readers_line(tiny_bert_rm_dir, tmp_path, command, data):
    """The real command: exit 2, and stderr is exactly ``error: `` + the reader's message."""
    kind = data.draw(st.sampled_from(KINDS))
    path = new_file(tmp_path, kind, data.draw(pair_files(kind)))
    read = read_items if command == "score" else read_pairs
    expected = read_or_user_error(read, path, "error")
    assume(isinstance(expected, UserError))
    out = tmp_path / f"{Path(path).name}.out"
    result = rewardkit(command, "--model", tiny_bert_rm_dir, "--data", path, "--out", out)
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr == f"error: {expected}\n"
