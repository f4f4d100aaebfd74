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


def test_aggregate_is_sent_with_every_scoring_call():
    """aggregate/uwo_lambda go into the body of /score and /get_reward (every chunk); without
    them the body has neither, so the server's flags apply."""
    import json

    bodies = []

    def handler(request):
        body = json.loads(request.content)
        bodies.append(body)
        n = len(body.get("query") or body.get("items") or body.get("responses"))
        if request.url.path == "/get_reward":
            return httpx.Response(200, json={"rewards": [0.0] * n, "scores": [0.0] * n})
        return httpx.Response(
            200,
            json={
                "rewards": [0.0] * n,
                "normalized_rewards": [0.0] * n,
                "aggregate": {"method": body.get("aggregate"), "aggregated_rewards": [7.0] * n},
            },
        )

    client = mock_client(handler, chunk_size=2)
    override = {"aggregate": "uwo", "uwo_lambda": 1.5}
    client.score("p", ["a", "b"], **override)
    client.score_items(["p"] * 3, ["a", "b", "c"], **override)
    assert client.rewards(["p"] * 3, ["a", "b", "c"], **override) == [7.0] * 3
    client.get_reward(["q1", "q2", "q3"], **override)
    assert len(bodies) == 1 + 2 + 2 + 2
    assert all(body["aggregate"] == "uwo" and body["uwo_lambda"] == 1.5 for body in bodies)
    bodies.clear()
    client.score("p", ["a"])
    client.get_reward(["q"])
    assert not any("aggregate" in body or "uwo_lambda" in body for body in bodies)
    with pytest.raises(ValueError, match="pass aggregate='uwo'"):
        client.rewards(["p"], ["a"], uwo_lambda=1.0)


def test_score_items_merges_every_per_response_list():
    """Chunks of 2 over 3 items: rewards, flags, token counts, spreads, the ood block and the
    aggregated rewards all come back as one list per field, in input order."""
    import json

    def handler(request):
        responses = [item["response"] for item in json.loads(request.content)["items"]]
        values = [float(r) for r in responses]
        return httpx.Response(
            200,
            json={
                "rewards": values,
                "normalized_rewards": values,
                "truncated": [False] * len(values),
                "tokens_removed": [int(v) for v in values],
                "spread": values,
                "ood": {
                    "distance": values,
                    "percentile": values,
                    "flagged": [v > 1 for v in values],
                },
                "aggregate": {"method": "mean", "aggregated_rewards": values},
                "preference": None,
            },
        )

    body = mock_client(handler, chunk_size=2).score_items(["p"] * 3, ["0", "1", "2"])
    for field in ("rewards", "normalized_rewards", "spread"):
        assert body[field] == [0.0, 1.0, 2.0]
    assert body["tokens_removed"] == [0, 1, 2] and body["truncated"] == [False] * 3
    assert body["ood"]["distance"] == [0.0, 1.0, 2.0]
    assert body["ood"]["flagged"] == [False, False, True]
    assert body["aggregate"]["aggregated_rewards"] == [0.0, 1.0, 2.0]


def test_aggregate_against_real_servers(start_server, served_heads_ensemble_dir, bert_server):
    """An ensemble: the client's min and uwo rewards are the formulas on the members'
    normalized rewards z = (r − mean)/std: min_k z_k, and mean − λ·var (ddof 0); a single
    model: the server's one-line 422 aggregate_needs_ensemble, raised."""
    from rewardkit.client import RewardServerError
    from rewardkit.model.loading import load_reward_model
    from rewardkit.serve import ScoringModel

    prompt, responses = "what is a good tea ?", ["green tea is good .", "no", "coffee , thanks"]
    scorer = load_reward_model(served_heads_ensemble_dir)
    norm = scorer.primary.info.normalization
    z = (scorer.score(prompt, responses).members - norm.mean) / norm.std
    server = start_server(ScoringModel.load(str(served_heads_ensemble_dir)))
    with RewardClient(server.url, chunk_size=2) as client:
        worst = client.rewards([prompt] * 3, responses, aggregate="min")
        np.testing.assert_allclose(worst, z.min(axis=0), rtol=0, atol=1e-5)
        queries = [prompt + " " + r for r in responses]
        body = client.get_reward(queries, [prompt] * 3, aggregate="uwo", uwo_lambda=2.0)
        want = z.mean(axis=0) - 2.0 * z.var(axis=0)
        np.testing.assert_allclose(body["rewards"], want, rtol=0, atol=1e-5)
        np.testing.assert_allclose(body["extra_logs"]["aggregate_uwo"], want, rtol=0, atol=1e-5)
        assert np.abs(z.min(axis=0) - want).max() > 1e-3  # the two aggregates differ
    with RewardClient(bert_server.url) as client:
        for call in (
            lambda: client.rewards([prompt], ["a"], aggregate="min"),
            lambda: client.get_reward(["a"], aggregate="uwo"),
        ):
            with pytest.raises(RewardServerError, match="needs an ensemble") as info:
                call()
            assert info.value.code == "aggregate_needs_ensemble"
