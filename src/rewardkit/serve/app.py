"""The reward server: ``create_app(model, settings)`` → a FastAPI app.

==================  =========================================================================
endpoint            response
==================  =========================================================================
POST /get_reward    OpenRLHF's shape (``openrlhf/cli/serve_rm.py``, HEAD):
                    ``{"rewards": [f], "scores": [f], "extra_logs": {name: [f]}}``; rewards and
                    scores are equal, raw unless the server runs with ``--normalize``;
                    ``extra_logs`` holds numbers only (OpenRLHF logs them): ``raw_reward``,
                    ``normalized_reward``, ``rewards_normalized`` (1.0/0.0), ``prompt_split``
                    (1.0: scored as prompt + response with the model's template), ``truncated``,
                    and ``ensemble_spread`` for ensembles. Header ``X-Rewardkit-Scores``.
POST /score         ``{"model", "scores_are": "raw", "rewards", "normalized_rewards",
                    "normalization", "truncated", "preference", "spread"}``; ``preference`` is
                    ``{"p_a_over_b", "temperature", "temperature_calibrated"}`` when exactly
                    two responses to one prompt were sent (Bradley–Terry: σ((r_a − r_b)/T)).
GET /health         ``{"status": "ok"}`` (no token needed: liveness probes).
GET /info           model, template, max_length, normalization, precision, device, fingerprint, …
==================  =========================================================================

Errors: ``{"error": {"code", "message", "field"}}`` with 401 (token), 413 (too many texts, too
long a text, too big a body), 422 (not JSON, or a field of the wrong shape), 503 (shutting down).
"""

from __future__ import annotations

import hmac
import json
import math
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rewardkit.serve.batcher import BatcherClosed, MicroBatcher
from rewardkit.serve.config import ServeConfig
from rewardkit.serve.schemas import (
    RequestError,
    ScoreItemsRequest,
    parse_get_reward_request,
    parse_score_request,
)
from rewardkit.serve.scoring import ScoringModel

ENDPOINTS = ["POST /get_reward", "POST /score", "GET /health", "GET /info"]


