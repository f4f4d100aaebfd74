"""Contract tests: the exact JSON shapes of every endpoint and of errors.

Clients (OpenRLHF's agent, the TRL adapter, dashboards) depend on these keys; a change here is
a breaking change and must be deliberate.
"""

import hashlib
import math
import shutil

import httpx
import numpy as np
import pytest
import torch

EXTRA_LOG_KEYS = {
    "raw_reward",
    "normalized_reward",
    "rewards_normalized",
    "prompt_split",
    "truncated",
    "tokens_removed",
    "stripped_chars",
}
SCORE_KEYS = {
    "model",
    "scores_are",
    "rewards",
    "normalized_rewards",
    "normalization",
    "truncated",
    "tokens_removed",
    "preference",
    "spread",
    "aggregate",
    "ood",
}
PREFERENCE_KEYS = {
    "p_a_over_b",
    "temperature",
    "calibration_exponent",
    "temperature_calibrated",
    "uncertainty",
    "uncertainty_kind",
    "spread",
    "probability_spread",
    "distance",
    "flagged",
}
INFO_KEYS = {
    "model",
    "backbone",
    "template",
    "max_length",
    "scoring",
    "normalization",
    "temperature",
    "calibration_exponent",
    "temperature_calibrated",
    "precision",
    "device",
    "fingerprint",
    "ensemble",
    "trust",
    "rewardkit_version",
    "get_reward_scores_are",
    "aggregate",
    "batching",
    "limits",
    "auth",
    "endpoints",
}

PROMPT = "what is a good tea ?"


def floats(values, n):
    return (
        isinstance(values, list) and len(values) == n and all(isinstance(v, float) for v in values)
    )


def test_get_reward_shape_is_openrlhf(bert_server):
    """OpenRLHF HEAD: {"rewards", "scores", "extra_logs"}; rewards == scores (raw by default);
    every extra_logs value is a list of numbers, one per query (OpenRLHF logs them)."""
    queries = [PROMPT + " green tea is good .", "hello world"]
    body = {"query": queries, "prompts": [PROMPT, "something else"], "labels": [None, "x"]}
    response = httpx.post(bert_server.url + "/get_reward", json=body)
    assert response.status_code == 200
    assert response.headers["x-rewardkit-scores"] == "raw"
    data = response.json()
    assert set(data) == {"rewards", "scores", "extra_logs"}
    assert floats(data["rewards"], 2) and data["scores"] == data["rewards"]
    assert set(data["extra_logs"]) == EXTRA_LOG_KEYS
    assert all(floats(v, 2) for v in data["extra_logs"].values())
    assert data["extra_logs"]["raw_reward"] == data["rewards"]
    assert data["extra_logs"]["prompt_split"] == [
        1.0,
        0.0,
    ]  # 2nd query does not start with its prompt
    assert data["extra_logs"]["rewards_normalized"] == [0.0, 0.0]


def test_get_reward_query_only(bert_server):
    """OpenRLHF's reference server reads only "query"; prompts and labels are optional."""
    data = httpx.post(bert_server.url + "/get_reward", json={"query": ["hello"]}).json()
    assert set(data) == {"rewards", "scores", "extra_logs"}
    assert data["extra_logs"]["prompt_split"] == [0.0]


def test_get_reward_normalized_server(start_server, bert_rm):
    """--normalize: rewards = scores = (raw − 0.25) / 2 (the fixture's normalization)."""
    server = start_server(bert_rm, normalize=True)
    response = httpx.post(server.url + "/get_reward", json={"query": ["hello"]})
    data = response.json()
    assert response.headers["x-rewardkit-scores"] == "normalized"
    raw = data["extra_logs"]["raw_reward"][0]
    assert data["rewards"][0] == pytest.approx((raw - 0.25) / 2.0, abs=1e-12)
    assert data["extra_logs"]["rewards_normalized"] == [1.0]


def test_score_two_responses_shape(bert_server):
    """{"prompt", "responses": [a, b]}: all SCORE_KEYS, scores_are "raw", and the preference
    P(a ≻ b) = σ((r_a − r_b) / T) with T = 1 (uncalibrated), its margin uncertainty
    1 − |2p − 1|; a single model without OOD statistics has no spread, distance or flag."""
    data = httpx.post(
        bert_server.url + "/score", json={"prompt": PROMPT, "responses": ["green tea .", "no"]}
    ).json()
    assert set(data) == SCORE_KEYS
    assert data["scores_are"] == "raw"
    assert floats(data["rewards"], 2) and floats(data["normalized_rewards"], 2)
    assert set(data["normalization"]) == {"mean", "std", "measured_on"}
    assert data["truncated"] == [False, False]
    assert set(data["preference"]) == PREFERENCE_KEYS
    assert data["preference"]["temperature"] == 1.0
    assert data["preference"]["calibration_exponent"] == 1.0
    assert data["preference"]["temperature_calibrated"] is False
    r_a, r_b = data["rewards"]
    p = 1 / (1 + math.exp(-(r_a - r_b)))
    assert data["preference"]["p_a_over_b"] == pytest.approx(p)
    assert data["preference"]["uncertainty"] == pytest.approx(1 - abs(2 * p - 1))
    assert data["preference"]["uncertainty_kind"] == "margin"
    for key in ("spread", "probability_spread", "distance", "flagged"):
        assert data["preference"][key] is None
    assert data["spread"] is None and data["ood"] is None


