"""Issue 18's reproducers, through the real command line: each gave a traceback (exit 1);
each must give exit 2 and exactly one line on stderr, ``error: file:line: …``.

``score`` on a tiny BERT reward model (the fixture), and ``train`` on the tiny BERT backbone for
the surrogate in a prompt (train hashed the prompt for the split and raised
UnicodeEncodeError): data reading stops the run before any training.
"""

import gzip
import re
import sys
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
import data_files as files  # noqa: E402

GOOD = {"prompt": "hello", "chosen": "good answer", "rejected": "bad answer"}
RANKED = {"prompt": "hello", "responses": ["one", "two", "three"], "scores": [3, 2, 1]}
TOO_BIG = "is not a finite number (got an integer too large for a float)"
LONE = "holds a lone surrogate, which is not valid Unicode"
WIZARD, NOBODY = [{"role": "wizard", "content": "hi"}], [{"role": "", "content": "hi"}]
# name: (what the bad record, line 2, changes in the good one; the start of its line after file:2:)
REPRODUCERS = {
    "401-digit margin": ({"margin": files.huge_integer(401)}, f"field 'margin': {TOO_BIG}"),
    "401-digit weight": ({"weight": files.huge_integer(401)}, f"field 'weight': {TOO_BIG}"),
    "401-digit ranking score": ({"scores": [files.huge_integer(401), 2, 1]}, "field 'scores'"),
    "5001-digit integer": ({"margin": files.huge_integer(5001)}, "field 'margin': holds an"),
    "200000-deep nesting": ({"prompt": files.deep_list(200_000)}, "nests lists or objects"),
    "lone surrogate in the prompt": ({"prompt": "hello \ud800"}, f"field 'prompt': {LONE}"),
    "lone surrogate in a response": ({"rejected": "bad \udfff"}, f"field 'rejected': {LONE}"),
    "role wizard": ({"prompt": WIZARD}, "field 'prompt': message 0 has an unknown role"),
    "empty role": ({"prompt": NOBODY}, "field 'prompt': message 0 has an empty role"),
}
MORE = {  # how those lines go on, where the table cuts them short
    "401-digit ranking score": f": item 0 {TOO_BIG}",
    "5001-digit integer": " integer of 5001 digits, more than the 4300 Python reads",
    "200000-deep nesting": " deeper than 100 levels",
    "role wizard": ' (got "wizard"; use system, user or assistant, in lowercase)',
}


def reproducer_file(name: str, folder: Path) -> str:
    good = RANKED if "ranking" in name else GOOD
    return files.write_records(folder / "data.jsonl", [good, {**good, **REPRODUCERS[name][0]}])


def rewardkit(*args: str):
    from rewardkit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def score(model, data, out, *more: str):
    return rewardkit("score", "--model", model, "--data", data, "--out", out, *more)


def assert_one_error_line(result, starts: str) -> None:
    """Exit code 2, no traceback, stderr one line ``error: <starts>…``."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert result.stderr.startswith(f"error: {starts}"), result.stderr


@pytest.mark.parametrize("name", REPRODUCERS)
def test_score_refuses_the_record_in_one_line(tiny_bert_rm_dir, tmp_path, name):
    """The bad record is line 2; the line names it and the field, and offers the skip."""
    data = reproducer_file(name, tmp_path)
    result = score(tiny_bert_rm_dir, data, tmp_path / "out.jsonl")
    assert_one_error_line(result, f"{data}:2: {REPRODUCERS[name][1]}{MORE.get(name, '')}")
    assert "--on-bad-record skip" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_score_skips_and_counts_the_same_records(tiny_bert_rm_dir, tmp_path):
    """``--on-bad-record skip``: the good record scored (a ranking of 3: 3 pairs), the bad one
    skipped (the reader counts it; ``score``'s printed summary does not show the count)."""
    for name in REPRODUCERS:
        data, out = reproducer_file(name, tmp_path), tmp_path / "out.jsonl"
        result = score(tiny_bert_rm_dir, data, out, "--on-bad-record", "skip")
        assert result.exit_code == 0, (name, result.output)
        scored = out.read_text().splitlines()
        assert len(scored) == (3 if "ranking" in name else 1), name


def test_flipped_gzip_bytes(tiny_bert_rm_dir, tmp_path):
    """The damaged stream (zlib.error before): one line naming the file — with skip, the line
    where reading stopped (the records before it may be garbage, skipped and counted)."""
    data = files.gzip_with_a_broken_stream(tmp_path / "data.jsonl.gz")
    with pytest.raises(zlib.error):
        with gzip.open(data) as stream:
            stream.read()  # what the reader met
    assert_one_error_line(score(tiny_bert_rm_dir, data, tmp_path / "o.jsonl"), f"{data}:")
    result = score(tiny_bert_rm_dir, data, tmp_path / "o.jsonl", "--on-bad-record", "skip")
    assert_one_error_line(result, f"{data}:")
    assert re.search(
        r":\d+: cannot read the file \(.+\); reading stopped after line", result.stderr
    )


def test_train_refuses_a_lone_surrogate_in_a_prompt(tiny_bert_dir, tmp_path):
    """train hashed the prompt for the split (UnicodeEncodeError); now the reader stops first."""
    data = files.write_records(tmp_path / "t.jsonl", [GOOD, {**GOOD, "prompt": "hi \ud800"}, GOOD])
    out = tmp_path / "run"
    result = rewardkit(
        "train", "--data", data, "--out", out, "--backbone", tiny_bert_dir, "--max-length", "64"
    )
    assert_one_error_line(result, f"{data}:2: field 'prompt': {LONE}")
    assert not (out / "model.safetensors").exists()


def test_eval_refuses_a_lone_surrogate_in_a_response(tiny_bert_rm_dir, tmp_path):
    """eval passed the text to the tokenizer (TypeError); now the reader stops first."""
    data = files.write_records(tmp_path / "e.jsonl", [GOOD, {**GOOD, "chosen": "good \udbff"}])
    result = rewardkit(
        "eval", "--model", tiny_bert_rm_dir, "--data", data, "--out", tmp_path / "eval"
    )
    assert_one_error_line(result, f"{data}:2: field 'chosen': {LONE}")
