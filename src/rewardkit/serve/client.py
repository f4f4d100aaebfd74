"""``RewardClient``: the Python client of ``rewardkit serve`` (httpx, timeouts, retries).

    client = RewardClient("http://127.0.0.1:8000", token="…")
    client.rewards(["What is 2+2?"] * 2, ["4", "5"])        # raw rewards, one per response
    client.score("What is 2+2?", ["4", "5"])["preference"]  # P(a ≻ b), its uncertainty
    client.get_reward(["…full text…"], prompts=["…"])       # OpenRLHF's /get_reward
    client.rewards(prompts, responses, aggregate="uwo", uwo_lambda=0.5)  # an ensemble's

``aggregate``/``uwo_lambda`` (every scoring call) override the server's ``--aggregate`` for that
request (:mod:`rewardkit.model.aggregate`); ``min``/``uwo`` on a single model is the server's
422 ``aggregate_needs_ensemble``, raised as :class:`RewardServerError`.

Retries follow OpenRLHF's remote-RM client (several tries, a pause between them) but only
for failures that a retry can fix: connection errors, timeouts and 429/502/503/504. Any other
error response raises :class:`RewardServerError` with the server's one-line message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import httpx

RETRY_STATUSES = (429, 502, 503, 504)


class RewardServerError(RuntimeError):
    """The server answered with an error (``status``, ``code``, ``field``), or could not be
    reached after every retry (``status`` None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.status, self.code, self.field = status, code, field


class RewardClient:
    """A client of one reward server.

    Args:
        url: the server's base URL (``http://127.0.0.1:8000``); a trailing endpoint path such
            as ``/get_reward`` is ignored.
        token: bearer token (the content of the server's ``--token-file``).
        timeout: seconds per request (connect, read and write).
        retries: further tries after a retryable failure.
        backoff: pause before the first retry, doubled at each further one.
        chunk_size: most texts per request (keep it at or under the server's ``--max-items``).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        chunk_size: int = 256,
        transport: httpx.BaseTransport | None = None,
    ):
        base = url.rstrip("/")
        for suffix in ("/get_reward", "/score", "/info", "/health"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = base
        self.retries = max(int(retries), 0)
        self.backoff = float(backoff)
        self.chunk_size = max(int(chunk_size), 1)
        self._http = httpx.Client(
            base_url=base, headers=headers, timeout=timeout, transport=transport
        )

    # ------------------------------------------------------------------ endpoints
    def get_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
        *,
        aggregate: str | None = None,
        uwo_lambda: float | None = None,
    ) -> dict:
        """OpenRLHF's ``/get_reward``; long lists are sent in chunks and merged."""
        merged: dict = {"rewards": [], "scores": [], "extra_logs": {}}
        for start in range(0, len(queries), self.chunk_size):
            end = start + self.chunk_size
            payload = {"query": list(queries[start:end]), **_aggregate(aggregate, uwo_lambda)}
            if prompts is not None:
                payload["prompts"] = list(prompts[start:end])
            if labels is not None:
                payload["labels"] = list(labels[start:end])
            part = self._post("/get_reward", payload)
            merged["rewards"] += part["rewards"]
            merged["scores"] += part["scores"]
            for key, values in part.get("extra_logs", {}).items():
                merged["extra_logs"].setdefault(key, []).extend(values)
        return merged

    def score(
        self,
        prompt,
        responses: Sequence[str],
        *,
        aggregate: str | None = None,
        uwo_lambda: float | None = None,
    ) -> dict:
        """``/score`` for one prompt: raw and normalized rewards, each response's trust
        signals, P(a ≻ b) and the pair's uncertainty for two responses."""
        body = {"prompt": prompt, "responses": list(responses)}
        return self._post("/score", {**body, **_aggregate(aggregate, uwo_lambda)})

    def score_items(
        self,
        prompts: Sequence,
        responses: Sequence[str],
        *,
        aggregate: str | None = None,
        uwo_lambda: float | None = None,
    ) -> dict:
        """``/score`` for (prompt, response) items, in chunks; the per-response lists
        (rewards, flags, spreads, ``ood``, ``aggregate.aggregated_rewards``) are concatenated."""
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts for {len(responses)} responses")
        merged: dict = {}
        for start in range(0, len(responses), self.chunk_size):
            items = [
                {"prompt": p, "response": r}
                for p, r in zip(
                    prompts[start : start + self.chunk_size],
                    responses[start : start + self.chunk_size],
                )
            ]
            part = self._post("/score", {"items": items, **_aggregate(aggregate, uwo_lambda)})
            merged = part if not merged else _merge_score_parts(merged, part)
        return merged

    def rewards(
        self,
        prompts: Sequence,
        responses: Sequence[str],
        *,
        normalized: bool = False,
        aggregate: str | None = None,
        uwo_lambda: float | None = None,
    ) -> list[float]:
        """One reward per (prompt, response): raw, or ``(r − mean) / std`` when ``normalized``;
        with ``aggregate``, that aggregate of an ensemble's members (always in normalized
        units)."""
        if aggregate is None and uwo_lambda is not None:
            raise ValueError("uwo_lambda is the λ of aggregate='uwo'; pass aggregate='uwo' too")
        if not responses:
            return []
        body = self.score_items(prompts, responses, aggregate=aggregate, uwo_lambda=uwo_lambda)
        return rewards_of(body, normalized=normalized, aggregate=aggregate)

    def health(self) -> dict:
        return self._request("GET", "/health")

    def info(self) -> dict:
        return self._request("GET", "/info")

    # ------------------------------------------------------------------ plumbing
    def _post(self, path: str, payload: dict) -> dict:
        return self._request("POST", path, json=payload)

    def _request(self, method: str, path: str, **kwargs) -> dict:
        pause = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.TransportError,) as exc:
                if last:
                    raise RewardServerError(
                        f"{self.url}{path}: {type(exc).__name__}: {exc} "
                        f"(after {self.retries + 1} tries)"
                    ) from exc
            else:
                if response.status_code < 400:
                    return response.json()
                if last or response.status_code not in RETRY_STATUSES:
                    raise _server_error(self.url + path, response)
            time.sleep(pause)
            pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RewardClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