def test_a_stored_exponent_changes_the_served_probability(start_server, tiny_bert_rm_dir, tmp_path):
    """A copy of the model with T = |Δ|/4 and γ = 0.5 in its rewardkit.json, loaded and served
    through the one loader and scorer: p_a_over_b = σ(sign(Δ)·√4) = σ(±2), not the
    temperature's σ(±4), and the margin uncertainty follows it; /info states the exponent."""
    from rewardkit.model.sidecar import read_info, write_info
    from rewardkit.serve import ScoringModel

    body = {"prompt": PROMPT, "responses": ["green tea .", "no"]}
    plain = start_server(ScoringModel.load(str(tiny_bert_rm_dir)))
    r_a, r_b = httpx.post(plain.url + "/score", json=body).json()["rewards"]
    delta = r_a - r_b
    assert abs(delta) > 1e-3
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    info = read_info(model)
    info.temperature, info.calibration_exponent = abs(delta) / 4, 0.5
    write_info(model, info)
    server = start_server(ScoringModel.load(str(model)))
    data = httpx.post(server.url + "/score", json=body).json()
    preference = data["preference"]
    assert data["rewards"] == pytest.approx([r_a, r_b], abs=1e-6)
    assert preference["calibration_exponent"] == 0.5
    assert preference["temperature"] == pytest.approx(abs(delta) / 4)
    p = 1 / (1 + math.exp(-math.copysign(2.0, delta)))
    assert preference["p_a_over_b"] == pytest.approx(p, abs=1e-5)
    assert abs(p - 1 / (1 + math.exp(-math.copysign(4.0, delta)))) > 0.05  # γ mattered
    assert preference["uncertainty"] == pytest.approx(1 - abs(2 * p - 1), abs=1e-5)
    info = httpx.get(server.url + "/info").json()
    assert info["calibration_exponent"] == 0.5 and info["temperature_calibrated"] is True


def test_score_items_and_bare_list(bert_server):
    """The items form and a bare list of items give the same body; no preference for
    three texts."""
    items = [{"prompt": PROMPT, "response": r} for r in ("a", "b", "c")]
    by_key = httpx.post(bert_server.url + "/score", json={"items": items}).json()
    bare = httpx.post(bert_server.url + "/score", json=items).json()
    assert set(by_key) == SCORE_KEYS and by_key == bare
    assert by_key["preference"] is None and floats(by_key["rewards"], 3)


def test_score_chat_prompt(bert_server, bert_rm):
    messages = [{"role": "user", "content": PROMPT}]
    data = httpx.post(
        bert_server.url + "/score", json={"prompt": messages, "responses": ["green tea .", "no"]}
    ).json()
    assert data["rewards"] == pytest.approx(
        bert_rm.score(messages, ["green tea .", "no"]).tolist(), abs=1e-5
    )


def test_score_reports_ensemble_spread(start_server, fake_ensemble):
    """An ensemble's spread per text (here |r| / 10) is in /score, /get_reward's extra_logs
    and /info's ensemble block."""
    server = start_server(fake_ensemble)
    data = httpx.post(
        server.url + "/score", json={"prompt": PROMPT, "responses": ["a", "b"]}
    ).json()
    assert data["spread"] == pytest.approx([abs(r) / 10 for r in data["rewards"]])
    logs = httpx.post(server.url + "/get_reward", json={"query": ["a"]}).json()["extra_logs"]
    assert set(logs) == EXTRA_LOG_KEYS | {"ensemble_spread", "aggregate_mean"}
    assert httpx.get(server.url + "/info").json()["ensemble"] == {"members": 3}


def test_serves_a_heads_ensemble(start_server, served_heads_ensemble_dir):
    """A real heads ensemble (rewardkit.model.ensemble): rewards are the saved model's (its
    head is the heads' mean), spread the std of the 3 heads' rewards."""
    from rewardkit.model import RewardModel, load_reward_model
    from rewardkit.serve import ScoringModel

    responses = ["green tea .", "no", "tea and coffee"]
    scores = load_reward_model(served_heads_ensemble_dir).score(PROMPT, responses)
    mean, std = scores.members.mean(axis=0), scores.members.std(axis=0)
    saved_head = RewardModel.from_pretrained(served_heads_ensemble_dir).score(PROMPT, responses)
    assert np.allclose(mean, saved_head, atol=1e-5)
    server = start_server(ScoringModel.load(str(served_heads_ensemble_dir)))
    data = httpx.post(server.url + "/score", json={"prompt": PROMPT, "responses": responses}).json()
    assert data["rewards"] == pytest.approx(mean.tolist(), abs=1e-5)
    assert data["spread"] == pytest.approx(std.tolist(), abs=1e-5) and min(std) > 0
    assert httpx.get(server.url + "/info").json()["ensemble"] == {"members": 3}


