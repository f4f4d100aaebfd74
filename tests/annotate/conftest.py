"""Fixtures of the annotation tests: fresh databases (SQLite files; a real PostgreSQL server
started for the session)."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pytest

from rewardkit.annotate.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from postgres_server import NoServer, PostgresServer  # noqa: E402

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (skipped, with the reason, when none can start)."""
    try:
        server = PostgresServer()
    except NoServer as reason:
        pytest.skip(f"no PostgreSQL server: {reason}")
    try:
        server.start()
    except NoServer as reason:
        server.stop()
        pytest.skip(f"no PostgreSQL server: {reason}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'annotations.db'}"
    server = request.getfixturevalue("postgres")
    return server.new_database(f"rk_{next(_names)}_{int(time.time() * 1000) % 10**8}")


@pytest.fixture
def sqlite_store(tmp_path):
    return open_store(f"sqlite:///{tmp_path / 'annotations.db'}")