def create_app(model, settings: ServeConfig | None = None, *, token: str | None = None) -> FastAPI:
    """A FastAPI app serving ``model`` (a ``RewardModel``, an ensemble exposing
    ``score_ids_with_spread``, or a :class:`ScoringModel`). ``token``: required bearer token."""
    settings = settings or ServeConfig()
    scorer = (
        model
        if isinstance(model, ScoringModel)
        else ScoringModel(model, name=settings.model or None)
    )
    batcher = MicroBatcher(
        scorer.score_sequences,
        max_batch_tokens=settings.max_batch_tokens,
        max_wait_ms=settings.max_wait_ms,
        enabled=settings.batching,
        min_fill=settings.min_fill,
    )
    body_limit = settings.max_items * (6 * settings.max_chars + 64) + (1 << 16)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; finish what is queued too
            app.state.draining = True
            batcher.close(timeout=settings.drain_timeout_s)

    app = FastAPI(
        title="rewardkit reward server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.scorer, app.state.batcher, app.state.draining = scorer, batcher, False

    # ------------------------------------------------------------------ plumbing
    def check_token(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise RequestError(
                401,
                "unauthorized",
                "missing or wrong bearer token; send "
                "'Authorization: Bearer <token from --token-file>'",
            )

    async def read_json(request: Request):
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > body_limit:
            raise _body_too_large(body_limit)
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > body_limit:
                raise _body_too_large(body_limit)
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = (
                f" at line {exc.lineno} column {exc.colno}"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
            raise RequestError(
                422, "invalid_json", f"the body is not valid JSON ({reason}{where})"
            ) from None

    def check_count(n: int, field: str) -> None:
        if n > settings.max_items:
            raise RequestError(
                413,
                "too_many_items",
                f"{n} texts in '{field}', over the "
                f"server's --max-items {settings.max_items}; split the request",
                field,
            )

    def check_chars(n: int, field: str) -> None:
        if n > settings.max_chars:
            raise RequestError(
                413,
                "text_too_long",
                f"'{field}' has {n} characters, over the server's --max-chars {settings.max_chars}",
                field,
            )

    async def score(sequences):
        try:
            return await batcher.score(sequences)
        except BatcherClosed:
            raise RequestError(
                503, "shutting_down", "the server is shutting down; retry on another replica"
            ) from None

    @app.exception_handler(RequestError)
    async def request_error(_, exc: RequestError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail), "field": None}},
            status_code=exc.status_code,
        )

    # ------------------------------------------------------------------ endpoints
    @app.post("/get_reward")
    async def get_reward(request: Request):
        check_token(request)
        body = parse_get_reward_request(await read_json(request))
        check_count(len(body.query), "query")
        for i, query in enumerate(body.query):
            check_chars(len(query), f"query[{i}]")
        prompts = body.prompts
        if prompts is not None:
            if len(prompts) != len(body.query):
                raise RequestError(
                    422,
                    "invalid_field",
                    f"'prompts' has {len(prompts)} entries "
                    f"for {len(body.query)} queries; send one prompt per query",
                    "prompts",
                )
            for i, prompt in enumerate(prompts):
                check_chars(len(prompt), f"prompts[{i}]")
        encoded = [
            scorer.encode_query(q, prompts[i] if prompts else None)
            for i, q in enumerate(body.query)
        ]
        result = await score([e.ids for e in encoded])
        raw = result.rewards
        normalized = scorer.normalize(raw)
        rewards = (normalized if settings.normalize else raw).tolist()
        extra = {
            "raw_reward": raw.tolist(),
            "normalized_reward": normalized.tolist(),
            "rewards_normalized": [float(settings.normalize)] * len(raw),
            "prompt_split": [float(e.prompt_split) for e in encoded],
            "truncated": [float(e.truncated) for e in encoded],
        }
        if result.spread is not None:
            extra["ensemble_spread"] = result.spread.tolist()
        return JSONResponse(
            {"rewards": rewards, "scores": rewards, "extra_logs": extra},
            headers={"X-Rewardkit-Scores": _scores_are(settings)},
        )

    @app.post("/score")
    async def score_endpoint(request: Request):
        check_token(request)
        body = parse_score_request(await read_json(request))
        if isinstance(body, ScoreItemsRequest):
            texts = [
                (_plain_prompt(item.prompt), item.response, f"items[{i}]")
                for i, item in enumerate(body.items)
            ]
            check_count(len(texts), "items")
            for prompt, response, where in texts:
                check_chars(_prompt_chars(prompt), f"{where}.prompt")
                check_chars(len(response), f"{where}.response")
            fields = [f"{where}.response" for _, _, where in texts]
        else:
            prompt = _plain_prompt(body.prompt)
            texts = [(prompt, response, "") for response in body.responses]
            check_count(len(texts), "responses")
            check_chars(_prompt_chars(prompt), "prompt")
            fields = [f"responses[{i}]" for i in range(len(texts))]
            for response, field in zip(body.responses, fields):
                check_chars(len(response), field)
        sequences, truncated = [], []
        for (prompt, response, _), field in zip(texts, fields):
            try:
                ids, cut = scorer.encode_pair(prompt, response)
            except ValueError:
                raise RequestError(
                    422,
                    "response_too_long",
                    f"'{field}' alone is longer than "
                    f"the model's max_length {scorer.max_length} tokens",
                    field,
                ) from None
            sequences.append(ids)
            truncated.append(cut)
        result = await score(sequences)
        raw = result.rewards
        preference = None
        if len(texts) == 2 and texts[0][0] == texts[1][0]:
            t = scorer.temperature
            preference = {
                "p_a_over_b": _sigmoid((raw[0] - raw[1]) / t),
                "temperature": t,
                "temperature_calibrated": scorer.temperature_calibrated,
            }
        return {
            "model": scorer.name,
            "scores_are": "raw",
            "rewards": raw.tolist(),
            "normalized_rewards": scorer.normalize(raw).tolist(),
            "normalization": scorer.describe_normalization(),
            "truncated": truncated,
            "preference": preference,
            "spread": None if result.spread is None else result.spread.tolist(),
        }

    @app.get("/health")
    async def health():
        return {"status": "draining" if app.state.draining else "ok"}

    @app.get("/info")
    async def info(request: Request):
        check_token(request)
        stats = batcher.stats
        return {
            **scorer.describe(),
            "get_reward_scores_are": _scores_are(settings),
            "batching": {
                "enabled": settings.batching,
                "max_batch_tokens": settings.max_batch_tokens,
                "max_wait_ms": settings.max_wait_ms,
                "batches": stats.batches,
                "forward_passes": stats.forwards,
                "requests": stats.jobs,
                "texts": stats.texts,
                "pending": batcher.pending,
            },
            "limits": {"max_items": settings.max_items, "max_chars": settings.max_chars},
            "auth": token is not None,
            "endpoints": ENDPOINTS,
        }

    return app


def _scores_are(settings: ServeConfig) -> str:
    return "normalized" if settings.normalize else "raw"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _plain_prompt(prompt):
    return prompt if isinstance(prompt, str) else [m.model_dump() for m in prompt]


def _prompt_chars(prompt) -> int:
    return len(prompt) if isinstance(prompt, str) else sum(len(m["content"]) for m in prompt)


def _body_too_large(limit: int) -> RequestError:
    return RequestError(
        413,
        "body_too_large",
        f"the body is over {limit} bytes (--max-items × --max-chars); split the request",
    )
