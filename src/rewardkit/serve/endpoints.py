"""The reward server's endpoints: :class:`RewardServer` answers each request; ``create_app``
(:mod:`rewardkit.serve.app`) wires it into FastAPI.

==================  =========================================================================
endpoint            response
==================  =========================================================================
POST /get_reward    OpenRLHF's shape (``openrlhf/cli/serve_rm.py``, HEAD):
                    ``{"rewards": [f], "scores": [f], "extra_logs": {name: [f]}}``; rewards and
                    scores are equal, raw unless the server runs with ``--normalize``;
                    ``extra_logs`` holds numbers only (OpenRLHF logs them): ``raw_reward``,
                    ``normalized_reward``, ``rewards_normalized`` (1.0/0.0), ``prompt_split``
                    (1.0: scored as prompt + response with the model's template), ``truncated``
                    and ``tokens_removed`` (the over-length rule), ``stripped_chars`` (the
                    end-of-turn markers removed, :mod:`rewardkit.serve.end_markers`), the
                    trust signals the model has (:mod:`rewardkit.eval.trust`: ``ood_distance``,
                    ``ood_percentile``, ``ood_flag`` 1.0/0.0, ``ensemble_spread``), and for
                    ensembles ``aggregate_<mean|min|uwo>`` (the served aggregate, normalized
                    units; ``uwo_lambda`` with uwo). With ``--aggregate min|uwo`` (or the
                    request's ``"aggregate"``) rewards and scores are that aggregate
                    (normalized units, whatever ``--normalize`` says). Header
                    ``X-Rewardkit-Scores``.
POST /score         ``{"model", "scores_are": "raw", "rewards", "normalized_rewards",
                    "normalization", "truncated", "tokens_removed", "preference", "spread",
                    "ood"}``; an over-long text is cut by the over-length rule and scored
                    (``--overlong error``: 422 when a response alone is too long);
                    ``preference`` is ``{"p_a_over_b", "temperature",
                    "calibration_exponent", "temperature_calibrated", "uncertainty",
                    "uncertainty_kind", "spread", "probability_spread", "distance",
                    "flagged"}`` when exactly two responses to one prompt were sent
                    (Bradley–Terry with the stored calibration: σ(sign(Δ)·|Δ/T|^γ),
                    Δ = r_a − r_b, :mod:`rewardkit.bradley_terry`; and the pair as
                    ``rewardkit eval`` judges it); ``ood`` is ``{"distance",
                    "percentile", "flagged"}`` per response (null without OOD statistics);
                    ensembles (or a request with ``"aggregate"``) add ``aggregate``
                    (method, λ, formula) and ``aggregated_rewards`` (normalized units);
                    ``min``/``uwo`` on a single model is a 422 ``aggregate_needs_ensemble``.
GET /health         ``{"status": "ok"}`` (no token needed: liveness probes).
GET /info           model, template, max_length, normalization, the calibration
                    (``temperature``, ``calibration_exponent``), precision, device, fingerprint,
                    the served ``aggregate``, ``trust`` (which signals the model has and their
                    thresholds), …
                    (names only: a local folder is shown by its base name, never its path)
==================  =========================================================================

Errors: ``{"error": {"code", "message", "field"}}`` with 401 (token), 413 (too many texts, too
long a text, too big a body), 415 (not JSON), 422 (bad JSON — :mod:`rewardkit.serve.body` —, a
field of the wrong shape, a text the model cannot take), 503 (shutting down), and 500 only for
the server's own bugs (a request whose forward fails alone: ``scoring_failed``).
"""

from __future__ import annotations

import hmac
import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from rewardkit.errors import UserError
from rewardkit.model.aggregate import check_aggregate, describe_aggregate
from rewardkit.model.overlong import ResponseTooLongError
from rewardkit.model.template import ChatTemplateRefused
from rewardkit.serve.batcher import BatcherClosed, MicroBatcher
from rewardkit.serve.body import read_json
from rewardkit.serve.config import ServeConfig
from rewardkit.serve.end_markers import EndMarkers
from rewardkit.serve.schemas import (
    RequestError,
    ScoreItemsRequest,
    parse_get_reward_request,
    parse_score_request,
)
from rewardkit.serve.scoring import ScoringModel

ENDPOINTS = ["POST /get_reward", "POST /score", "GET /health", "GET /info"]
log = logging.getLogger("rewardkit.serve")


