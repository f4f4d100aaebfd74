"""A TRL ``reward_funcs`` callable backed by a rewardkit model, in-process or over HTTP.

    from trl import GRPOTrainer
    from rewardkit.integrations.trl import reward_function

    trainer = GRPOTrainer(model=..., reward_funcs=reward_function("runs/hh"), ...)
    # or a running `rewardkit serve`:  reward_function("http://127.0.0.1:8000", token="…")

TRL calls ``reward_func(prompts=..., completions=..., completion_ids=..., **columns)`` and
expects one float per completion (``trl/trainer/grpo_trainer.py``). Both of TRL's data kinds:

==============  ==========================================================================
kind            how a (prompt, completion) is scored
==============  ==========================================================================
plain           ``prompt`` text + ``completion`` text with the reward model's text template
                (``prompt + " " + completion``; a completion that already starts with a space
                loses that one space, so ``prompt + completion`` is what is scored)
conversational  ``prompt`` = messages, ``completion`` = ``[{"role": "assistant", ...}]``: the
                last completion message is the response, earlier ones join the prompt; the
                reward model's chat template renders them
==============  ==========================================================================

In-process and HTTP give the same numbers: both encode with the model's own template and score
with the one scorer, :class:`rewardkit.model.scorer.Scorer` (the server batches, which changes
no score). Passing TRL the model folder itself (``reward_funcs="runs/hh"``) gives other numbers:
TRL's own loader scores ``prompt + completion`` without the tokenizer's special tokens and
without truncation.

**Trust signals.** A TRL reward function returns one float per completion, so the signals
beside each reward (:mod:`rewardkit.eval.trust`: ``ood_distance``, ``ood_percentile``,
``ood_flag`` 1.0/0.0, ``ensemble_spread``, whichever the model has) go two other ways:

* TRL's own logging (TRL 1.16's ``GRPOTrainer`` passes ``log_extra`` and ``log_metric`` to
  every reward function; ``tests/interop/test_trl.py`` trains with it): each signal is a
  column ``<name>/<signal>`` of the completions table (``log_extra``, one value per
  completion), and its batch mean a metric ``<name>/<signal>`` beside TRL's ``kl`` and
  ``entropy`` (``log_metric``; for the flag, the share flagged);
* the function's ``last_signals`` attribute: the last call's signals, ``{signal: [float]}``, for
  callers that are not TRL.

The other way round, :func:`preference_dataset` lets TRL's ``RewardTrainer`` continue training a
saved model on exactly the token ids rewardkit scores: TRL takes ``chosen_ids``/``rejected_ids``
columns as they are, where from text it would append the EOS *text*, join ``prompt + chosen``
without rewardkit's space, and fail on an encoder that has no EOS token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RewardFunc = Callable[..., list[float]]


def reward_function(
    model_dir_or_url: str,
    *,
    token: str | None = None,
    token_file: str | None = None,
    normalized: bool = False,
    aggregate: str | None = None,
    uwo_lambda: float | None = None,
    batch_size: int = 0,
    timeout: float = 60.0,
    retries: int = 3,
    name: str = "rewardkit",
) -> RewardFunc:
    """A TRL reward function: ``f(prompts, completions, **kwargs) -> list[float]``.

    Args:
        model_dir_or_url: a reward model (or ensemble) folder, scored in this process, or the
            base URL of ``rewardkit serve`` (``http://…``).
        token / token_file: the server's bearer token (URL only).
        normalized: return ``(r − mean) / std`` with the model's stored normalization instead
            of raw rewards.
        aggregate / uwo_lambda: an ensemble's reward as ``mean``, ``min`` or ``uwo`` over its
            members' normalized rewards (:mod:`rewardkit.model.aggregate`; the reward is then
            in normalized units); ``min``/``uwo`` on a single model is refused (in-process at
            once, with one line; over HTTP by the server's 422). Default: the plain reward
            (a URL: the server's /score rewards, whatever its ``--aggregate``).
        batch_size: texts per forward pass (in-process only); 0, the default, is the device's own.
        timeout / retries: per-request timeout and retries (URL only).
        name: the function's ``__name__``, which TRL uses as the reward's name in its logs (and
            this module for the trust signals' columns and metrics).
    """
    target = str(model_dir_or_url)
    if aggregate is None and uwo_lambda is not None:
        raise ValueError("uwo_lambda is the λ of aggregate='uwo'; pass aggregate='uwo' too")
    choice = (aggregate, uwo_lambda)
    if target.startswith(("http://", "https://")):
        score = _remote_scorer(target, token, token_file, normalized, choice, timeout, retries)
    else:
        score = _local_scorer(target, normalized, choice, batch_size)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts for {len(completions)} completions")
        pairs = [to_prompt_response(p, c) for p, c in zip(prompts, completions)]
        if not pairs:
            reward.last_signals = {}
            return []
        rewards, signals = score([p for p, _ in pairs], [r for _, r in pairs])
        reward.last_signals = signals
        log_signals(signals, name, kwargs.get("log_extra"), kwargs.get("log_metric"))
        return [float(r) for r in rewards]

    reward.__name__ = name
    reward.__qualname__ = name
    reward.last_signals = {}
    return reward


def log_signals(signals: dict, name: str, log_extra=None, log_metric=None) -> None:
    """Hand the trust signals to TRL's ``log_extra`` (a completions-table column per signal)
    and ``log_metric`` (its batch mean), when the trainer passed them."""
    for signal, values in signals.items():
        if log_extra is not None:
            log_extra(f"{name}/{signal}", list(values))
        if log_metric is not None and values:
            log_metric(f"{name}/{signal}", float(sum(values) / len(values)))


def to_prompt_response(prompt: Any, completion: Any) -> tuple[Any, str]:
    """TRL's (prompt, completion), plain or conversational, as rewardkit's (prompt, response)."""
    if isinstance(completion, list):
        messages = [_plain_message(m) for m in completion]
        if not messages:
            raise ValueError("an empty conversational completion")
        response = messages[-1]["content"]
        if isinstance(prompt, list):
            prompt = [_plain_message(m) for m in prompt] + messages[:-1]
        elif len(messages) > 1:
            raise ValueError(
                "a text prompt with a multi-message completion; use message lists for both"
            )
        return prompt, response
    if not isinstance(completion, str):
        raise TypeError(
            f"a completion is a string or a list of messages, not {type(completion).__name__}"
        )
    if isinstance(prompt, list):  # conversational prompt, plain completion
        return [_plain_message(m) for m in prompt], completion
    if prompt and not prompt[-1].isspace() and completion.startswith(" "):
        completion = completion[1:]  # the text template puts this space back
    return prompt, completion


def _plain_message(message: dict) -> dict[str, str]:
    content = message.get("content", "")
    if isinstance(content, list):  # multimodal parts: keep the text ones
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return {"role": str(message["role"]), "content": content or ""}


def _local_scorer(directory: str, normalized: bool, choice: tuple, batch_size: int):
    """Scores in this process with the one scorer; an over-long completion is cut by the
    over-length rule, as on every other path (a reward function must return a number)."""
    from rewardkit.errors import UserError
    from rewardkit.eval.trust import Trust
    from rewardkit.model.aggregate import DEFAULT_UWO_LAMBDA, check_aggregate
    from rewardkit.model.loading import load_reward_model
    from rewardkit.options import AggregateOptions

    aggregate, uwo_lambda = choice
    lam = DEFAULT_UWO_LAMBDA if uwo_lambda is None else float(uwo_lambda)
    if aggregate is not None:
        AggregateOptions(aggregate=aggregate, uwo_lambda=lam)  # the CLI's checks of both
    if not Path(directory.split(",")[0]).exists():
        raise UserError(
            f"{directory}: no such reward model folder (or pass an http:// URL of "
            "`rewardkit serve`)"
        )
    scorer = load_reward_model(directory)
    if aggregate is not None:
        check_aggregate(aggregate, scorer.k, directory)
    trust = Trust(scorer)

    def score(prompts, responses):
        scores, signals = trust.score(prompts, responses, batch_size=batch_size)
        if aggregate is not None:
            rewards = scorer.aggregate(scores.members, aggregate, lam)
        else:
            rewards = scorer.normalize(scores.rewards) if normalized else scores.rewards
        return rewards, signals.numbers()

    return score


def _remote_scorer(url: str, token, token_file, normalized: bool, choice: tuple, timeout, retries):
    from rewardkit.serve.client import RewardClient, rewards_of, signals_of

    if token is None and token_file:
        token = Path(token_file).read_text(encoding="utf-8").strip()
    client = RewardClient(url, token, timeout=timeout, retries=retries)
    aggregate, uwo_lambda = choice

    def score(prompts, responses):
        body = client.score_items(prompts, responses, aggregate=aggregate, uwo_lambda=uwo_lambda)
        return rewards_of(body, normalized=normalized, aggregate=aggregate), signals_of(body)

    return score


def preference_dataset(model_dir: str, pairs, *, overlong: str = "truncate"):
    """A ``datasets.Dataset`` for TRL's ``RewardTrainer``: per pair ``chosen_ids``,
    ``rejected_ids`` (encoded by the saved model's own template and over-length rule, as
    rewardkit scores them) and ``margin``. ``pairs``: :class:`PreferencePair` records, or a file
    in any format rewardkit reads. Pair it with ``RewardConfig(max_length=None, ...)``: the ids
    already fit the model's max length."""
    from datasets import Dataset

    from rewardkit.data import read_pairs
    from rewardkit.model.loading import load_reward_model

    if isinstance(pairs, (str, Path)):
        pairs, _ = read_pairs(pairs)
    encoder = load_reward_model(model_dir).encoder
    encoded, _ = encoder.encode_pairs(list(pairs), overlong)
    return Dataset.from_dict(
        {
            "chosen_ids": [e.chosen_ids.tolist() for e in encoded],
            "rejected_ids": [e.rejected_ids.tolist() for e in encoded],
            "margin": [e.margin for e in encoded],
        }
    )
