"""The TRL adapter: TRL's reward_funcs signature, one float per completion, plain and
conversational data, and the same numbers in-process, over HTTP and from the server's /score."""

import httpx
import numpy as np
import pytest

from rewardkit.integrations.trl import reward_function, to_prompt_response
from rewardkit.model import RewardModel
from rewardkit.serve import ScoringModel, ServeConfig, create_app
from rewardkit.serve.background import BackgroundServer

PLAIN_PROMPTS = ["what is a good tea ?", "what is a good tea ?", "how are you ?"]
PLAIN_COMPLETIONS = ["green tea is good .", " no", "good thanks"]
CHAT_PROMPTS = [
    [{"role": "system", "content": "be good"}, {"role": "user", "content": "what is a good tea ?"}]
] * 2
CHAT_COMPLETIONS = [
    [{"role": "assistant", "content": "green tea is good ."}],
    [{"role": "assistant", "content": "no"}],
]


@pytest.fixture(scope="module", params=["tiny_bert_rm_dir", "tiny_llama_chat_rm_dir"])
def model_dir(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def server(model_dir):
    with BackgroundServer(create_app(ScoringModel.load(str(model_dir)), ServeConfig())) as s:
        yield s


def trl_call(func, prompts, completions):
    """How GRPOTrainer calls a reward function: keyword arguments plus dataset columns."""
    return func(
        prompts=prompts,
        completions=completions,
        completion_ids=[[1, 2]] * len(completions),
        trainer_state=None,
        solution=["x"] * len(completions),
    )


def test_plain_one_float_per_completion(model_dir):
    rewards = trl_call(reward_function(str(model_dir)), PLAIN_PROMPTS, PLAIN_COMPLETIONS)
    assert len(rewards) == 3 and all(type(r) is float for r in rewards)
    model = RewardModel.from_pretrained(model_dir)
    # " no" loses the space the text template puts back: prompt + " " + "no"
    expected = model.score(PLAIN_PROMPTS, ["green tea is good .", "no", "good thanks"])
    np.testing.assert_allclose(rewards, expected, rtol=0, atol=1e-5)


def test_conversational_uses_the_chat_template(model_dir):
    rewards = trl_call(reward_function(str(model_dir)), CHAT_PROMPTS, CHAT_COMPLETIONS)
    model = RewardModel.from_pretrained(model_dir)
    expected = model.score(CHAT_PROMPTS[0], ["green tea is good .", "no"])
    np.testing.assert_allclose(rewards, expected, rtol=0, atol=1e-5)
    assert rewards[0] != rewards[1]


def test_url_matches_local_and_server(model_dir, server):
    """reward_function(URL) == reward_function(DIR) == the server's own /score rewards."""
    local, remote = reward_function(str(model_dir)), reward_function(server.url)
    for prompts, completions in (
        (PLAIN_PROMPTS, PLAIN_COMPLETIONS),
        (CHAT_PROMPTS, CHAT_COMPLETIONS),
    ):
        via_http = trl_call(remote, prompts, completions)
        np.testing.assert_allclose(
            via_http, trl_call(local, prompts, completions), rtol=0, atol=1e-5
        )
        items = [
            dict(zip(("prompt", "response"), to_prompt_response(p, c)))
            for p, c in zip(prompts, completions)
        ]
        served = httpx.post(server.url + "/score", json={"items": items}).json()["rewards"]
        np.testing.assert_allclose(via_http, served, rtol=0, atol=1e-5)


def test_normalized_and_name(tiny_bert_rm_dir):
    raw = reward_function(str(tiny_bert_rm_dir))(PLAIN_PROMPTS, PLAIN_COMPLETIONS)
    func = reward_function(str(tiny_bert_rm_dir), normalized=True, name="helpfulness")
    assert func.__name__ == "helpfulness"  # TRL logs rewards under the function's name
    np.testing.assert_allclose(
        func(PLAIN_PROMPTS, PLAIN_COMPLETIONS), (np.array(raw) - 0.25) / 2.0, rtol=0, atol=1e-9
    )
    assert func([], []) == []


def test_multi_message_completion_extends_the_prompt():
    prompt = [{"role": "user", "content": "hi"}]
    completion = [
        {"role": "assistant", "content": "let me look", "tool_calls": []},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": [{"type": "text", "text": "it is 42"}]},
    ]
    got_prompt, response = to_prompt_response(prompt, completion)
    assert response == "it is 42"
    assert got_prompt == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "let me look"},
        {"role": "tool", "content": "42"},
    ]


def test_mismatched_lengths_raise(tiny_bert_rm_dir):
    with pytest.raises(ValueError, match="2 prompts for 1 completions"):
        reward_function(str(tiny_bert_rm_dir))(["a", "b"], ["c"])


