"""The annotation database's tables, as SQLAlchemy 2 ORM classes.

===============  ================================================================================
table            one row per
===============  ================================================================================
annotators       person: name, argon2 hash of their login token, admin flag
items            prompt (text or chat messages) and its 2..K responses; ``gold`` is the known
                 answer of an attention-check item (``{"choice": "a"}`` or ``{"ranking": [...]}``)
judgements       answer of one annotator to one item: ``choice`` a | b | tie | both_bad | skip
                 | ranking (a, b name ``responses[0]``/``[1]``, whatever side they were shown
                 on), ``ranking`` (indices, best first, top-k allowed), ``shown_order`` (the
                 response indices left to right as shown), ``strength``, ``comment``;
                 unique per (item, annotator)
web_sessions     login: the sha256 of its cookie, its CSRF token and when it expires
===============  ================================================================================

The tables are created and changed only by the Alembic revisions in ``migrations/versions``;
these classes describe the newest revision (``tests/annotate/test_migrations.py`` checks that
the two agree).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ANSWERS = ("a", "b", "tie", "both_bad", "skip")
RANKING = "ranking"
STRENGTHS = ("slight", "clear", "strong")


class Base(DeclarativeBase):
    pass


class Annotator(Base):
    __tablename__ = "annotators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    prompt: Mapped[Any] = mapped_column(JSON)
    responses: Mapped[list] = mapped_column(JSON)
    gold: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    source: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class Judgement(Base):
    __tablename__ = "judgements"
    __table_args__ = (
        UniqueConstraint("item_id", "annotator_id", name="uq_judgements_item_annotator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    choice: Mapped[str] = mapped_column(String(16))
    ranking: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    shown_order: Mapped[list] = mapped_column(JSON)
    strength: Mapped[str | None] = mapped_column(String(16), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float)
