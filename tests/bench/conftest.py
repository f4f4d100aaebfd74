"""Fixtures of the bench tests: bench/ scripts imported as modules."""

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_module():
    """``bench_module("name")`` imports bench/name.py (bench/ is on sys.path only while the
    test runs, as the scripts put it there themselves)."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(BENCH))
