"""The reward server: ``create_app(model, settings)`` → a FastAPI app whose endpoints are
:class:`rewardkit.serve.endpoints.RewardServer`'s methods (the table of endpoints is there).

Every error is ``{"error": {"code", "message", "field"}}`` (the codes are listed in
:mod:`rewardkit.serve.endpoints`): a bad request is a 4xx, and even a bug of ours is a JSON 500
for the one request it hit, never a plain-text page. Shutdown is graceful: uvicorn lets
requests in flight finish, then the lifespan finishes every queued batch and records whether
it did (``RewardServer.drained``: the command's exit status).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rewardkit.model.scorer import Scorer
from rewardkit.serve.config import ServeConfig
from rewardkit.serve.endpoints import RewardServer
from rewardkit.serve.schemas import RequestError
from rewardkit.serve.scoring import ScoringModel, public_name


def create_app(model, settings: ServeConfig | None = None, *, token: str | None = None) -> FastAPI:
    """A FastAPI app serving ``model``: a :class:`ScoringModel`, a
    :class:`~rewardkit.model.scorer.Scorer` (any loaded reward model or ensemble), or a
    :class:`~rewardkit.model.reward_model.RewardModel`. ``token``: required bearer token."""
    settings = settings or ServeConfig()
    server = RewardServer(_scoring_model(model, settings), settings, token)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        server.batcher.start()
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; finish what is queued too
            server.draining = True
            server.drained = server.batcher.close(timeout=settings.drain_timeout_s)

    app = FastAPI(
        title="rewardkit reward server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.server = server
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    app.add_api_route("/get_reward", server.get_reward, methods=["POST"])
    app.add_api_route("/score", server.score_texts, methods=["POST"])
    app.add_api_route("/health", server.health, methods=["GET"])
    app.add_api_route("/info", server.info, methods=["GET"])
    return app


async def _request_error(_, exc: RequestError):
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _http_error(_, exc: StarletteHTTPException):
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail), "field": None}},
        status_code=exc.status_code,
        headers=exc.headers,  # 405: Allow
    )


async def _internal_error(_, exc: Exception):
    """A bug of ours, as JSON (Starlette's ServerErrorMiddleware sends this, then re-raises
    so uvicorn logs the traceback)."""
    message = (
        f"the server failed on this request ({type(exc).__name__}: a bug; its log has the "
        "traceback)"
    )
    return JSONResponse(
        {"error": {"code": "internal_error", "message": message, "field": None}}, status_code=500
    )


def _scoring_model(model, settings: ServeConfig) -> ScoringModel:
    """``model`` as a ScoringModel, named ``--name`` when given (else by its folder)."""
    if not isinstance(model, ScoringModel):
        scorer = model if isinstance(model, Scorer) else Scorer([model], source=settings.model)
        model = ScoringModel(scorer, name=settings.name or settings.model or None)
    elif settings.name:
        model.name = public_name(settings.name)
    return model
