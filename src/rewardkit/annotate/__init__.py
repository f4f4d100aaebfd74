"""Collecting human comparisons: an annotation server (FastAPI + Jinja pages + SQLAlchemy),
annotators and their logins, agreement statistics, export to ``rewardkit train``, and a
queue that asks first about the pairs the reward model is least sure of.

==================  ===============================================================
module              job
==================  ===============================================================
``schema``          the tables (SQLAlchemy 2 ORM); ``migrations/`` the Alembic
                    revisions that make them
``store``           opening a database URL, upgrading it (with an SQLite backup)
``accounts``        annotators, login tokens (argon2), sessions with CSRF tokens
``items``           ``import``: items and gold items from files
``assignment``      next item, overlap, recording / refusing / undoing answers
``queue``           the reward-model uncertainty order of ``--queue uncertainty``
``votes_io``        ``import-votes`` and the raw vote rows of an export
``collected``       every judgement read once, for statistics and export
``agreement``       κ, α, leave-one-out, gold accuracy, Dawid–Skene
``stats``           ``stats``: progress + agreement, printed
``export``          ``export``: pairs for training, raw votes, sidecar
``web/``            the FastAPI app, its pages and security
==================  ===============================================================
"""
