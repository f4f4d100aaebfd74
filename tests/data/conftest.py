"""Helpers for writing tiny data files in a test's tmp_path."""

import json
from pathlib import Path

import pytest


@pytest.fixture
def write_jsonl(tmp_path: Path):
    """``write_jsonl(rows, name="data.jsonl")`` → path (str). A row that is a ``str`` is
    written verbatim (for broken JSON and blank lines), anything else as JSON."""

    def write(rows, name: str = "data.jsonl") -> str:
        path = tmp_path / name
        lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)

    return write
