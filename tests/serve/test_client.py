"""RewardClient: retries only what a retry can fix, errors carry the server's message and
field, chunked requests merge in order, and its rewards are the model's."""

import httpx
import numpy as np
import pytest

from rewardkit.client import RewardClient, RewardServerError


def mock_client(handler, **kwargs):
    return RewardClient(
        "http://rm.test/get_reward",
        token="t",
        backoff=0.0,
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def test_retries_503_then_succeeds_and_sends_the_token():
    seen = []

    def handler(request):
        seen.append((request.url.path, request.headers.get("authorization")))
        if len(seen) < 3:
            return httpx.Response(
                503, json={"error": {"code": "shutting_down", "message": "busy", "field": None}}
            )
        return httpx.Response(200, json={"rewards": [1.0], "scores": [1.0], "extra_logs": {}})

    body = mock_client(handler, retries=3).get_reward(["q"])
    assert body["rewards"] == [1.0]
    assert seen == [("/get_reward", "Bearer t")] * 3  # base URL: the endpoint suffix dropped


def test_does_not_retry_a_422_and_reports_the_field():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(
            422,
            json={
                "error": {
                    "code": "invalid_field",
                    "field": "query[0]",
                    "message": "field 'query[0]': bad",
                }
            },
        )

    with pytest.raises(RewardServerError, match=r"HTTP 422: field 'query\[0\]': bad") as info:
        mock_client(handler, retries=5).get_reward(["q"])
    assert len(calls) == 1
    assert (info.value.status, info.value.code, info.value.field) == (
        422,
        "invalid_field",
        "query[0]",
    )


def test_gives_up_after_retries_on_connection_errors():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RewardServerError, match="after 3 tries"):
        mock_client(handler, retries=2).health()
    assert len(calls) == 3


def test_chunks_merge_in_order():
    """chunk_size 2 over 5 queries: three requests, rewards concatenated in input order."""
    sizes = []

    def handler(request):
        import json

        query = json.loads(request.content)["query"]
        sizes.append(len(query))
        values = [float(q) for q in query]
        return httpx.Response(
            200, json={"rewards": values, "scores": values, "extra_logs": {"raw_reward": values}}
        )

    body = mock_client(handler, chunk_size=2).get_reward([str(i) for i in range(5)])
    assert sizes == [2, 2, 1]
    assert body["rewards"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert body["extra_logs"]["raw_reward"] == body["rewards"]


def test_rewards_against_a_real_server(bert_server, bert_rm):
    prompts = ["what is tea ?"] * 3 + [[{"role": "user", "content": "hello"}]]
    responses = ["green tea", "no", "tea is good .", "hello you"]
    with RewardClient(bert_server.url, chunk_size=3) as client:
        raw = client.rewards(prompts, responses)
        normalized = client.rewards(prompts, responses, normalized=True)
        assert client.info()["max_length"] == 64
    expected = np.concatenate(
        [bert_rm.score(prompts[:3], responses[:3]), bert_rm.score(prompts[3], responses[3:])]
    )
    np.testing.assert_allclose(raw, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(normalized, (expected - 0.25) / 2.0, rtol=0, atol=1e-5)
