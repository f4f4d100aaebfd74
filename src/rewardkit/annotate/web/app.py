"""``create_app(store, settings)``: the annotation server.

==========================  =================================================================
route                       what
==========================  =================================================================
``GET  /login``             login form (name + token); a login-CSRF cookie is set here
``POST /login``             checks the token (argon2), starts a session (cookie, HttpOnly,
                            SameSite=Strict), → ``/``
``POST /logout``            ends the session
``GET  /``                  the next item: a pair (A, B, tie, both bad, skip, strength,
                            comment) or a ranking of K > 2 responses; ``?item=ID`` shows one
                            the annotator may still judge (after an undo)
``POST /judge``             records an answer → ``/``
``POST /undo``              deletes the annotator's last judgement → that item again
``GET  /admin``             admins: progress and agreement
``GET  /admin/votes.jsonl`` admins: the raw votes
``GET  /health``            ``{"status": "ok"}``
==========================  =================================================================

Every POST carries the session's CSRF token (403 without it); pages need a live session
(→ ``/login``); admin pages need the admin role (403). Every text from the database is
escaped by Jinja2's autoescape; the page's script is a static file (see :mod:`.limits`).
"""

from __future__ import annotations

import random
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from rewardkit.annotate.config import AnnotateServeConfig
from rewardkit.annotate.store import Store
from rewardkit.annotate.web.limits import LimitsMiddleware
from rewardkit.annotate.web.pages import router

HERE = Path(__file__).resolve().parent


def create_app(store: Store, settings: AnnotateServeConfig, *, queue=None) -> FastAPI:
    """The app over an open ``store``; ``queue`` is an :class:`UncertaintyQueue` or None."""
    app = FastAPI(title="rewardkit annotate", docs_url=None, redoc_url=None, openapi_url=None)
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    app.state.templates = Jinja2Templates(env=environment)
    app.state.store = store
    app.state.settings = settings
    app.state.queue = queue
    app.state.shuffle = random.Random(settings.seed)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.add_middleware(LimitsMiddleware, max_bytes=settings.max_body_kb * 1024)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app


async def _http_error(request: Request, exc: StarletteHTTPException):
    if request.url.path.startswith(("/health", "/admin/votes")):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html.j2",
        {"status": exc.status_code, "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )
