"""Property-based fuzzing of the reward server (issue 18).

Every malformed request — to ``/get_reward``, ``/score`` in its three shapes, ``/info`` and
``/health``; wrong types, missing fields, huge integers, deep nesting, lone surrogates, empty or
unknown chat roles, too many or too long texts, oversized bodies, random bytes, wrong methods,
paths and content types, bad tokens — gets its 4xx with the JSON error
``{"error": {"code", "message", "field"}}``: never a 5xx, never a body that is not JSON. Valid
requests with random texts get 200 and their rewards, also when they share a micro-batch with
invalid ones.

Each malformed case starts from a valid body and gets exactly one defect, so the status it
must get is known (the server checks the token, then the body's size, JSON, shape, limits).
Hypothesis runs derandomized (the same examples every run) without an example database, sized
to run in seconds on two cores; ``SENT`` counts the requests (docs/serving.md quotes the total).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardkit.data.records import CHAT_ROLES
from rewardkit.serve import ScoringModel, ServeConfig, create_app
from rewardkit.serve.background import BackgroundServer

TOKEN = "fuzz-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_ITEMS, MAX_CHARS = 4, 200
LIMITS = {"max_items": MAX_ITEMS, "max_chars": MAX_CHARS}
BODY_LIMIT = MAX_ITEMS * (6 * MAX_CHARS + 64) + (1 << 16)  # RewardServer.body_limit
ALLOWED = {"/get_reward": "POST", "/score": "POST", "/info": "GET", "/health": "GET"}
SENT: Counter = Counter()  # requests sent, by test


def fuzz(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@dataclass
class Case:
    """One request and the status it must get."""

    path: str
    content: bytes | None
    status: int
    method: str = "POST"
    headers: dict = field(default_factory=lambda: {"content-type": "application/json", **AUTH})


RAW = "\x00raw json\x00"  # stands for a fragment json.dumps cannot write (deep, huge)


def encode(body, raw: str | None = None) -> bytes:
    text = json.dumps(body)  # ensure_ascii: a lone surrogate travels as a \\udXXX escape
    return (text.replace(json.dumps(RAW), raw) if raw is not None else text).encode()


# ---------------------------------------------------------------------- valid bodies
texts = st.text(max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
messages = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(CHAT_ROLES), "content": texts}),
    min_size=1,
    max_size=3,
)
prompts = texts | messages
items = st.lists(
    st.fixed_dictionaries({"prompt": prompts, "response": texts}), min_size=1, max_size=MAX_ITEMS
)


@st.composite
def get_reward_bodies(draw) -> dict:
    query = draw(st.lists(texts, min_size=1, max_size=MAX_ITEMS))
    body = {"query": query}
    if draw(st.booleans()):
        body["prompts"] = draw(st.lists(texts, min_size=len(query), max_size=len(query)))
    if draw(st.booleans()):
        body["labels"] = draw(st.lists(json_values, max_size=len(query)))
    return body


score_bodies = st.one_of(
    st.fixed_dictionaries(
        {"prompt": prompts, "responses": st.lists(texts, min_size=1, max_size=MAX_ITEMS)}
    ),
    st.fixed_dictionaries({"items": items}),
    items,  # the bare list
)


def text_slots(body, *, scored_only: bool) -> list[tuple]:
    """``(container, key)`` of every string value in ``body`` (``scored_only``: the texts the
    server scores, not labels or roles)."""
    slots, stack = [], [body]
    while stack:
        value = stack.pop()
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if scored_only and key in ("labels", "role"):
                continue
            if isinstance(item, str):
                slots.append((value, key))
            elif isinstance(item, (dict, list)):
                stack.append(item)
    return slots


def item_lists(body) -> list[list]:
    """The lists whose length ``--max-items`` bounds."""
    if isinstance(body, list):
        return [body]
    return [body[key] for key in ("query", "responses", "items") if key in body]


# ---------------------------------------------------------------------- one defect each
def defect_in_any_body(draw, body, path: str) -> Case:
    """Defects every body shape can have: a lone surrogate, a huge integer, deep nesting,
    too many or too long texts, cut-off JSON, a body of another JSON type."""
    kind = draw(st.sampled_from(["surrogate", "huge", "deep", "many", "long", "cut", "type"]))
    slots = text_slots(body, scored_only=kind == "long")
    container, key = draw(st.sampled_from(slots))
    if kind == "surrogate":
        text, at = container[key], draw(st.integers(0, len(container[key])))
        surrogate = chr(draw(st.integers(0xD800, 0xDFFF)))
        container[key] = text[:at] + surrogate + text[at:]
        return Case(path, encode(body), 422)
    if kind in ("huge", "deep"):
        digits, depth = draw(st.integers(4301, 6000)), draw(st.integers(65, 6000))
        raw = "9" * digits if kind == "huge" else "[" * depth + "]" * depth
        container[key] = RAW
        return Case(path, encode(body, raw), 422)
    if kind == "many":
        listed = draw(st.sampled_from(item_lists(body)))
        listed.extend([listed[0]] * draw(st.integers(MAX_ITEMS + 1 - len(listed), MAX_ITEMS)))
        return Case(path, encode(body), 413)
    if kind == "long":
        container[key] = draw(st.text(min_size=MAX_CHARS + 1, max_size=MAX_CHARS + 40))
        return Case(path, encode(body), 413)
    if kind == "cut":
        content = encode(body)
        return Case(path, content[: draw(st.integers(0, len(content) - 1))], 422)
    other = json_values.filter(lambda v: not isinstance(v, (dict, list)))
    return Case(path, encode(draw(other)), 422)


@st.composite
def bad_get_reward(draw) -> Case:
    body = draw(get_reward_bodies())
    query = body["query"]
    kind = draw(st.sampled_from(["any", "no query", "query", "element", "prompts", "labels"]))
    if kind == "any":
        return defect_in_any_body(draw, body, "/get_reward")
    if kind == "no query":
        del body["query"]
    elif kind == "query":  # not a list of texts, or an empty one
        body["query"] = draw(json_values.filter(lambda v: not isinstance(v, list)) | st.just([]))
    elif kind == "element":
        query[draw(st.integers(0, len(query) - 1))] = draw(
            json_values.filter(lambda v: not isinstance(v, str))
        )
    elif kind == "prompts":  # another type, a non-text element, or one prompt too many
        body["prompts"] = draw(
            json_values.filter(lambda v: v is not None and not isinstance(v, list))
            | st.lists(json_values.filter(lambda v: not isinstance(v, str)), min_size=1)
            | st.lists(texts, min_size=len(query) + 1, max_size=len(query) + 1)
        )
    else:
        body["labels"] = draw(
            json_values.filter(lambda v: v is not None and not isinstance(v, list))
        )
    return Case("/get_reward", encode(body), 422)


bad_messages = st.one_of(
    json_values.filter(lambda v: not isinstance(v, dict)),  # not a message
    st.fixed_dictionaries({"content": texts}),  # no role
    st.fixed_dictionaries({"role": st.sampled_from(CHAT_ROLES)}),  # no content
    st.fixed_dictionaries(  # an unknown or empty role
        {"role": texts.filter(lambda r: r not in CHAT_ROLES), "content": texts}
    ),
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(CHAT_ROLES),
            "content": json_values.filter(lambda v: not isinstance(v, str)),
        }
    ),
    st.fixed_dictionaries(  # a key a message does not have
        {"role": st.sampled_from(CHAT_ROLES), "content": texts, "name": texts}
    ),
)


@st.composite
def bad_prompts(draw):
    """A prompt that is neither text nor a non-empty list of valid messages."""
    kind = draw(st.sampled_from(["type", "empty", "message"]))
    if kind == "type":
        return draw(json_values.filter(lambda v: not isinstance(v, (str, list))))
    if kind == "empty":
        return []
    good = draw(messages)
    good.insert(draw(st.integers(0, len(good))), draw(bad_messages))
    return good


@st.composite
def bad_score(draw) -> Case:
    body = draw(score_bodies)
    kind = draw(st.sampled_from(["any", "prompt", "missing", "extra", "list"]))
    if kind == "any":
        return defect_in_any_body(draw, body, "/score")
    entries = body if isinstance(body, list) else body.get("items", [body])
    entry = draw(st.sampled_from(entries))  # one item, or the {"prompt", "responses"} body
    if kind == "prompt":
        entry["prompt"] = draw(bad_prompts())
    elif kind == "missing":
        del entry[draw(st.sampled_from(sorted(entry)))]
    elif kind == "extra":
        entry[draw(texts.filter(lambda k: k not in entry))] = draw(json_values)
    elif isinstance(body, list) or "items" in body:  # items: not a list of items, or empty
        items_value = json_values.filter(lambda v: not isinstance(v, list)) | st.just([])
        bad = draw(
            items_value
            | st.lists(json_values.filter(lambda v: not isinstance(v, dict)), min_size=1)
        )
        body = bad if isinstance(body, list) and isinstance(bad, list) else {"items": bad}
    else:  # responses: not a list of texts, or empty
        body["responses"] = draw(
            json_values.filter(lambda v: not isinstance(v, list))
            | st.just([])
            | st.lists(json_values.filter(lambda v: not isinstance(v, str)), min_size=1)
        )
    return Case("/score", encode(body), 422)


bad_tokens = st.one_of(
    st.just({}),
    st.just({"Authorization": TOKEN}),  # no scheme
    st.just({"Authorization": f"Basic {TOKEN}"}),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)
    .filter(lambda t: t != TOKEN)
    .map(lambda t: {"Authorization": f"Bearer {t}"}),
)
NOT_JSON_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]


@st.composite
def bad_transport(draw) -> Case:
    """Defects of the request around the body: bytes, size, content type, method, path,
    token."""
    path = draw(st.sampled_from(sorted(ALLOWED)))
    body_path = draw(st.sampled_from(["/get_reward", "/score"]))
    valid = encode(draw(get_reward_bodies() if body_path == "/get_reward" else score_bodies))
    kind = draw(st.sampled_from(["bytes", "size", "type", "method", "path", "token"]))
    if kind == "bytes":
        return Case(body_path, draw(st.binary(max_size=64)), 422)
    if kind == "size":
        padding = " " * draw(st.integers(BODY_LIMIT - len(valid) + 1, BODY_LIMIT + 4096))
        return Case(body_path, valid + padding.encode(), 413)
    if kind == "type":
        media = draw(st.sampled_from(NOT_JSON_TYPES))
        return Case(body_path, valid, 415, headers={"content-type": media, **AUTH})
    if kind == "method":
        method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]))
        if method == ALLOWED[path]:
            method = "DELETE"
        return Case(path, valid if method != "GET" else None, 405, method)
    if kind == "path":
        name = draw(st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1))
        path = "/" + name if "/" + name not in ALLOWED else "/x" + name
        return Case(path, valid, 404, draw(st.sampled_from(["GET", "POST"])))
    path = draw(st.sampled_from(["/get_reward", "/score", "/info"]))
    method = ALLOWED[path]
    headers = {"content-type": "application/json", **draw(bad_tokens)}
    return Case(path, valid if method == "POST" else None, 401, method, headers)


# ---------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def client(tiny_bert_rm_dir):
    """The tiny BERT behind a token, with small limits, in-process (TestClient: no network);
    a 500 comes back as a response (raise_server_exceptions=False) for the assertion to see."""
    model = ScoringModel.load(str(tiny_bert_rm_dir))
    app = create_app(model, ServeConfig(max_wait_ms=0, **LIMITS), token=TOKEN)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    print(f"\nfuzz requests sent: {dict(SENT)}, total {sum(SENT.values())}")


def send(client, case: Case, test: str) -> httpx.Response:
    SENT[test] += 1
    return client.request(case.method, case.path, content=case.content, headers=case.headers)


def assert_json_error(response: httpx.Response, case: Case) -> None:
    assert response.status_code == case.status, (case, response.text)
    assert response.headers["content-type"] == "application/json", (case, response.text)
    data = response.json()
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "field"}, data
    error = data["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["field"] is None or isinstance(error["field"], str)


@fuzz(250)
@given(case=bad_get_reward())
def test_malformed_get_reward_is_a_json_4xx(client, case):
    assert_json_error(send(client, case, "get_reward"), case)


@fuzz(250)
@given(case=bad_score())
def test_malformed_score_is_a_json_4xx(client, case):
    """All three /score shapes: {"prompt", "responses"}, {"items"}, and the bare list."""
    assert_json_error(send(client, case, "score"), case)


@fuzz(250)
@given(case=bad_transport())
def test_malformed_transport_is_a_json_4xx(client, case):
    """Random bytes, oversized bodies, non-JSON content types, wrong methods and paths, bad
    tokens, on every endpoint (/health only takes GET; /info needs the token)."""
    assert_json_error(send(client, case, "transport"), case)


@fuzz(40)
@given(path=st.sampled_from(["/get_reward", "/score"]), data=st.data())
def test_valid_random_texts_get_their_rewards(client, path, data):
    """Any valid body, texts drawn from all of Unicode (bar surrogates): 200 and one finite
    reward per text."""
    body = data.draw(get_reward_bodies() if path == "/get_reward" else score_bodies)
    case = Case(path, encode(body), 200)
    response = send(client, case, "valid")
    assert response.status_code == 200, (case, response.text)
    rewards = response.json()["rewards"]
    assert len(rewards) == (len(body["query"]) if path == "/get_reward" else item_count(body))
    assert all(isinstance(r, float) and math.isfinite(r) for r in rewards)


def item_count(body) -> int:
    if isinstance(body, list):
        return len(body)
    return len(body["items"]) if "items" in body else len(body["responses"])


def test_health_is_open_and_info_needs_the_token(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/info").status_code == 401
    assert client.get("/info", headers=AUTH).json()["auth"] is True


# ---------------------------------------------------------------------- shared batches
VALID = [
    ("/get_reward", {"query": ["green tea is good ."]}),
    ("/get_reward", {"query": ["hello", "cats and dogs"], "prompts": ["hello", "cats"]}),
    ("/score", {"prompt": "what is a good tea ?", "responses": ["green tea .", "no"]}),
    ("/score", [{"prompt": [{"role": "user", "content": "hi"}], "response": "hello !"}]),
]


@pytest.fixture(scope="module")
def batching_server(tiny_bert_rm_dir):
    """A real server (uvicorn in a thread) that waits 30 ms to gather a batch, and the rewards
    of each VALID request sent alone."""
    model = ScoringModel.load(str(tiny_bert_rm_dir))
    app = create_app(model, ServeConfig(max_wait_ms=30, min_fill=0, **LIMITS), token=TOKEN)
    with BackgroundServer(app) as server:
        alone = [
            httpx.post(server.url + path, json=body, headers=AUTH).json()["rewards"]
            for path, body in VALID
        ]
        yield server, alone


async def send_together(url: str, cases: list[Case]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await asyncio.gather(
            *(client.request(c.method, c.path, content=c.content, headers=c.headers) for c in cases)
        )


@fuzz(20)
@given(
    invalid=st.lists(bad_get_reward() | bad_score() | bad_transport(), min_size=1, max_size=4),
    order=st.permutations(range(len(VALID) + 4)),
)
def test_valid_requests_batched_with_invalid_ones_get_their_rewards(
    batching_server, invalid, order
):
    """The VALID requests and malformed ones, sent at once in a drawn order (one 30 ms
    batch): each valid request gets 200 and the rewards it gets alone (1e-5), each malformed
    one its JSON 4xx."""
    server, alone = batching_server
    cases = [Case(path, encode(body), 200) for path, body in VALID] + invalid
    ordered = [cases[i] for i in order if i < len(cases)]
    SENT["batched"] += len(ordered)
    responses = dict(zip(map(id, ordered), asyncio.run(send_together(server.url, ordered))))
    for case, expected in zip(cases, alone):
        response = responses[id(case)]
        assert response.status_code == 200, (case, response.text)
        np.testing.assert_allclose(response.json()["rewards"], expected, rtol=0, atol=1e-5)
    for case in invalid:
        assert_json_error(responses[id(case)], case)
