"""Prompts to sample from, and how a prompt becomes the text a chat LM continues.

``read_prompts`` accepts, per file:

===========================  ==================================================================
file / record                prompt taken
===========================  ==================================================================
``.txt``                     each non-blank line
``{"prompt": ...}``          the prompt (text or chat messages): prompts, candidates, explicit
                             pairs and single records alike
``{"messages": [...]}``      the conversation up to (not including) a final assistant message
pairs without a prompt       the prompt the pair readers find (hh-rlhf transcripts: the shared
                             dialogue up to the last ``"\\n\\nAssistant:"``; implicit: the
                             shared prefix)
===========================  ==================================================================

Repeated prompts are kept once, in first-seen order. The prompt is written to the candidates
file as it was read, so the reward model later scores it with its own template.
"""

from __future__ import annotations

import re
from pathlib import Path

from rewardkit.data.formats import PARSERS, sniff_format
from rewardkit.data.records import Prompt, prompt_text
from rewardkit.data.sources import open_records
from rewardkit.data.validation import RecordProblem, check_messages, require_prompt
from rewardkit.errors import BadRecordError, UserError

_TURN = re.compile(r"\n\n(Human|Assistant):")


def read_prompts(path: str, *, limit: int | None = None) -> list[Prompt]:
    """Unique prompts of ``path`` in file order (at most ``limit``)."""
    prompts: list[Prompt] = []
    seen: set[str] = set()

    def add(prompt: Prompt) -> bool:
        key = prompt_text(prompt)
        if key not in seen:
            seen.add(key)
            prompts.append(prompt)
        return limit is not None and len(prompts) >= limit

    if str(path).endswith(".txt"):
        file = Path(path)
        if not file.is_file():
            raise UserError("no such file; check the path", where=str(path))
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = file.read_bytes()[: exc.start].count(b"\n") + 1
            raise UserError(
                "not UTF-8 text; save the prompts file as UTF-8", where=f"{path}:{line}"
            ) from None
        for line in text.splitlines():
            if line.strip() and add(line.strip()):
                break
    else:
        for where, record in open_records(path):
            try:
                if isinstance(record, RecordProblem):
                    raise record
                if add(_prompt_of(record, where)):
                    break
            except RecordProblem as problem:
                raise BadRecordError(
                    f"{problem.problem}; a prompts record needs a 'prompt' "
                    "(text or messages), 'messages', or a pair format",
                    where=where,
                    field=problem.field,
                ) from None
    if not prompts:
        raise UserError("holds no prompt", where=str(path))
    return prompts


def _prompt_of(record: dict, where: str) -> Prompt:
    if "prompt" in record:
        return require_prompt(record)
    if "messages" in record:
        messages = check_messages(record["messages"], "messages")
        if messages[-1]["role"] == "assistant":
            messages = messages[:-1]
        if not messages:
            raise RecordProblem("holds only an assistant message", field="messages")
        return messages
    pairs = PARSERS[sniff_format(record)](record, where)
    if not pairs:
        raise RecordProblem("gives no prompt")
    return pairs[0].prompt


def prompt_messages(prompt: Prompt, system: str | None = None) -> list[dict[str, str]]:
    """Chat messages for an LM with a chat template.

    hh-rlhf transcripts (``"\\n\\nHuman: …\\n\\nAssistant:"``) become alternating user /
    assistant turns, the final empty assistant turn dropped; other text becomes one user turn;
    messages stay as they are. ``system`` is put first unless the prompt has a system turn."""
    if isinstance(prompt, str):
        messages = transcript_messages(prompt) or [{"role": "user", "content": prompt}]
    else:
        messages = [dict(m) for m in prompt]
    if system and not (messages and messages[0]["role"] == "system"):
        messages = [{"role": "system", "content": system}] + messages
    return messages


def transcript_messages(text: str) -> list[dict[str, str]] | None:
    """Turns of an hh-rlhf transcript, or None when ``text`` is not one."""
    parts = _TURN.split(text)
    if len(parts) < 3 or parts[0].strip():
        return None
    messages = []
    for speaker, content in zip(parts[1::2], parts[2::2]):
        role = "user" if speaker == "Human" else "assistant"
        messages.append({"role": role, "content": content.strip()})
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages or None
