"""Record formats: how one raw record becomes preference pairs.

==========  ===============================================================  ==================
format      record shape                                                     pairs per record
==========  ===============================================================  ==================
explicit    ``{"prompt", "chosen", "rejected"}``; prompt is text or chat     1
            messages; chosen/rejected are text or (TRL conversational)
            a list ending with one assistant message
implicit    ``{"chosen", "rejected"}`` whole conversations (message lists    1
            or text); the shared prefix is the prompt, the rest the
            responses
hh-rlhf     ``{"chosen", "rejected"}`` Anthropic transcripts                 1
            ``"\\n\\nHuman: … \\n\\nAssistant: …"``
rankings    ``{"prompt", "responses": [K texts], "ranking": [best first]}``  C(K,2), weight
            or ``"scores": [K numbers]`` (higher is better); a partial       1/C(K,2) each
            (top-k) ``ranking`` lists only the k best                        (top-k: see below)
votes       one row per vote: ``{"item_id", "prompt", "response_a",         1 per item_id
            "response_b", "annotator", "choice": "a"|"b"|"tie"}``            (see ``votes.py``)
single      ``{"prompt", "response"}``: one response to score                (a ScoredItem)
==========  ===============================================================  ==================

A top-k ranking (``ranking`` lists k < K distinct indices, best first) gives the pairs among
the k ranked responses plus each ranked response ≻ every unranked one, and no pair among the
unranked: k(k−1)/2 + k(K−k) pairs, each weighted 1 over that count.

Optional fields of explicit, implicit and hh-rlhf records: ``margin`` (finite number),
``tie`` (bool), ``weight`` (number >= 0), ``label`` (soft label P(chosen ≻ rejected) in
[0, 1]), ``subset``, ``annotator``, ``id``. Rankings take
``id``, ``subset``, ``annotator`` and ``weight`` (spread over the group's pairs). A pair's
``id`` defaults to its ``file:line``; a ranking pair's is ``"<group id>:<i>-<j>"`` with ``i``
the index of the chosen response and ``j`` of the rejected one.

``sniff_format`` picks the format from a record's keys; hh-rlhf is told from implicit text by
its ``"\\n\\nHuman:"`` and ``"\\n\\nAssistant:"`` markers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rewardkit.data.records import PreferencePair, Prompt, ScoredItem
from rewardkit.data.validation import (
    RecordProblem,
    check_messages,
    check_responses,
    escaped,
    finite_number,
    get_field,
    number_kind,
    optional_bool,
    optional_id,
    optional_label,
    optional_number,
    optional_text,
    optional_weight,
    require_prompt,
    require_text,
    type_name,
)

FORMATS: dict[str, str] = {
    "explicit": '{"prompt", "chosen", "rejected"}, text or chat messages (TRL conventions)',
    "implicit": '{"chosen", "rejected"} whole conversations; the shared prefix is the prompt',
    "hh-rlhf": 'Anthropic HH-RLHF transcripts "\\n\\nHuman: ... \\n\\nAssistant: ..."',
    "rankings": '{"prompt", "responses", "ranking" | "scores"} -> all C(K,2) pairs, '
    "weight 1/C(K,2)",
    "votes": 'one row per vote {"item_id", "prompt", "response_a", "response_b", "annotator", '
    '"choice"} -> one pair per item by majority',
    "single": '{"prompt", "response"}: one response to score (not for training)',
}

HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"


def sniff_format(record: dict[str, Any]) -> str:
    """The format a record's keys point to, or a :class:`RecordProblem` if none fits."""
    keys = set(record)
    if "responses" in keys and keys & {"ranking", "scores"}:
        return "rankings"
    if {"item_id", "response_a", "response_b", "choice"} <= keys:
        return "votes"
    if {"prompt", "chosen", "rejected"} <= keys:
        return "explicit"
    if {"chosen", "rejected"} <= keys:
        chosen = record["chosen"]
        is_transcript = isinstance(chosen, str) and HUMAN in chosen and ASSISTANT in chosen
        return "hh-rlhf" if is_transcript else "implicit"
    if {"prompt", "response"} <= keys:
        return "single"
    shown = ", ".join(escaped(key) for key in sorted(keys)[:8]) or "none"
    raise RecordProblem(
        "has an unknown record shape",
        hint=f"its keys are {shown}; expected one of: "
        + "; ".join(f"{name} {text}" for name, text in FORMATS.items())
        + "; or pass --format",
    )


# --- one pair per record -------------------------------------------------------------------