class RewardServer:
    """The server's state (model, batcher, settings, token) and one method per endpoint."""

    def __init__(self, scorer: ScoringModel, settings: ServeConfig, token: str | None):
        self.scorer = scorer
        self.settings = settings
        self.token = token
        self.draining = False
        self.drained: bool | None = None  # after shutdown: did every queued batch finish?
        self.batcher = MicroBatcher(
            scorer.score_sequences,
            max_batch_tokens=settings.max_batch_tokens,
            max_wait_ms=settings.max_wait_ms,
            enabled=settings.batching,
            min_fill=settings.min_fill,
        )
        self.body_limit = settings.max_items * (6 * settings.max_chars + 64) + (1 << 16)
        self.end_markers = EndMarkers.from_option(settings.strip_suffix, scorer.model.tokenizer)
        check_aggregate(settings.aggregate, scorer.scorer.k, scorer.name)  # one line at start

    # ------------------------------------------------------------------ endpoints
    async def get_reward(self, request: Request):
        """OpenRLHF's ``/get_reward``."""
        self.check_token(request)
        body = parse_get_reward_request(await read_json(request, self.body_limit))
        self.check_count(len(body.query), "query")
        for i, query in enumerate(body.query):
            self.check_chars(len(query), f"query[{i}]")
        prompts = body.prompts
        if prompts is not None:
            if len(prompts) != len(body.query):
                raise RequestError(
                    422,
                    "invalid_field",
                    f"'prompts' has {len(prompts)} "
                    f"entries for {len(body.query)} queries; send one prompt per "
                    "query",
                    "prompts",
                )
            for i, prompt in enumerate(prompts):
                self.check_chars(len(prompt), f"prompts[{i}]")
        encoded = [
            self.scorer.encode_query(q, prompts[i] if prompts else None, self.end_markers)
            for i, q in enumerate(body.query)
        ]
        for i, e in enumerate(encoded):
            self.check_sequence(e.ids, f"query[{i}]")
        method, lam = self.request_aggregate(body)
        result = await self.score([e.ids for e in encoded])
        raw = result.rewards
        normalized = self.scorer.normalize(raw)
        rewards = (normalized if self.settings.normalize else raw).tolist()
        aggregated = None
        if self.scorer.is_ensemble or method != "mean":
            aggregated = self.scorer.aggregate(result, method, lam)
        if method != "mean":
            rewards = aggregated.tolist()
        extra = {
            "raw_reward": raw.tolist(),
            "normalized_reward": normalized.tolist(),
            "rewards_normalized": [float(self.settings.normalize)] * len(raw),
            "prompt_split": [float(e.prompt_split) for e in encoded],
            "truncated": [float(e.truncated) for e in encoded],
            "tokens_removed": [float(e.tokens_removed) for e in encoded],
            "stripped_chars": [float(e.stripped_chars) for e in encoded],
            **self.scorer.trust.texts(result).numbers(),  # ood_*, ensemble_spread
        }
        if aggregated is not None:
            extra[f"aggregate_{method}"] = aggregated.tolist()
            if method == "uwo":
                extra["uwo_lambda"] = [float(lam)] * len(raw)
        return JSONResponse(
            {"rewards": rewards, "scores": rewards, "extra_logs": extra},
            headers={"X-Rewardkit-Scores": self.scores_are(method)},
        )

    async def score_texts(self, request: Request):
        """rewardkit's own ``/score``."""
        self.check_token(request)
        body = parse_score_request(await read_json(request, self.body_limit))
        texts = self.checked_texts(body)
        method, lam = self.request_aggregate(body)
        fitted = []
        for prompt, response, field in texts:
            try:
                fitted.append(self.scorer.encode_pair(prompt, response, self.settings.overlong))
            except ResponseTooLongError:
                raise RequestError(
                    422,
                    "response_too_long",
                    f"'{field}' alone is longer than "
                    f"the model's max_length {self.scorer.max_length} tokens "
                    "(the server runs with --overlong error)",
                    field,
                ) from None
            except ChatTemplateRefused as refused:
                prompt_field = field.rsplit(".", 1)[0] + ".prompt" if "." in field else "prompt"
                raise RequestError(
                    422, "chat_template_refused", refused.message, prompt_field
                ) from None
            self.check_sequence(fitted[-1].ids, field)
        sequences = [f.ids for f in fitted]
        result = await self.score(sequences)
        raw = result.rewards
        signals = self.scorer.trust.texts(result)  # per response: OOD distance, percentile, flag
        preference = None
        if len(texts) == 2 and texts[0][0] == texts[1][0]:
            calibration = self.scorer.calibration
            preference = {
                "p_a_over_b": calibration.probability(raw[0] - raw[1]),
                "temperature": calibration.temperature,
                "calibration_exponent": calibration.exponent,
                "temperature_calibrated": self.scorer.temperature_calibrated,
                **self.scorer.trust.pair(result, signals),  # as rewardkit eval judges a pair
            }
        aggregate = None
        if self.scorer.is_ensemble or method != "mean":
            aggregate = {
                **describe_aggregate(method, lam),
                "aggregated_rewards": self.scorer.aggregate(result, method, lam).tolist(),
                "units": "normalized",
            }
        return {
            "model": self.scorer.name,
            "scores_are": "raw",
            "aggregate": aggregate,
            "rewards": raw.tolist(),
            "normalized_rewards": self.scorer.normalize(raw).tolist(),
            "normalization": self.scorer.describe_normalization(),
            "truncated": [f.truncated for f in fitted],
            "tokens_removed": [f.removed for f in fitted],
            "preference": preference,
            "spread": result.spread.tolist() if self.scorer.is_ensemble else None,
            "ood": signals.ood_block(),
        }

    async def health(self):
        return {"status": "draining" if self.draining else "ok"}

    async def info(self, request: Request):
        self.check_token(request)
        stats, settings = self.batcher.stats, self.settings
        return {
            **self.scorer.describe(),
            "get_reward_scores_are": self.scores_are(settings.aggregate),
            "aggregate": describe_aggregate(settings.aggregate, settings.uwo_lambda)
            if self.scorer.is_ensemble
            else None,
            "batching": {
                "enabled": settings.batching,
                "max_batch_tokens": settings.max_batch_tokens,
                "max_wait_ms": settings.max_wait_ms,
                "batches": stats.batches,
                "forward_passes": stats.forwards,
                "requests": stats.jobs,
                "texts": stats.texts,
                "pending": self.batcher.pending,
            },
            "limits": {"max_items": settings.max_items, "max_chars": settings.max_chars},
            "auth": self.token is not None,
            "endpoints": ENDPOINTS,
        }

    # ------------------------------------------------------------------ checks
    def scores_are(self, method: str) -> str:
        """What ``/get_reward``'s rewards are under the aggregate ``method``."""
        if method != "mean":
            return f"normalized {method}"
        return "normalized" if self.settings.normalize else "raw"

    def request_aggregate(self, body) -> tuple[str, float]:
        """``(method, λ)`` of a request: its own override, else the server's flags;
        ``min``/``uwo`` on a single model is a 422."""
        method = getattr(body, "aggregate", None) or self.settings.aggregate
        lam = getattr(body, "uwo_lambda", None)
        lam = self.settings.uwo_lambda if lam is None else float(lam)
        try:
            check_aggregate(method, self.scorer.scorer.k, self.scorer.name)
        except UserError as err:
            raise RequestError(422, "aggregate_needs_ensemble", err.message, "aggregate") from None
        return method, lam

    def checked_texts(self, body) -> list[tuple]:
        """``(prompt, response, response field)`` of a ``/score`` body, within the limits."""
        if isinstance(body, ScoreItemsRequest):
            texts = [
                (_plain_prompt(item.prompt), item.response, f"items[{i}]")
                for i, item in enumerate(body.items)
            ]
            self.check_count(len(texts), "items")
            for prompt, response, where in texts:
                self.check_chars(_prompt_chars(prompt), f"{where}.prompt")
                self.check_chars(len(response), f"{where}.response")
            return [(prompt, response, f"{where}.response") for prompt, response, where in texts]
        prompt = _plain_prompt(body.prompt)
        self.check_count(len(body.responses), "responses")
        self.check_chars(_prompt_chars(prompt), "prompt")
        texts = [(prompt, response, f"responses[{i}]") for i, response in enumerate(body.responses)]
        for _, response, field in texts:
            self.check_chars(len(response), field)
        return texts

    def check_token(self, request: Request) -> None:
        if self.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            raise RequestError(
                401,
                "unauthorized",
                "missing or wrong bearer token; send "
                "'Authorization: Bearer <token from --token-file>'",
            )

    def check_sequence(self, ids: list[int], field: str) -> None:
        """A text's token ids within the model's limits, before they join a batch."""
        problem = self.scorer.sequence_problem(ids)
        if problem is not None:
            code, why = problem
            raise RequestError(422, code, f"'{field}' {why}", field)

    def check_count(self, n: int, field: str) -> None:
        limit = self.settings.max_items
        if n > limit:
            message = f"{n} texts in '{field}', over the server's --max-items {limit}; split it"
            raise RequestError(413, "too_many_items", message, field)

    def check_chars(self, n: int, field: str) -> None:
        limit = self.settings.max_chars
        if n > limit:
            message = f"'{field}' has {n} characters, over the server's --max-chars {limit}"
            raise RequestError(413, "text_too_long", message, field)

    async def score(self, sequences):
        """Scores from the micro-batcher. A failure of this request's own forward (the
        batcher has already retried it alone) is a 500 for this request only: the texts passed
        every check, so it is the server's bug, logged with its traceback."""
        try:
            return await self.batcher.score(sequences)
        except BatcherClosed:
            raise RequestError(
                503, "shutting_down", "the server is shutting down; retry on another replica"
            ) from None
        except Exception as exc:
            log.error("scoring a request failed", exc_info=exc)
            raise RequestError(
                500,
                "scoring_failed",
                f"scoring this request's texts failed ({type(exc).__name__}); the server's "
                "log has the traceback; other requests are not affected",
            ) from None


def _plain_prompt(prompt):
    return prompt if isinstance(prompt, str) else [m.model_dump() for m in prompt]


def _prompt_chars(prompt) -> int:
    return len(prompt) if isinstance(prompt, str) else sum(len(m["content"]) for m in prompt)