class TrlLogs:
    """What GRPOTrainer hands a reward function to log with (TRL 1.x ``log_extra`` and
    ``log_metric``), recording the calls."""

    def __init__(self):
        self.columns, self.metrics = {}, {}

    def log_extra(self, column, values):
        self.columns.setdefault(column, []).extend(values)

    def log_metric(self, name, value):
        self.metrics.setdefault(name, []).append(value)


def test_trust_signals_reach_trl_logging_local_and_remote(heads_with_stats_dir):
    """A model with OOD statistics and 3 heads: each signal is a completions-table column (one
    value per completion) and a metric (its mean); ``last_signals`` holds them; the function
    over HTTP logs the same numbers, which are the server's own /score signals."""
    signals = {"ood_distance", "ood_percentile", "ood_flag", "ensemble_spread"}
    with BackgroundServer(
        create_app(ScoringModel.load(str(heads_with_stats_dir)), ServeConfig())
    ) as server:
        got = {}
        for where in (str(heads_with_stats_dir), server.url):
            logs, func = TrlLogs(), reward_function(where, name="helpful")
            func(
                prompts=PLAIN_PROMPTS,
                completions=PLAIN_COMPLETIONS,
                log_extra=logs.log_extra,
                log_metric=logs.log_metric,
            )
            assert set(func.last_signals) == signals
            assert logs.columns == {f"helpful/{k}": v for k, v in func.last_signals.items()}
            for key, values in func.last_signals.items():
                assert len(values) == 3
                assert logs.metrics[f"helpful/{key}"] == [pytest.approx(np.mean(values))]
            got[where] = func.last_signals
        items = [
            dict(zip(("prompt", "response"), to_prompt_response(p, c)))
            for p, c in zip(PLAIN_PROMPTS, PLAIN_COMPLETIONS)
        ]
        served = httpx.post(server.url + "/score", json={"items": items}).json()
    local, remote = got.values()
    for key in signals:
        np.testing.assert_allclose(local[key], remote[key], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(remote["ood_distance"], served["ood"]["distance"], rtol=0, atol=0)
    assert remote["ood_flag"] == [float(f) for f in served["ood"]["flagged"]]


def test_a_model_without_statistics_logs_no_ood_signal(tiny_bert_rm_dir):
    logs, func = TrlLogs(), reward_function(str(tiny_bert_rm_dir))
    func(PLAIN_PROMPTS, PLAIN_COMPLETIONS, log_extra=logs.log_extra, log_metric=logs.log_metric)
    assert func.last_signals == {} and logs.columns == {} and logs.metrics == {}


def test_aggregate_local_and_remote(heads_ensemble_dir):
    """aggregate="min" / "uwo": the members' normalized rewards z = (r − mean)/std, min over k
    and mean − λ·var (ddof 0), in-process and through a server alike."""
    from rewardkit.model import load_reward_model

    scorer = load_reward_model(heads_ensemble_dir)
    prompts, responses = PLAIN_PROMPTS, ["green tea is good .", "no", "good thanks"]
    norm = scorer.primary.info.normalization
    z = (scorer.score(prompts, responses).members - norm.mean) / norm.std
    want = {"min": z.min(axis=0), "uwo": z.mean(axis=0) - 1.5 * z.var(axis=0)}
    with BackgroundServer(
        create_app(ScoringModel.load(str(heads_ensemble_dir)), ServeConfig())
    ) as server:
        for where in (str(heads_ensemble_dir), server.url):
            for method, lam in (("min", None), ("uwo", 1.5)):
                func = reward_function(where, aggregate=method, uwo_lambda=lam)
                got = func(PLAIN_PROMPTS, PLAIN_COMPLETIONS)
                np.testing.assert_allclose(got, want[method], rtol=0, atol=1e-5)
    assert np.abs(want["min"] - want["uwo"]).max() > 1e-3


def test_aggregate_refusals(tiny_bert_rm_dir, heads_ensemble_dir):
    """min/uwo on a single model: check_aggregate's one line (in-process, at once); a negative
    λ: AggregateOptions' one line; λ without an aggregate: a ValueError."""
    from rewardkit.errors import UserError

    with pytest.raises(UserError, match="--aggregate min needs an ensemble"):
        reward_function(str(tiny_bert_rm_dir), aggregate="min")
    with pytest.raises(UserError, match="--uwo-lambda must be 0 or more"):
        reward_function(str(heads_ensemble_dir), aggregate="uwo", uwo_lambda=-1.0)
    with pytest.raises(UserError, match="--aggregate 'max' is not one of mean, min, uwo"):
        reward_function(str(heads_ensemble_dir), aggregate="max")
    with pytest.raises(ValueError, match="pass aggregate='uwo'"):
        reward_function(str(heads_ensemble_dir), uwo_lambda=1.0)
