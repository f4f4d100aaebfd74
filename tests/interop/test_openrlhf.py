"""OpenRLHF's HTTP reward client, as `_fetch_rewards_via_http` sends it: one sample per request,
`{"query": [decoded prompt + response, special tokens kept], "prompts": [...], "labels": [...]}`.
The policy's trailing end-of-turn text (`<|im_end|>`) is stripped before scoring, so the reward
equals rewardkit's score of (prompt, response) with or without it."""

import httpx
import numpy as np
import pytest

from rewardkit.model import load_reward_model
from rewardkit.serve import ScoringModel, ServeConfig, create_app
from rewardkit.serve.background import BackgroundServer

SAMPLES = [("what is a good tea ?", "green tea is good ."), ("hello", "go away")]


@pytest.mark.parametrize("end", ["", "<|im_end|>", "<|im_end|>\n", "<|im_end|></s>[PAD]"])
def test_openrlhf_request_shape(tiny_bert_rm_dir, end):
    expected = (
        load_reward_model(tiny_bert_rm_dir)
        .score([p for p, _ in SAMPLES], [r for _, r in SAMPLES])
        .rewards
    )
    app = create_app(ScoringModel.load(str(tiny_bert_rm_dir)), ServeConfig())
    with BackgroundServer(app) as server, httpx.Client(timeout=60) as client:
        for (prompt, response), want in zip(SAMPLES, expected):
            body = {"query": [f"{prompt} {response}{end}"], "prompts": [prompt], "labels": [None]}
            data = client.post(server.url + "/get_reward", json=body).json()
            assert np.isclose(data["rewards"][0], want, atol=1e-5)
            assert data["scores"] == data["rewards"]
            assert data["extra_logs"]["stripped_chars"] == [float(len(end))]


def test_strip_suffix_none_scores_the_marker_as_text(tiny_bert_rm_dir):
    app = create_app(ScoringModel.load(str(tiny_bert_rm_dir)), ServeConfig(strip_suffix=["none"]))
    with BackgroundServer(app) as server:
        body = {"query": ["hello go away<|im_end|>", "hello go away"], "prompts": ["hello"] * 2}
        data = httpx.post(server.url + "/get_reward", json=body, timeout=60).json()
    assert data["extra_logs"]["stripped_chars"] == [0.0, 0.0]
    assert abs(data["rewards"][0] - data["rewards"][1]) > 1e-6
