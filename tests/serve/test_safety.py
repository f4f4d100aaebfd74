"""Safety: loopback by default, bearer token, size limits, malformed JSON, graceful shutdown."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from rewardkit.errors import UserError
from rewardkit.model.scorer import Scorer
from rewardkit.model.scores import Scores
from rewardkit.serve import ServeConfig
from rewardkit.serve.config import read_token_file
from rewardkit.serve.scoring import ScoringModel

TOKEN = "s3cret-token"


def test_binds_loopback_by_default():
    config = ServeConfig(model="m")
    assert config.host == "127.0.0.1" and config.is_loopback
    assert not ServeConfig(host="0.0.0.0").is_loopback
    assert ServeConfig(host="::1").is_loopback and ServeConfig(host="localhost").is_loopback


@pytest.fixture
def locked_server(start_server, bert_rm):
    return start_server(bert_rm, token=TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": "Basic " + TOKEN},
    ],
)
@pytest.mark.parametrize(
    "method, path", [("POST", "/get_reward"), ("POST", "/score"), ("GET", "/info")]
)
def test_without_the_token_401(locked_server, headers, method, path):
    response = httpx.request(
        method, locked_server.url + path, headers=headers, json={"query": ["hello"]}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


def test_with_the_token_200_and_health_open(locked_server):
    ok = httpx.post(
        locked_server.url + "/get_reward",
        json={"query": ["hello"]},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ok.status_code == 200 and len(ok.json()["rewards"]) == 1
    assert httpx.get(locked_server.url + "/health").status_code == 200  # liveness probes


def test_token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    assert read_token_file(str(path)) == TOKEN
    path.write_text("  \n")
    with pytest.raises(UserError, match="one token"):
        read_token_file(str(path))
    with pytest.raises(UserError, match="not found"):
        read_token_file(str(tmp_path / "missing"))


@pytest.fixture
def small_limits_server(start_server, bert_rm):
    return start_server(bert_rm, max_items=3, max_chars=20)


@pytest.mark.parametrize(
    "path, body, code, field",
    [
        ("/get_reward", {"query": ["a"] * 4}, "too_many_items", "query"),
        ("/get_reward", {"query": ["a", "b" * 21]}, "text_too_long", "query[1]"),
        ("/get_reward", {"query": ["a"], "prompts": ["p" * 21]}, "text_too_long", "prompts[0]"),
        ("/score", {"prompt": "p", "responses": ["r"] * 4}, "too_many_items", "responses"),
        ("/score", {"prompt": "p" * 21, "responses": ["r"]}, "text_too_long", "prompt"),
        (
            "/score",
            {"items": [{"prompt": "p", "response": "r" * 21}]},
            "text_too_long",
            "items[0].response",
        ),
    ],
)
def test_oversized_requests_413(small_limits_server, path, body, code, field):
    response = httpx.post(small_limits_server.url + path, json=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_oversized_body_413_before_parsing(small_limits_server):
    """A body over max_items × (6 × max_chars + 64) + 64 KiB is refused unread."""
    response = httpx.post(
        small_limits_server.url + "/get_reward",
        content=b'{"query": ["' + b"a" * 200_000 + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_response_longer_than_max_length_is_cut_and_reported(bert_server):
    """max_length is 64 tokens; by default (--overlong truncate, as RewardBench and TRL do) a
    response longer than that is scored on its first tokens and the cut is reported."""
    response = httpx.post(
        bert_server.url + "/score", json={"prompt": "p", "responses": ["ok", "tea " * 100]}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["truncated"] == [False, True]
    assert data["tokens_removed"][0] == 0 and data["tokens_removed"][1] > 30


def test_response_longer_than_max_length_422_with_overlong_error(start_server, tiny_bert_rm_dir):
    """--overlong error: a response alone longer than max_length is refused, naming it."""
    server = start_server(ScoringModel.load(str(tiny_bert_rm_dir)), overlong="error")
    response = httpx.post(
        server.url + "/score", json={"prompt": "p", "responses": ["ok", "tea " * 100]}
    )
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "response_too_long",
        "field": "responses[1]",
        "message": "'responses[1]' alone is longer than the model's max_length 64 tokens "
        "(the server runs with --overlong error)",
    }


@pytest.mark.parametrize("content", [b'{"query": ["a",]}', b"not json", b"", b"\xff\xfe"])
def test_malformed_json_422(bert_server, content):
    response = httpx.post(
        bert_server.url + "/get_reward",
        content=content,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_json"
    assert response.json()["error"]["message"].startswith("the body is not valid JSON")


def post_raw(server, path, content: bytes, content_type="application/json"):
    return httpx.post(server.url + path, content=content, headers={"content-type": content_type})


def assert_json_error(response, status: int, code: str, field=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"], "field": field}
    }


@pytest.mark.parametrize("path", ["/get_reward", "/score"])
def test_deep_nesting_is_a_json_422(bert_server, path):
    """Issue 18: a body nested 5,000 levels was a plain-text 500 (json.loads' RecursionError)."""
    body = b'{"query": ["a"], "labels": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_json_error(post_raw(bert_server, path, body), 422, "too_deep")


def test_huge_integer_in_labels_is_a_json_422(bert_server):
    """Issue 18: a 5,001-digit integer in labels was a plain-text 500 (int's digit limit)."""
    body = b'{"query": ["a"], "labels": [' + b"9" * 5001 + b"]}"
    response = post_raw(bert_server, "/get_reward", body)
    assert_json_error(response, 422, "number_too_long")
    assert "5001 digits" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/get_reward", {"query": ["a \ud800"]}, "query[0]"),
        ("/get_reward", {"query": ["a b"], "prompts": ["a \udfff"]}, "prompts[0]"),
        ("/score", {"prompt": "p", "responses": ["ok", "a \ud800"]}, "responses[1]"),
        (
            "/score",
            {"prompt": [{"role": "user", "content": "\ud800"}], "responses": ["r"]},
            "prompt[0].content",
        ),
        ("/score", [{"prompt": "\udbff", "response": "r"}], "[0].prompt"),  # the raw body's
    ],
)
def test_lone_surrogate_is_a_json_422_naming_the_field(bert_server, path, body, field):
    """Issue 18: "a \\ud800" is valid JSON but not text; it reached the tokenizer (a 500)."""
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as an escape
    assert rb"\ud" in raw
    assert_json_error(post_raw(bert_server, path, raw), 422, "invalid_unicode", field)


@pytest.mark.parametrize(
    "prompt, field",
    [
        ([], "prompt"),
        ([{"role": "bot", "content": "hi"}], "prompt[0].role"),
        ([{"role": "", "content": "hi"}], "prompt[0].role"),
        ([{"role": "user", "content": "hi"}, {"role": "tool", "content": "42"}], "prompt[1].role"),
    ],
)
def test_empty_or_unknown_chat_roles_are_refused(bert_server, prompt, field):
    """Issue 18: the server took "prompt": [] and any role, which the data readers refuse;
    both follow rewardkit.data.records.CHAT_ROLES."""
    for body in (
        {"prompt": prompt, "responses": ["r"]},
        {"items": [{"prompt": prompt, "response": "r"}]},
    ):
        response = httpx.post(bert_server.url + "/score", json=body)
        where = field if "responses" in body else "items[0]." + field
        assert_json_error(response, 422, "invalid_field", where)
    if prompt:
        assert "'system', 'user' or 'assistant'" in response.json()["error"]["message"]


def test_every_chat_role_is_accepted(bert_server):
    from rewardkit.data.records import CHAT_ROLES

    prompt = [{"role": role, "content": f"a {role} says hi"} for role in CHAT_ROLES]
    response = httpx.post(bert_server.url + "/score", json={"prompt": prompt, "responses": ["r"]})
    assert response.status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(bert_server, content_type):
    response = post_raw(bert_server, "/get_reward", b'{"query": ["a"]}', content_type)
    assert_json_error(response, 415, "unsupported_media_type")
    no_header = httpx.post(bert_server.url + "/get_reward", content=b'{"query": ["a"]}')
    assert no_header.status_code == 200  # no Content-Type at all is read as JSON


def test_wrong_method_is_a_json_405_with_allow(bert_server):
    response = httpx.get(bert_server.url + "/get_reward")
    assert_json_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_a_bug_is_a_json_500_for_that_request_only(start_server, bert_rm, monkeypatch):
    """An exception the server does not expect (here: encoding raises) is still a JSON body,
    and the server keeps answering."""
    from rewardkit.serve import ScoringModel

    server = start_server(bert_rm)
    monkeypatch.setattr(ScoringModel, "encode_query", _explode)
    assert_json_error(
        httpx.post(server.url + "/get_reward", json={"query": ["a"]}), 500, "internal_error"
    )
    monkeypatch.undo()
    assert httpx.post(server.url + "/get_reward", json={"query": ["a"]}).status_code == 200


def _explode(*args, **kwargs):
    raise RuntimeError("a bug")


class SlowModel(Scorer):
    """A fake scorer whose forward takes 0.6 s (so a shutdown lands mid-request)."""

    def __init__(self, model):
        super().__init__([model])
        self.started = threading.Event()

    def score_ids(self, sequences, **kwargs):
        self.started.set()
        time.sleep(0.6)
        rewards = np.arange(len(sequences), dtype=np.float64)
        return Scores(rewards, rewards[None, :])


def test_graceful_shutdown_finishes_requests_in_flight(start_server, bert_rm):
    """Stop the server (what SIGTERM does) while a request is being scored: it still gets its
    200 and its rewards; afterwards the server is gone."""
    model = SlowModel(bert_rm)
    server = start_server(model)
    result = {}

    def call():
        result["response"] = httpx.post(
            server.url + "/get_reward", json={"query": ["a", "b"]}, timeout=30
        )

    client = threading.Thread(target=call)
    client.start()
    assert model.started.wait(10)
    server.stop()
    client.join(30)
    assert result["response"].status_code == 200
    assert result["response"].json()["rewards"] == [0.0, 1.0]
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=2)


def test_cli_serve_runs_and_stops_on_sigterm(tiny_bert_rm_dir, tmp_path):
    """`rewardkit serve MODEL --port 0 --token-file F`: prints its URL, enforces the token,
    answers OpenRLHF's request; SIGTERM runs the app's shutdown (the batcher drains) before
    the process ends with status 0 (uvicorn re-raises the signal it handled; the command
    ignores that re-raise)."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardkit",
            "serve",
            str(tiny_bert_rm_dir),
            "--port",
            "0",
            "--token-file",
            str(token_file),
            "--log-level",
            "info",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "serving" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
        assert "http://127.0.0.1:" in line, line
        url = line.split(" on ")[1].split(" ")[0]
        for _ in range(100):  # uvicorn starts right after the line is printed
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.post(url + "/get_reward", json={"query": ["hi"]}).status_code == 401
        ok = httpx.post(
            url + "/get_reward",
            json={"query": ["hi"]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert ok.status_code == 200 and set(ok.json()) == {"rewards", "scores", "extra_logs"}
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    assert "Application shutdown complete" in rest
    assert proc.returncode == 0, rest  # a clean shutdown, not death by the re-raised signal


def test_cli_serve_without_model_is_one_line_error():
    from typer.testing import CliRunner

    from rewardkit.cli import app

    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: MODEL_DIR is required: rewardkit serve runs/rm"
