"""Alembic's environment for the annotation database: run on the connection that
:func:`rewardkit.annotate.store.upgrade` hands over (never a URL from an ini file)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
)
with context.begin_transaction():
    context.run_migrations()
