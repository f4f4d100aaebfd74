"""The server's scores are `rewardkit score`'s scores (fp32, 1e-5), whatever the batching.

The acceptance check a new user would make: train a model, score a file with the CLI, send the
same texts to /get_reward in OpenRLHF's shape, compare.
"""

import asyncio
import json

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from rewardkit.cli import app as cli_app
from rewardkit.model import RewardModel
from rewardkit.serve import ScoringModel

PROMPTS = [
    "\n\nHuman: what is a good tea ?\n\nAssistant:",
    "how can i help you ?",
    "please tell me about cats and dogs .",
]
RESPONSES = ["green tea is good .", "no", "cats and dogs are good and you can help me too ."]


def cli_scores(model_dir, tmp_path, prompts, responses):
    """Raw and normalized rewards from `rewardkit score` on {"prompt", "response"} records."""
    data = tmp_path / "single.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": p, "response": r}) + "\n" for p, r in zip(prompts, responses))
    )
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(
        cli_app, ["score", "--model", str(model_dir), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return (np.array([r["reward"] for r in rows]), np.array([r["normalized_reward"] for r in rows]))


@pytest.mark.parametrize("normalize", [False, True])
def test_openrlhf_request_equals_rewardkit_score(trained_rm_dir, start_server, tmp_path, normalize):
    """A trained model (measured normalization), OpenRLHF's request shape with prompts (the
    prompt/response path) and without (the whole-text path): both equal the CLI's scores."""
    raw, normalized = cli_scores(trained_rm_dir, tmp_path, PROMPTS, RESPONSES)
    assert np.ptp(raw) > 1e-4  # different texts, different rewards
    server = start_server(ScoringModel.load(str(trained_rm_dir)), normalize=normalize)
    expected = normalized if normalize else raw
    queries = [p + " " + r for p, r in zip(PROMPTS, RESPONSES)]
    with_prompts = httpx.post(
        server.url + "/get_reward",
        json={"query": queries, "prompts": PROMPTS, "labels": [None] * 3},
    ).json()
    assert with_prompts["extra_logs"]["prompt_split"] == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(with_prompts["rewards"], expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(with_prompts["scores"], expected, rtol=0, atol=1e-5)
    whole = httpx.post(server.url + "/get_reward", json={"query": queries}).json()
    assert whole["extra_logs"]["prompt_split"] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(whole["rewards"], expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("rm_fixture", ["tiny_llama_rm_dir", "tiny_llama_chat_rm_dir"])
def test_decoder_get_reward_equals_score(request, rm_fixture, start_server):
    """Decoders (EOS appended, distinct pad): both /get_reward paths equal RewardModel.score."""
    model_dir = request.getfixturevalue(rm_fixture)
    model = RewardModel.from_pretrained(model_dir)
    expected = model.score(PROMPTS, RESPONSES)
    server = start_server(ScoringModel.load(str(model_dir)))
    queries = [p + " " + r for p, r in zip(PROMPTS, RESPONSES)]
    for body in ({"query": queries, "prompts": PROMPTS}, {"query": queries}):
        got = httpx.post(server.url + "/get_reward", json=body).json()["rewards"]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_policy_eos_and_padding_in_query(tiny_llama_rm_dir, start_server):
    """OpenRLHF decodes with special tokens: a query may end with EOS (already the scored
    token) and the RM's pad tokens (stripped); neither changes the reward."""
    model = RewardModel.from_pretrained(tiny_llama_rm_dir)
    expected = model.score(PROMPTS[1], [RESPONSES[0]])
    server = start_server(model)
    eos, pad = model.tokenizer.eos_token, model.tokenizer.pad_token
    query = PROMPTS[1] + " " + RESPONSES[0] + eos + pad + pad
    got = httpx.post(
        server.url + "/get_reward", json={"query": [query], "prompts": [PROMPTS[1]]}
    ).json()["rewards"]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_over_long_query_keeps_the_response(tiny_llama_rm_dir, start_server):
    """A prompt longer than max_length (64) is cut from the left, as `rewardkit score` does."""
    model = RewardModel.from_pretrained(tiny_llama_rm_dir)
    prompt = "hello world " * 60 + "what is a good tea ?"
    expected = model.score(prompt, [RESPONSES[0]])
    server = start_server(model)
    data = httpx.post(
        server.url + "/get_reward",
        json={"query": [prompt + " " + RESPONSES[0]], "prompts": [prompt]},
    ).json()
    assert data["extra_logs"]["truncated"] == [1.0]
    np.testing.assert_allclose(data["rewards"], expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_requests_batched_equal_unbatched(bert_rm, start_server, batching):
    """32 concurrent one-text requests (OpenRLHF's agent sends one sample per request): with
    batching they share forward passes (fewer batches than requests), without it each runs
    alone; either way every reward equals RewardModel.score to 1e-5."""
    words = "the a tea coffee good bad cats dogs please help".split()
    responses = [" ".join(words[: 1 + i % 10]) + " ." * (i % 3) for i in range(32)]
    expected = bert_rm.score("what is good ?", responses)
    server = start_server(bert_rm, batching=batching, max_wait_ms=50)

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            calls = [
                client.post("/score", json={"prompt": "what is good ?", "responses": [r]})
                for r in responses
            ]
            return await asyncio.gather(*calls)

    answers = asyncio.run(run())
    got = [a.json()["rewards"][0] for a in answers]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    stats = server.app.state.server.batcher.stats
    assert stats.jobs == 32
    if batching:
        assert stats.batches < 32 and stats.largest_batch_jobs > 1
    else:
        assert stats.batches == 32 and stats.largest_batch_jobs == 1
