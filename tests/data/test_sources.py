"""File kinds: every kind gives the same pairs, with ``where`` pointing at the right place."""

import csv
import gzip
import json
import time

import pandas
import pytest

from rewardkit.data import read_pairs
from rewardkit.errors import BadRecordError, UserError

ROWS = [
    {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
    {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon", "margin": 1.5},
]


def _triples(pairs):
    return [(p.prompt, p.chosen, p.rejected, p.margin) for p in pairs]


EXPECTED = [("2+2?", "4", "5", 0.0), ("Capital of France?", "Paris", "Lyon", 1.5)]


def test_jsonl_sources_and_blank_lines(write_jsonl):
    path = write_jsonl([ROWS[0], "", "   ", ROWS[1]])
    pairs, report = read_pairs(path)
    assert _triples(pairs) == EXPECTED
    assert [p.source for p in pairs] == [f"{path}:1", f"{path}:4"]
    assert [p.id for p in pairs] == [f"{path}:1", f"{path}:4"]  # no id in the data → file:line
    assert report.n_records == 2 and report.n_pairs == 2 and report.format == "explicit"


@pytest.mark.parametrize("name", ["data.jsonl.gz", "data.json.gz"])
def test_gzip_json_lines(tmp_path, name):
    path = tmp_path / name
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(r) for r in ROWS) + "\n")
    pairs, _ = read_pairs(str(path))
    assert _triples(pairs) == EXPECTED
    assert pairs[1].source == f"{path}:2"


@pytest.mark.parametrize("wrap", [False, True], ids=["list", "data-key"])
def test_json_array(tmp_path, wrap):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"data": ROWS} if wrap else ROWS, indent=2))
    pairs, report = read_pairs(str(path))
    assert _triples(pairs) == EXPECTED
    assert pairs[1].source == f"{path}:row 2"
    assert report.n_records == 2


def test_json_gz_array(tmp_path):
    path = tmp_path / "data.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(ROWS, f)
    assert _triples(read_pairs(str(path))[0]) == EXPECTED


def test_json_file_holding_json_lines(tmp_path):
    path = tmp_path / "data.json"  # Hugging Face writes JSON lines under .json
    path.write_text("\n".join(json.dumps(r) for r in ROWS))
    pairs, _ = read_pairs(str(path))
    assert _triples(pairs) == EXPECTED and pairs[1].source == f"{path}:2"


def test_broken_json_array_names_the_line(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[\n {"prompt": "a", "chosen": "b", "rejected": "c"},\n {"prompt": }\n]')
    with pytest.raises(UserError) as err:
        read_pairs(str(path), on_bad_record="skip")  # a broken file cannot be skipped around
    assert str(err.value).startswith(f"{path}:3: broken JSON")


def test_bad_element_in_json_array_names_the_row(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([ROWS[0], {"prompt": "x", "chosen": 3, "rejected": "y"}]))
    with pytest.raises(BadRecordError, match=rf"^{path}:row 2: field 'chosen': is not a string"):
        read_pairs(str(path))


def test_csv_with_multiline_cell_messages_and_types(tmp_path):
    path = tmp_path / "data.csv"
    messages = [{"role": "user", "content": "hi"}]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["prompt", "chosen", "rejected", "margin", "tie", "subset"])
        writer.writerow(["line one\nline two", "yes", "no", "", "", ""])  # spans lines 2-3
        writer.writerow([json.dumps(messages), "hello", "", "0.5", "true", "chat"])  # line 4
        writer.writerow(["[not json", "a", "b", "", "false", ""])  # line 5
    pairs, report = read_pairs(str(path))
    assert [p.source for p in pairs] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert pairs[0].prompt == "line one\nline two" and pairs[0].margin == 0.0 and not pairs[0].tie
    assert pairs[1].prompt == messages and pairs[1].rejected == "" and pairs[1].margin == 0.5
    assert pairs[1].tie is True and pairs[1].subset == "chat" and pairs[0].subset is None
    assert pairs[2].prompt == "[not json"
    assert report.n_records == 3


def test_csv_bad_record_names_the_file_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('prompt,chosen,rejected,margin\n"a\nb",x,y,\nq,x,y,lots\n')
    with pytest.raises(BadRecordError, match=rf"^{path}:4: field 'margin': is not a finite number"):
        read_pairs(str(path))
    path.write_text("prompt,chosen,rejected\nq,x\n")
    with pytest.raises(BadRecordError, match=rf"^{path}:2: has 2 cells but the header has 3"):
        read_pairs(str(path))


def test_parquet_rows(tmp_path):
    path = tmp_path / "data.parquet"
    rows = ROWS + [{"prompt": "p", "chosen": "same", "rejected": "same", "margin": None}]
    pandas.DataFrame(rows).to_parquet(path)  # the missing margins become nulls
    with pytest.raises(BadRecordError, match=rf"^{path}:row 3: '?chosen'? is identical"):
        read_pairs(str(path))
    pairs, report = read_pairs(str(path), on_bad_record="skip")
    assert _triples(pairs) == EXPECTED
    assert [s.where for s in report.skipped] == [f"{path}:row 3"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("missing.jsonl", None, "no such file"),
        ("empty.jsonl", "", "the file is empty"),
        ("data.txt", "hello", "unknown kind of data file"),
        ("blank.jsonl", "\n\n", "holds no records"),
        ("broken.jsonl.gz", "not gzip", "cannot read the file"),
    ],
)
def test_unreadable_files_are_one_line_user_errors(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError) as err:
        read_pairs(str(path))
    assert not isinstance(err.value, BadRecordError)
    assert expected in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_folder_is_not_a_file(tmp_path):
    folder = tmp_path / "pairs.jsonl"
    folder.mkdir()
    with pytest.raises(UserError, match="is not a file"):
        read_pairs(str(folder))


def test_hf_dataset_offline_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(UserError) as err:
        read_pairs("hf:rewardkit-tests/no-such-dataset:test")
    message = str(err.value)
    assert message.startswith(
        "hf:rewardkit-tests/no-such-dataset:test: cannot load the dataset: offline"
    )
    assert "local file" in message and "\n" not in message
    assert time.monotonic() - start < 15  # fails at once, without network retries