def parse_explicit(record: dict[str, Any], where: str) -> list[PreferencePair]:
    prompt = require_prompt(record)
    chosen = _explicit_response(record, "chosen", prompt)
    rejected = _explicit_response(record, "rejected", prompt)
    return [_pair(record, where, prompt, chosen, rejected)]


def _explicit_response(record: dict[str, Any], field: str, prompt: Prompt) -> str:
    """Text, or a message list ending with the assistant's reply (TRL conversational style);
    messages before it may only repeat the prompt."""
    value = get_field(record, field)
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise RecordProblem(
            f"is not a string or a list of messages (got {type_name(value)})", field=field
        )
    messages = check_messages(value, field)
    if messages[-1]["role"] != "assistant":
        raise RecordProblem("does not end with an assistant message", field=field)
    if messages[:-1] and messages[:-1] != prompt:
        raise RecordProblem(
            "holds more than one message and they do not repeat the prompt",
            field=field,
            hint='give the response as [{"role": "assistant", "content": ...}]',
        )
    return messages[-1]["content"]


def parse_implicit(record: dict[str, Any], where: str) -> list[PreferencePair]:
    chosen, rejected = get_field(record, "chosen"), get_field(record, "rejected")
    if isinstance(chosen, str) and isinstance(rejected, str):
        prompt, chosen_text, rejected_text = _split_shared_text(chosen, rejected)
        return [_pair(record, where, prompt, chosen_text, rejected_text)]
    if isinstance(chosen, list) and isinstance(rejected, list):
        for field, messages in (("chosen", chosen), ("rejected", rejected)):
            check_messages(messages, field)
            if messages[-1]["role"] != "assistant":
                raise RecordProblem("does not end with an assistant message", field=field)
        if chosen[:-1] != rejected[:-1]:
            raise RecordProblem(
                "chosen and rejected differ before their last message",
                hint="they must share every message but the last (the responses)",
            )
        if not chosen[:-1]:
            raise _no_shared_prompt()
        return [_pair(record, where, chosen[:-1], chosen[-1]["content"], rejected[-1]["content"])]
    for field, value in (("chosen", chosen), ("rejected", rejected)):
        if not isinstance(value, (str, list)):
            raise RecordProblem(
                f"is not a string or a list of messages (got {type_name(value)})", field=field
            )
    raise RecordProblem("chosen and rejected must both be text or both be chat messages")


def _split_shared_text(chosen: str, rejected: str) -> tuple[str, str, str]:
    """Shared prefix (backed up to a word boundary, not to split a word) and the two rests."""
    cut = _common_prefix_length(chosen, rejected)
    mid_word = (
        cut > 0
        and not chosen[cut - 1].isspace()
        and any(cut < len(text) and not text[cut].isspace() for text in (chosen, rejected))
    )
    if mid_word:
        cut = max(chosen.rfind(space, 0, cut) for space in (" ", "\n", "\t")) + 1
    if cut == 0:
        raise _no_shared_prompt()
    return chosen[:cut], chosen[cut:], rejected[cut:]


def _no_shared_prompt() -> RecordProblem:
    return RecordProblem(
        "chosen and rejected share no prompt",
        hint='use the explicit format {"prompt", "chosen", "rejected"}',
    )


def parse_hh_rlhf(record: dict[str, Any], where: str) -> list[PreferencePair]:
    """The prompt is the shared dialogue up to and including the last ``"\\n\\nAssistant:"``
    that chosen and rejected share; the responses are the rest, stripped. The prompt stays
    text: the canonical split hashes exactly this text."""
    chosen, rejected = require_text(record, "chosen"), require_text(record, "rejected")
    shared = _common_prefix_length(chosen, rejected)
    marker = chosen.rfind(ASSISTANT, 0, shared)
    if marker < 0:
        raise RecordProblem(
            "chosen and rejected share no '\\n\\nAssistant:' turn",
            hint="hh-rlhf transcripts alternate '\\n\\nHuman:' and '\\n\\nAssistant:' turns",
        )
    end = marker + len(ASSISTANT)
    prompt = chosen[:end]
    return [_pair(record, where, prompt, chosen[end:].strip(), rejected[end:].strip())]