def test_health_and_info(bert_server, tiny_bert_rm_dir):
    assert httpx.get(bert_server.url + "/health").json() == {"status": "ok"}
    info = httpx.get(bert_server.url + "/info").json()
    assert set(info) == INFO_KEYS
    assert info["max_length"] == 64 and info["precision"] == "fp32"
    assert info["scoring"]["left_padding"]["changes_scores"] is True  # BERT: absolute positions
    assert info["device"].startswith("cuda" if torch.cuda.is_available() else "cpu")
    assert info["normalization"]["mean"] == 0.25 and info["normalization"]["std"] == 2.0
    assert set(info["fingerprint"]) == {"training_data", "weights_sha256"}
    assert len(info["fingerprint"]["weights_sha256"]) == 64
    assert info["batching"]["enabled"] is True and info["auth"] is False
    assert info["limits"] == {"max_items": 256, "max_chars": 100_000}
    assert info["endpoints"] == ["POST /get_reward", "POST /score", "GET /health", "GET /info"]
    assert set(info["trust"]) == {"ood", "spread", "pair_uncertainty", "pair_flag"}
    assert info["trust"]["ood"]["distance_available"] is False  # saved without statistics


@pytest.mark.parametrize(
    "path, body, status, code, field",
    [
        ("/get_reward", {"query": ["a", 3]}, 422, "invalid_field", "query[1]"),
        ("/get_reward", {"prompts": ["a"]}, 422, "invalid_field", "query"),
        ("/get_reward", {"query": []}, 422, "invalid_field", "query"),
        ("/get_reward", {"query": ["a", "b"], "prompts": ["a"]}, 422, "invalid_field", "prompts"),
        ("/get_reward", ["a"], 422, "invalid_body", None),
        ("/score", {"prompt": "p", "response": "r"}, 422, "invalid_field", "responses"),
        (
            "/score",
            {"prompt": [{"role": "user"}], "responses": ["r"]},
            422,
            "invalid_field",
            "prompt[0].content",
        ),
        (
            "/score",
            {"items": [{"prompt": "p", "response": 1}]},
            422,
            "invalid_field",
            "items[0].response",
        ),
        ("/score", "just a string", 422, "invalid_body", None),
    ],
)
def test_error_shape_names_the_field(bert_server, path, body, status, code, field):
    response = httpx.post(bert_server.url + path, json=body)
    assert response.status_code == status
    data = response.json()
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "field"}
    assert data["error"]["code"] == code and data["error"]["field"] == field
    if field:
        assert field in data["error"]["message"]


def test_unknown_path_uses_the_error_shape(bert_server):
    response = httpx.get(bert_server.url + "/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def strings_in(value):
    """Every string (keys too) of a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_no_local_path_in_any_response(bert_server, tiny_bert_rm_dir, tiny_bert_dir):
    """Issue 18: /info and /score showed the absolute paths of the model folder and its
    backbone. They show base names; the weights' sha256 still fingerprints the folder."""
    info = httpx.get(bert_server.url + "/info").json()
    score = httpx.post(bert_server.url + "/score", json={"prompt": "p", "responses": ["r"]}).json()
    assert info["model"] == score["model"] == tiny_bert_rm_dir.name
    assert info["backbone"] == tiny_bert_dir.name
    assert len(info["fingerprint"]["weights_sha256"]) == 64
    for text in list(strings_in(info)) + list(strings_in(score)):
        assert not text.startswith(("/", "~")) and str(tiny_bert_rm_dir.parent) not in text, text


def test_name_option_names_the_model(start_server, tiny_bert_rm_dir):
    from rewardkit.serve import ScoringModel

    server = start_server(ScoringModel.load(str(tiny_bert_rm_dir)), name="helpfulness-v2")
    assert httpx.get(server.url + "/info").json()["model"] == "helpfulness-v2"
    score = httpx.post(server.url + "/score", json={"prompt": "p", "responses": ["r"]}).json()
    assert score["model"] == "helpfulness-v2"


def test_public_name():
    """Local folders by their base name, hub ids as they are."""
    from rewardkit.serve.scoring import public_name

    assert public_name("/home/alice/runs/rm/") == "rm"
    assert public_name("/a/m1,/b/m2") == "m1,m2"
    assert public_name("~/runs/rm") == "rm"
    assert public_name("OpenRLHF/Llama-3-8b-rm-700k") == "OpenRLHF/Llama-3-8b-rm-700k"


def test_members_given_as_a_list_have_a_weights_fingerprint(tiny_bert_rm_dir, tmp_path):
    """``DIR1,DIR2``: the sha256 of the members' weight hashes, in order (was null)."""
    from rewardkit.files import sha256_tree
    from rewardkit.serve import ScoringModel

    other = tmp_path / "other"
    shutil.copytree(tiny_bert_rm_dir, other)
    served = ScoringModel.load(f"{tiny_bert_rm_dir},{other}")
    one = sha256_tree(tiny_bert_rm_dir, "*.safetensors")
    assert served.weights_sha256() == hashlib.sha256(f"{one},{one}".encode()).hexdigest()
    assert served.describe()["fingerprint"]["weights_sha256"] == served.weights_sha256()
