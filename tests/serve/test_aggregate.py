"""Conservative ensemble rewards over HTTP: ``--aggregate min|uwo`` and the per-request
override equal the formulas on the members' normalized rewards (Coste et al. 2023), /info and
extra_logs say which, and a single model is refused."""

import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from rewardkit.errors import UserError
from rewardkit.model.loading import load_reward_model
from rewardkit.serve.scoring import ScoringModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal  # noqa: E402

PROMPT = "what is a good tea ?"
RESPONSES = ["green tea is good .", "no", "coffee and water , thanks"]


def expected(ensemble_dir, method, lam):
    """The formula by hand: members' raw rewards (K, N) → (r − mean)/std with the stored
    normalization → min over k, or mean − λ·var (ddof 0)."""
    scorer = load_reward_model(ensemble_dir)
    members = scorer.score(PROMPT, RESPONSES).members
    norm = scorer.primary.info.normalization
    z = (members - norm.mean) / norm.std
    if method == "min":
        return z.min(axis=0)
    return z.mean(axis=0) - lam * ((z - z.mean(axis=0)) ** 2).mean(axis=0)


@pytest.mark.parametrize("method,lam", [("min", 0.5), ("uwo", 0.5), ("uwo", 2.0)])
def test_served_aggregate_equals_the_formula(start_server, served_heads_ensemble_dir, method, lam):
    server = start_server(
        ScoringModel.load(str(served_heads_ensemble_dir)), aggregate=method, uwo_lambda=lam
    )
    want = expected(served_heads_ensemble_dir, method, lam)
    body = httpx.post(server.url + "/score", json={"prompt": PROMPT, "responses": RESPONSES})
    got = body.json()["aggregate"]
    assert got["method"] == method and got["units"] == "normalized"
    np.testing.assert_allclose(got["aggregated_rewards"], want, atol=1e-5)
    queries = [PROMPT + " " + r for r in RESPONSES]
    reward = httpx.post(
        server.url + "/get_reward", json={"query": queries, "prompts": [PROMPT] * 3}
    )
    data = reward.json()
    np.testing.assert_allclose(data["rewards"], want, atol=1e-5)
    np.testing.assert_allclose(data["extra_logs"][f"aggregate_{method}"], want, atol=1e-5)
    assert reward.headers["X-Rewardkit-Scores"] == f"normalized {method}"
    info = httpx.get(server.url + "/info").json()
    assert info["aggregate"]["method"] == method


def test_per_request_override_on_score(start_server, served_heads_ensemble_dir):
    server = start_server(ScoringModel.load(str(served_heads_ensemble_dir)))
    body = {"prompt": PROMPT, "responses": RESPONSES, "aggregate": "uwo", "uwo_lambda": 1.5}
    got = httpx.post(server.url + "/score", json=body).json()["aggregate"]
    assert got["method"] == "uwo" and got["uwo_lambda"] == 1.5
    want = expected(served_heads_ensemble_dir, "uwo", 1.5)
    np.testing.assert_allclose(got["aggregated_rewards"], want, atol=1e-5)
    bad = httpx.post(server.url + "/score", json={**body, "uwo_lambda": -1})
    assert bad.status_code == 422


def test_min_or_uwo_on_a_single_model_is_refused(start_server, tiny_bert_rm_dir):
    with pytest.raises(UserError, match="needs an ensemble"):
        start_server(ScoringModel.load(str(tiny_bert_rm_dir)), aggregate="min")
    server = start_server(ScoringModel.load(str(tiny_bert_rm_dir)))
    body = {"prompt": PROMPT, "responses": RESPONSES, "aggregate": "min"}
    response = httpx.post(server.url + "/score", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "aggregate_needs_ensemble"
    assert (
        httpx.post(server.url + "/score", json={"prompt": PROMPT, "responses": RESPONSES}).json()[
            "aggregate"
        ]
        is None
    )


def test_bon_and_label_pairs_refuse_min_on_a_single_model(tmp_path, tiny_bert_rm_dir):
    cands = tmp_path / "c.jsonl"
    cands.write_text('{"prompt": "p", "responses": ["a", "b"]}\n', encoding="utf-8")
    for verb in ("bon", "label-pairs"):
        line = refusal(
            [
                verb,
                "--model",
                tiny_bert_rm_dir,
                "--data",
                cands,
                "--out",
                tmp_path / "o.jsonl",
                "--aggregate",
                "uwo",
            ]
        )
        assert "--aggregate uwo needs an ensemble" in line
