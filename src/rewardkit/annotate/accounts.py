"""Annotators and their logins: a token shown once, only its argon2 hash stored; web sessions
that expire, each with its own CSRF token.

A login token is 32 random bytes (``secrets.token_urlsafe``); the database keeps its argon2id
hash (argon2-cffi's defaults, RFC 9106), so a copy of the database gives no one a login. A
session cookie is another random token; the database keeps its sha256 (the cookie is random,
so a fast hash is enough) with the session's CSRF token and expiry.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from rewardkit.annotate.schema import Annotator, WebSession
from rewardkit.annotate.store import Store
from rewardkit.errors import UserError

HASHER = PasswordHasher()
NAME_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


@dataclass(frozen=True)
class SessionUser:
    """Who a valid session cookie belongs to, and the CSRF token its forms must carry."""

    annotator_id: int
    name: str
    is_admin: bool
    csrf: str


def add_annotator(store: Store, name: str, *, admin: bool = False) -> str:
    """Create annotator ``name`` and return their login token (shown once, never stored)."""
    if not name or len(name) > 200 or not set(name) <= NAME_CHARACTERS:
        raise UserError(
            f"annotator name {name!r} is not 1-200 letters, digits or . _ - @; pick another"
        )
    token = secrets.token_urlsafe(32)
    try:
        with store.transaction() as session:
            session.add(Annotator(name=name, token_hash=HASHER.hash(token), is_admin=admin))
    except IntegrityError:
        raise UserError(f"an annotator named {name!r} already exists; pick another name") from None
    return token


def check_login(store: Store, name: str, token: str) -> Annotator | None:
    """The annotator whose name and token these are, or None."""
    with store.reading() as session:
        annotator = session.scalar(select(Annotator).where(Annotator.name == name))
    if annotator is None:
        HASHER.hash(token)  # same work either way: no timing hint that a name exists
        return None
    try:
        HASHER.verify(annotator.token_hash, token)
    except (VerificationError, InvalidHashError):
        return None
    return annotator


def cookie_digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def start_session(store: Store, annotator: Annotator, lifetime_s: float) -> str:
    """A new session for ``annotator``; returns the cookie value. Expired sessions go."""
    cookie, now = secrets.token_urlsafe(32), time.time()
    with store.transaction() as session:
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(
            WebSession(
                id=cookie_digest(cookie),
                annotator_id=annotator.id,
                csrf=secrets.token_urlsafe(32),
                expires_at=now + lifetime_s,
            )
        )
    return cookie


def session_user(store: Store, cookie: str | None) -> SessionUser | None:
    """The user of a live session cookie, or None (missing, unknown or expired)."""
    if not cookie or len(cookie) > 200:
        return None
    with store.reading() as session:
        row = session.execute(
            select(WebSession, Annotator)
            .join(Annotator, Annotator.id == WebSession.annotator_id)
            .where(WebSession.id == cookie_digest(cookie))
        ).first()
    if row is None or row[0].expires_at < time.time():
        return None
    web_session, annotator = row
    return SessionUser(annotator.id, annotator.name, annotator.is_admin, web_session.csrf)


def end_session(store: Store, cookie: str | None) -> None:
    if cookie:
        with store.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.id == cookie_digest(cookie)))


def csrf_matches(user: SessionUser, token: str | None) -> bool:
    return bool(token) and secrets.compare_digest(user.csrf, token)
