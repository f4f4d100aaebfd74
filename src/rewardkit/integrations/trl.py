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
        batch_size: texts per forward pass (in-process only); 0, the default, is the device's own.
        timeout / retries: per-request timeout and retries (URL only).
        name: the function's ``__name__``, which TRL uses as the reward's name in its logs.
    """
    target = str(model_dir_or_url)
    if target.startswith(("http://", "https://")):
        score = _remote_scorer(target, token, token_file, normalized, timeout, retries)
    else:
        score = _local_scorer(target, normalized, batch_size)

    def reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs) -> list[float]:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts for {len(completions)} completions")
        pairs = [to_prompt_response(p, c) for p, c in zip(prompts, completions)]
        if not pairs:
            return []
        return [float(r) for r in score([p for p, _ in pairs], [r for _, r in pairs])]

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


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


def _local_scorer(directory: str, normalized: bool, batch_size: int):
    """Scores in this process with the one scorer; an over-long completion is cut by the
    over-length rule, as on every other path (a reward function must return a number)."""
    from rewardkit.errors import UserError
    from rewardkit.model.loading import load_reward_model

    if not Path(directory.split(",")[0]).exists():
        raise UserError(
            f"{directory}: no such reward model folder (or pass an http:// URL of "
            "`rewardkit serve`)"
        )
    scorer = load_reward_model(directory)

    def score(prompts, responses):
        rewards = scorer.score(prompts, responses, batch_size=batch_size).rewards
        return scorer.normalize(rewards) if normalized else rewards

    return score


def _remote_scorer(url: str, token, token_file, normalized: bool, timeout: float, retries: int):
    from rewardkit.serve.client import RewardClient

    if token is None and token_file:
        token = Path(token_file).read_text(encoding="utf-8").strip()
    client = RewardClient(url, token, timeout=timeout, retries=retries)

    def score(prompts, responses):
        return client.rewards(prompts, responses, normalized=normalized)

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
