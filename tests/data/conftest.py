"""Helpers for writing tiny data files in a test's tmp_path."""

import pytest


@pytest.fixture
def write_jsonl(write_preferences):
    """``write_jsonl(rows, name="data.jsonl")`` → path (str): the shared ``write_preferences``
    fixture with this folder's default file name."""

    def write(rows, name: str = "data.jsonl") -> str:
        return write_preferences(rows, name)

    return write
