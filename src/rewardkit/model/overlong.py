"""The over-length rule: what becomes of a text longer than the model's max length.

One rule for every path that scores — ``score``, ``eval``, the server's ``/score`` and
``/get_reward``, ``bon``, ``label-pairs``, the Python API and the TRL adapter: **cut tokens from
the left of the text, after its leading special tokens** ([CLS], BOS): first the prompt, and only
when the response alone does not fit, then the start of the response. The end of the text —
[SEP], the EOS a decoder is scored on, a chat template's closing tokens — is never cut, and the
text is flagged with the number of tokens removed. The saved tokenizer carries the same rule
(``truncation_side="left"``, ``model_max_length`` = the max length), so
``tokenizer(text, truncation=True)`` and a transformers pipeline with ``truncation=True`` cut a
whole text the same way.

=================  ==========================================================================
``--overlong``     what happens to an over-long text or pair
=================  ==========================================================================
truncate           (scoring's default) the rule above: every text gets a score
truncate-prompt    (training's default) cut the prompt only; a pair whose response alone does
                   not fit is dropped and counted
drop               drop every over-long pair, counted (pairs only)
error              stop with one line: for a pair, at the first one that does not fit; for a
                   text, at the first whose response alone does not fit (its prompt is cut)
=================  ==========================================================================

Pairs: under ``truncate`` each text is cut on its own, exactly as when it is scored alone, so a
pair's two rewards equal those any other path gives its texts. Under ``truncate-prompt``
(training) both texts lose the same number of prompt tokens, so both sides see the same
context.
"""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.errors import UserError

PAIR_POLICIES = ("truncate", "truncate-prompt", "drop", "error")
TEXT_POLICIES = ("truncate", "error")


class ResponseTooLongError(UserError):
    """Text ``index``'s response alone does not fit in ``max_length`` tokens, and the policy
    (``--overlong error``) refuses to cut it."""

    def __init__(self, index: int, max_length: int):
        self.index = index
        self.max_length = max_length
        super().__init__(
            f"response {index} alone is longer than max_length {max_length}; "
            "raise max_length, shorten it, or let it be cut (--overlong truncate)"
        )


@dataclass
class Fitted:
    """The ids a text is scored on, and how many tokens the rule removed from it."""

    ids: list[int]
    removed: int = 0

    @property
    def truncated(self) -> bool:
        return self.removed > 0


def check_policy(policy: str, allowed: tuple[str, ...]) -> None:
    if policy not in allowed:
        raise UserError(f"--overlong {policy!r} is not one of {', '.join(allowed)}")


def cut_left(text, n: int) -> list[int]:
    """``text``'s ids without ``n`` tokens from the left of its cuttable region (a
    :class:`~rewardkit.model.encode.EncodedText`: the prompt, then the response)."""
    return text.ids[: text.prompt_start] + text.ids[text.prompt_start + n :]


def fit_text(text, max_length: int, policy: str = "truncate", index: int = 0) -> Fitted:
    """One text under ``policy`` (``truncate`` or ``error``)."""
    over = len(text.ids) - max_length
    if over <= 0:
        return Fitted(text.ids)
    if over > text.prompt_length and policy == "error":
        raise ResponseTooLongError(index, max_length)
    if over > text.cuttable:
        raise UserError(
            f"max_length {max_length} leaves no room for the text's special tokens "
            f"({len(text.ids) - text.cuttable}); raise max_length"
        )
    return Fitted(cut_left(text, over), over)


def fit_pair(
    chosen,
    rejected,
    max_length: int,
    policy: str,
    where: str,
) -> tuple[Fitted, Fitted] | str:
    """The pair's two texts under ``policy``, or why it is dropped (``"dropped_overlong"`` or
    ``"dropped_response_too_long"``). ``error`` raises a one-line error naming ``where``."""
    over = max(len(chosen.ids), len(rejected.ids)) - max_length
    if over <= 0:
        return Fitted(chosen.ids), Fitted(rejected.ids)
    if policy == "truncate":  # each text as it is scored alone
        return fit_text(chosen, max_length), fit_text(rejected, max_length)
    if policy == "error":
        raise UserError(
            f"pair is {over + max_length} tokens, over --max-length {max_length}; "
            "raise --max-length or pass --overlong truncate|truncate-prompt|drop",
            where=where,
        )
    if policy == "drop":
        return "dropped_overlong"
    if over > min(chosen.prompt_length, rejected.prompt_length):
        return "dropped_response_too_long"
    return Fitted(cut_left(chosen, over), over), Fitted(cut_left(rejected, over), over)