def _common_prefix_length(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _pair(
    record: dict[str, Any], where: str, prompt: Prompt, chosen: str, rejected: str
) -> PreferencePair:
    check_responses(chosen, rejected)
    return PreferencePair(
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        margin=optional_number(record, "margin", 0.0),
        tie=optional_bool(record, "tie"),
        weight=optional_weight(record),
        label=optional_label(record),
        subset=optional_text(record, "subset"),
        annotator=optional_text(record, "annotator"),
        id=optional_id(record) or where,
        source=where,
    )


# --- rankings: C(K,2) pairs per record ------------------------------------------------------


def parse_rankings(record: dict[str, Any], where: str) -> list[PreferencePair]:
    """All C(K,2) pairs of K ranked responses, each weighted 1/C(K,2) so that every prompt
    counts once (InstructGPT, Ouyang et al. 2022). Equal scores give ``tie=True`` pairs. A
    top-k ranking gives only the pairs it orders (see the module's docstring)."""
    prompt = require_prompt(record)
    responses = require_responses(record)
    k = len(responses)
    if record.get("ranking") is not None:
        ordered = ranked_pairs(record["ranking"], k)
    elif record.get("scores") is not None:
        ordered = _scored_pairs(record["scores"], k)
    else:
        raise RecordProblem(
            "is missing",
            field="ranking",
            hint="give 'ranking' (response indices, best first) or 'scores' (higher is better)",
        )
    group_id = optional_id(record) or where
    weight = optional_weight(record) / len(ordered)
    subset, annotator = optional_text(record, "subset"), optional_text(record, "annotator")
    pairs = []
    for i, j, tie in ordered:
        check_responses(responses[i], responses[j], fields=(f"responses[{i}]", f"responses[{j}]"))
        pairs.append(
            PreferencePair(
                prompt=prompt,
                chosen=responses[i],
                rejected=responses[j],
                tie=tie,
                weight=weight,
                subset=subset,
                annotator=annotator,
                id=f"{group_id}:{i}-{j}",
                source=where,
            )
        )
    return pairs


def require_responses(record: dict[str, Any]) -> list[str]:
    """The record's ``responses``: a list of at least 2 strings."""
    responses = get_field(record, "responses")
    if not isinstance(responses, list) or len(responses) < 2:
        raise RecordProblem("is not a list of at least 2 responses", field="responses")
    for i, response in enumerate(responses):
        if not isinstance(response, str):
            raise RecordProblem(
                f"item {i} is not a string (got {type_name(response)})", field="responses"
            )
    return responses


def ranked_pairs(ranking: Any, k: int) -> list[tuple[int, int, bool]]:
    """``(chosen, rejected, tie)`` index pairs of a full or top-k ``ranking`` (best first) of
    ``k`` responses: every ranked response ≻ each one ranked below it and each unranked one;
    the unranked ones are not compared with each other."""
    valid = (
        isinstance(ranking, list)
        and 0 < len(ranking) <= k
        and all(isinstance(i, int) and not isinstance(i, bool) for i in ranking)
        and all(0 <= i < k for i in ranking)
        and len(set(ranking)) == len(ranking)
    )
    if not valid:
        raise RecordProblem(
            "is not a full or top-k ranking of the response indices",
            field="ranking",
            hint=f"list distinct indices of 0..{k - 1}, best first (all of them, or the k best)",
        )
    unranked = [i for i in range(k) if i not in ranking]
    below = [list(ranking[place + 1 :]) + unranked for place in range(len(ranking))]
    return [(best, worse, False) for best, rest in zip(ranking, below) for worse in rest]


def _scored_pairs(scores: Any, k: int) -> list[tuple[int, int, bool]]:
    if not isinstance(scores, list) or len(scores) != k:
        raise RecordProblem(f"is not a list of {k} numbers, one per response", field="scores")
    for i, score in enumerate(scores):
        if finite_number(score) is None:
            raise RecordProblem(
                f"item {i} is not a finite number (got {number_kind(score)})", field="scores"
            )
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            if scores[i] == scores[j]:
                pairs.append((i, j, True))
            else:
                pairs.append((i, j, False) if scores[i] > scores[j] else (j, i, False))
    return pairs


# --- single responses (scoring only) --------------------------------------------------------


def parse_single(record: dict[str, Any], where: str) -> list[ScoredItem]:
    return [
        ScoredItem(
            prompt=require_prompt(record),
            response=require_text(record, "response"),
            id=optional_id(record) or where,
            source=where,
        )
    ]


RecordParser = Callable[[dict[str, Any], str], list[Any]]

PARSERS: dict[str, RecordParser] = {
    "explicit": parse_explicit,
    "implicit": parse_implicit,
    "hh-rlhf": parse_hh_rlhf,
    "rankings": parse_rankings,
    "single": parse_single,
}
"""Per-record parsers; ``votes`` is not here because it needs every row of an item
(see :mod:`rewardkit.data.votes`)."""
