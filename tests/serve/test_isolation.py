"""One request's failure is its own: requests batched with it get their rewards (issue 18)."""

import asyncio
import dataclasses
import sys
from pathlib import Path

import httpx
import numpy as np

from rewardkit.model import RewardModel
from rewardkit.model.scorer import Scorer
from rewardkit.serve import ScoringModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_reward_models import ALTERNATING_ONLY, with_chat_template  # noqa: E402

POISON_WORD = "zebra"  # one MiniLM token


class PoisonedScorer(Scorer):
    """The tiny BERT, except that a forward pass holding the token of POISON_WORD raises;
    records each forward's sequences."""

    def __init__(self, model):
        super().__init__([model])
        self.poison_id = model.tokenizer.convert_tokens_to_ids(POISON_WORD)
        self.calls: list[list[list[int]]] = []

    def score_ids(self, sequences, **kwargs):
        self.calls.append([list(s) for s in sequences])
        if any(self.poison_id in s for s in sequences):
            raise RuntimeError("poisoned text")
        return super().score_ids(sequences, **kwargs)


async def post_together(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(client.post(url, json=body) for body in bodies))


def alone(server, queries: list[str]) -> list[float]:
    """Each query's reward, sent on its own."""
    return [
        httpx.post(server.url + "/get_reward", json={"query": [q]}).json()["rewards"][0]
        for q in queries
    ]


def test_a_poisoned_text_fails_only_its_request(start_server, bert_rm):
    """Four requests gathered into one batch (200 ms wait), one holding the poisoned word:
    the shared forward fails, the poisoned request gets a JSON 500 and the three others 200
    with the rewards they get alone."""
    scorer = PoisonedScorer(bert_rm)
    server = start_server(scorer, max_wait_ms=200, min_fill=0)
    clean = ["green tea is good .", "hello", "cats and dogs"]
    expected = alone(server, clean)
    scorer.calls.clear()
    bodies = [{"query": [q]} for q in clean[:2]] + [{"query": [f"a {POISON_WORD}"]}]
    bodies.append({"query": [clean[2]]})
    responses = asyncio.run(post_together(server.url + "/get_reward", bodies))
    assert any(len(call) == 4 for call in scorer.calls)  # they did share a forward pass
    poisoned = responses[2]
    assert poisoned.status_code == 500
    assert poisoned.json()["error"]["code"] == "scoring_failed"
    assert "RuntimeError" in poisoned.json()["error"]["message"]
    got = [r.json()["rewards"][0] for r in responses[:2] + responses[3:]]
    assert [r.status_code for r in responses[:2] + responses[3:]] == [200, 200, 200]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_an_over_long_text_fails_alone(start_server, bert_rm):
    """Issue 18's reproducer: a folder whose max length exceeds the position embeddings
    (there, a plain HF folder read the tokenizer's limit). A 600-token query breaks BERT's
    forward (512 positions); short queries batched with it are still scored."""
    info = dataclasses.replace(bert_rm.info, max_length=1000)
    model = RewardModel(bert_rm.model, bert_rm.tokenizer, info)
    server = start_server(ScoringModel(Scorer([model])), max_wait_ms=200)
    expected = alone(server, ["hello", "green tea"])
    bodies = [{"query": ["hello"]}, {"query": ["tea " * 600]}, {"query": ["green tea"]}]
    responses = asyncio.run(post_together(server.url + "/get_reward", bodies))
    assert [r.status_code for r in responses] == [200, 500, 200]
    assert responses[1].json()["error"]["code"] == "scoring_failed"
    got = [responses[0].json()["rewards"][0], responses[2].json()["rewards"][0]]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_texts_are_checked_against_the_model_before_batching(start_server, bert_rm):
    """A text the model cannot take (here: token ids past the embedding table, as when a
    tokenizer has more tokens than the weights) is a 422 naming it; it never reaches a
    forward pass."""
    scorer = PoisonedScorer(bert_rm)
    server = start_server(scorer)
    scoring_model = server.app.state.server.scorer
    scoring_model.vocabulary_rows = scorer.poison_id  # "a" (1037) is in, the poison is out
    response = httpx.post(server.url + "/get_reward", json={"query": ["a", POISON_WORD]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "token_outside_vocabulary"
    assert response.json()["error"]["field"] == "query[1]"
    assert scorer.calls == []


def test_a_prompt_the_chat_template_refuses_is_a_422(start_server, tiny_bert_rm_dir, tmp_path):
    """A model whose chat template checks the turns (user/assistant must alternate): a
    prompt it refuses is a JSON 422 naming that prompt, and the next request is scored."""
    model = with_chat_template(tiny_bert_rm_dir, tmp_path / "model", ALTERNATING_ONLY)
    server = start_server(ScoringModel.load(str(model)))
    good = [{"role": "user", "content": "tea?"}]
    bad = good + [{"role": "user", "content": "well?"}]
    items = [{"prompt": good, "response": "green"}, {"prompt": bad, "response": "green"}]
    response = httpx.post(server.url + "/score", json={"items": items})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "chat_template_refused" and error["field"] == "items[1].prompt"
    assert "roles must alternate user/assistant" in error["message"]
    ok = httpx.post(server.url + "/score", json={"items": items[:1]})
    assert ok.status_code == 200 and len(ok.json()["rewards"]) == 1
