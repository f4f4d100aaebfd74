"""Opening the annotation database: one engine per URL, the schema brought to the newest
Alembic revision, SQLite tuned for many writers.

=========================  ============================================================
URL                        what
=========================  ============================================================
``sqlite:///FILE``         default (``sqlite:///annotations.db``): WAL journal, foreign
                           keys on, and every transaction ``BEGIN IMMEDIATE`` so that
                           two writers queue instead of failing on a read → write lock
                           upgrade (SQLite's ``SQLITE_BUSY``)
``postgresql+psycopg://…`` PostgreSQL through psycopg 3; the item row is locked
                           (``SELECT … FOR UPDATE``) while a judgement is counted
=========================  ============================================================

An older database is upgraded in place (:func:`open_store`); an SQLite file is first copied
to ``FILE.bak-<revision>`` (after a WAL checkpoint, so the copy holds every row).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, inspect, select
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rewardkit.errors import UserError
from rewardkit.files import atomic_write

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Store:
    """An open annotation database: its engine, a session factory and what opening it did."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    upgraded_from: str | None = None
    backup: Path | None = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose transaction commits on a clean exit and rolls back on an error."""
        with self.sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: on SQLite a deferred transaction, which does not queue
        behind writers (WAL readers see the last commit)."""
        with self.read_sessions.begin() as session:
            yield session


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """An engine for ``url``; SQLite connections get WAL, foreign keys and (unless
    ``immediate`` is False: readers) immediate transactions (see the module's docstring)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(
            f"--db {url!r} is not a database URL; use sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST:PORT/NAME"
        ) from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_size=20, max_overflow=20, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def current_revision(engine: Engine) -> tuple[str | None, bool]:
    """The database's Alembic revision (None when unversioned) and whether it holds tables."""
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(inspect(connection).get_table_names())
    return revision, has_tables


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open ``url``, creating the schema in an empty database and upgrading an older one
    (SQLite: after a backup); ``upgrade=False`` refuses an older schema instead."""
    engine = make_engine(url)
    try:
        revision, has_tables = current_revision(engine)
    except OperationalError as err:
        raise UserError(
            f"cannot open the database {safe_url(url)}: {err.orig}; check --db"
        ) from None
    head = head_revision()
    reader = engine if engine.dialect.name != "sqlite" else make_engine(url, immediate=False)
    store = Store(
        url=url,
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(reader, expire_on_commit=False),
    )
    if revision == head:
        return store
    if revision is None and has_tables:
        raise UserError(
            f"{safe_url(url)} holds tables but no rewardkit annotation schema; pass another --db"
        )
    if revision is not None and not upgrade:
        raise UserError(
            f"{safe_url(url)} is at schema revision {revision}, this rewardkit needs {head}; "
            "run `rewardkit annotate serve` (it upgrades) first"
        )
    if revision is not None and engine.dialect.name == "sqlite":
        store.backup = backup_sqlite(engine, revision)
    migrate(engine, "head")
    store.upgraded_from = revision
    return store


def migrate(engine: Engine, target: str) -> None:
    """Run the Alembic revisions up to ``target`` on ``engine``'s database."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def backup_sqlite(engine: Engine, revision: str) -> Path:
    """Copy the SQLite file to ``FILE.bak-<revision>`` after checkpointing its WAL."""
    database = Path(engine.url.database)
    raw = engine.raw_connection()  # a checkpoint cannot run inside a transaction
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    target = database.with_name(f"{database.name}.bak-{revision}")
    with open(database, "rb") as source, atomic_write(target, "wb") as copy:
        shutil.copyfileobj(source, copy)
    return target


def safe_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


def count_rows(store: Store, table: str) -> int:
    """Rows in ``table`` (one of the schema's own table names)."""
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(sql_table(table))).scalar_one()