PER_RESPONSE = ("rewards", "normalized_rewards", "truncated", "tokens_removed", "spread")
PER_RESPONSE_IN_BLOCKS = {
    "ood": ("distance", "percentile", "flagged"),
    "aggregate": ("aggregated_rewards",),
}


def rewards_of(body: dict, *, normalized: bool = False, aggregate: str | None = None) -> list:
    """The rewards of a ``/score`` answer: the aggregate's when one was asked for (normalized
    units), else raw or normalized."""
    if aggregate is not None:
        return body["aggregate"]["aggregated_rewards"]
    return body["normalized_rewards" if normalized else "rewards"]


def signals_of(body: dict) -> dict[str, list[float]]:
    """The per-text trust signals of a ``/score`` answer as numbers, named as in
    ``/get_reward``'s ``extra_logs`` (``ood_distance``, ``ood_percentile``, ``ood_flag``
    1.0/0.0, ``ensemble_spread``), only those the model has."""
    signals: dict[str, list[float]] = {}
    ood = body.get("ood")
    if ood is not None:
        signals["ood_distance"] = [float(d) for d in ood["distance"]]
        if ood.get("percentile") is not None:
            signals["ood_percentile"] = [float(p) for p in ood["percentile"]]
            signals["ood_flag"] = [float(f) for f in ood["flagged"]]
    if body.get("spread") is not None:
        signals["ensemble_spread"] = [float(s) for s in body["spread"]]
    return signals


def _aggregate(aggregate: str | None, uwo_lambda: float | None) -> dict:
    """The request fields of an aggregate override (none when both are None)."""
    fields: dict[str, Any] = {}
    if aggregate is not None:
        fields["aggregate"] = aggregate
    if uwo_lambda is not None:
        fields["uwo_lambda"] = float(uwo_lambda)
    return fields


def _merge_score_parts(merged: dict, part: dict) -> dict:
    """Two ``/score`` answers for consecutive items as one: per-response lists joined."""
    for key in PER_RESPONSE:
        if merged.get(key) is not None:
            merged[key] = merged[key] + part[key]
    for block, keys in PER_RESPONSE_IN_BLOCKS.items():
        if merged.get(block) is None:
            continue
        for key in keys:
            if merged[block].get(key) is not None:
                merged[block][key] = merged[block][key] + part[block][key]
    return merged


def _server_error(where: str, response: httpx.Response) -> RewardServerError:
    try:
        error = response.json()["error"]
        message, code, field = error["message"], error.get("code"), error.get("field")
    except (ValueError, KeyError, TypeError):
        message, code, field = response.text[:200], None, None
    return RewardServerError(
        f"{where}: HTTP {response.status_code}: {message}",
        status=response.status_code,
        code=code,
        field=field,
    )
