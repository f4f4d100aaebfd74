"""The schema is Alembic's: the newest revision equals the ORM tables, and a database made at
the first revision upgrades with every row kept (an SQLite file backed up first)."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from rewardkit.annotate.schema import Base, Judgement
from rewardkit.annotate.store import (
    current_revision,
    head_revision,
    make_engine,
    migrate,
    open_store,
)
from rewardkit.errors import UserError


def test_newest_revision_matches_the_orm_tables(db_url):
    store = open_store(db_url)
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert current_revision(store.engine) == (head_revision(), True)
    store.engine.dispose()


def fill_first_revision(path) -> None:
    """Rows written with plain SQL into a database at revision 0001."""
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO annotators (id, name, token_hash, is_admin, created_at) "
            "VALUES (1, 'ann', 'x', 0, 1.0), (2, 'bob', 'y', 1, 2.0)"
        )
        for n in range(1, 6):
            db.execute(
                "INSERT INTO items (id, key, prompt, responses, gold, source, created_at) "
                "VALUES (?, ?, ?, ?, NULL, 'f:1', 1.0)",
                (n, f"k{n}", '"p"', f'["a{n}", "b{n}"]'),
            )
            db.execute(
                "INSERT INTO judgements (item_id, annotator_id, choice, ranking, shown_order, "
                "created_at) VALUES (?, 1, 'a', NULL, '[1, 0]', 3.0)",
                (n,),
            )


def test_first_revision_upgrades_in_place_with_a_backup(tmp_path):
    path = tmp_path / "annotations.db"
    migrate(make_engine(f"sqlite:///{path}"), "0001")
    fill_first_revision(path)
    store = open_store(f"sqlite:///{path}")
    assert (store.upgraded_from, store.backup) == ("0001", tmp_path / "annotations.db.bak-0001")
    with sqlite3.connect(store.backup) as old:
        assert old.execute("SELECT COUNT(*) FROM judgements").fetchone() == (5,)
        assert old.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    with store.transaction() as session:
        rows = session.scalars(select(Judgement).order_by(Judgement.id)).all()
    assert [(j.item_id, j.choice, j.shown_order, j.strength) for j in rows] == [
        (n, "a", [1, 0], None) for n in range(1, 6)
    ]
    with sqlite3.connect(path) as new:
        assert new.execute("SELECT COUNT(*) FROM annotators").fetchone() == (2,)
        assert new.execute("SELECT COUNT(*) FROM items").fetchone() == (5,)
    assert current_revision(store.engine) == (head_revision(), True)


def test_refusals_are_one_line(tmp_path):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(UserError, match="holds tables but no rewardkit annotation schema"):
        open_store(f"sqlite:///{foreign}")
    with pytest.raises(UserError, match="is not a database URL"):
        open_store("not a url")
    old = tmp_path / "old.db"
    migrate(make_engine(f"sqlite:///{old}"), "0001")
    with pytest.raises(UserError, match="is at schema revision 0001"):
        open_store(f"sqlite:///{old}", upgrade=False)
