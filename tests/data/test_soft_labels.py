"""The optional soft label P(chosen ≻ rejected) in every reader that carries fields."""

import csv
import json

import pandas
import pytest

from rewardkit.data import data_fingerprint, read_pairs
from rewardkit.errors import BadRecordError

ROWS = [
    {"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon", "label": 0.8},
    {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
]


def _labels(pairs):
    return [(p.label, p.hard_or_soft_label) for p in pairs]


def test_jsonl_reads_soft_labels_and_writes_them_back(write_jsonl):
    pairs, _ = read_pairs(write_jsonl(ROWS))
    assert _labels(pairs) == [(0.8, 0.8), (None, 1.0)]
    assert pairs[0].to_json()["label"] == 0.8 and "label" not in pairs[1].to_json()
    again, _ = read_pairs(write_jsonl([p.to_json() for p in pairs], name="again.jsonl"))
    assert _labels(again) == _labels(pairs)


def test_csv_and_parquet_read_soft_labels(tmp_path):
    path = tmp_path / "data.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["prompt", "chosen", "rejected", "label"])
        writer.writerows([["a", "x", "y", "0.25"], ["b", "x", "y", ""]])
    assert _labels(read_pairs(str(path))[0]) == [(0.25, 0.25), (None, 1.0)]
    parquet = tmp_path / "data.parquet"
    pandas.DataFrame(ROWS).to_parquet(parquet)  # the missing label becomes a null
    assert _labels(read_pairs(str(parquet))[0]) == [(0.8, 0.8), (None, 1.0)]


@pytest.mark.parametrize("label, expected", [(1.5, "outside \\[0, 1\\]"), ("high", "finite")])
def test_a_label_outside_zero_one_is_one_file_line(write_jsonl, label, expected):
    path = write_jsonl([{"prompt": "p", "chosen": "a", "rejected": "b", "label": label}])
    with pytest.raises(BadRecordError, match=rf"^{path}:1: field 'label': .*{expected}"):
        read_pairs(path)


def test_fingerprint_changes_with_a_soft_label_only(write_jsonl):
    hard = [{k: v for k, v in row.items() if k != "label"} for row in ROWS]
    (plain, _), (soft, _) = read_pairs(write_jsonl(hard)), read_pairs(write_jsonl(ROWS, "s.jsonl"))
    labelled_one = [dict(ROWS[0], label=1.0), ROWS[1]]
    one, _ = read_pairs(write_jsonl(labelled_one, "one.jsonl"))
    assert data_fingerprint(plain) != data_fingerprint(soft)
    assert data_fingerprint(plain) != data_fingerprint(one)  # an explicit 1.0 is still stated
    assert json.dumps(plain[0].to_json()) == json.dumps(hard[0] | {"id": plain[0].id})
