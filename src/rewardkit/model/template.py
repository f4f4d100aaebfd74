"""How a (prompt, response) becomes the one text a reward model reads.

=====================  ===================================================================
prompt kind            rendered text
=====================  ===================================================================
chat messages          ``tokenizer.apply_chat_template(messages + [assistant response])``,
                       using the backbone's own chat template, or :data:`DEFAULT_CHAT_TEMPLATE`
                       when it has none (MiniLM/BERT). The template is saved with the model, so
                       ``apply_chat_template`` in plain ``transformers`` (TRL, RewardBench)
                       renders the same text.
text                   ``prompt + " " + response`` (no space when the prompt already ends in
                       whitespace), as TRL does for non-conversational data. hh-rlhf prompts end
                       in ``"Assistant:"``, so this reproduces the original transcript exactly.
=====================  ===================================================================

Decoders additionally end every text with the EOS token (the scoring token); see
:mod:`rewardkit.model.encode`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jinja2.exceptions import TemplateError

from rewardkit.data.records import Prompt
from rewardkit.errors import UserError

# hh-rlhf's transcript style: "\n\nHuman: …\n\nAssistant: …". Documented in the README.
DEFAULT_CHAT_TEMPLATE = (
    "{%- set names = {'user': 'Human', 'assistant': 'Assistant', 'system': 'System'} -%}"
    "{%- for message in messages -%}"
    "{{ '\n\n' + names.get(message['role'], message['role'] | capitalize) + ': ' "
    "+ message['content'] }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '\n\nAssistant:' }}{%- endif -%}"
)

_SENTINEL = "\ue000rewardkit-response\ue001"


class ChatTemplateRefused(UserError):
    """The model's chat template raised on a prompt's messages (e.g. a template that requires
    user and assistant turns to alternate). ``index``: which text of a batch, once known."""

    def __init__(self, reason: str, index: int | None = None, where: str | None = None):
        self.reason = reason
        self.index = index
        super().__init__(
            f"the model's chat template refuses this prompt's messages ({reason}); "
            "fix the messages (roles, order) or use a model whose template takes them",
            where=where,
        )


@dataclass
class TextTemplate:
    """The text format a reward model was trained with; saved in ``rewardkit.json``.

    Attributes:
        chat_template: Jinja chat template used for chat prompts.
        chat_template_source: ``"tokenizer"`` (the backbone's own) or ``"rewardkit-default"``.
        text_joiner: put between a text prompt and its response.
        add_special_tokens_chat: tokenizer ``add_special_tokens`` for chat-rendered text
            (False for a backbone's own template, which writes its BOS itself).
        append_eos: end every text with EOS (decoders; the scored token).
    """

    chat_template: str = DEFAULT_CHAT_TEMPLATE
    chat_template_source: str = "rewardkit-default"
    text_joiner: str = " "
    add_special_tokens_chat: bool = True
    append_eos: bool = False

    @classmethod
    def for_tokenizer(cls, tokenizer, *, is_decoder: bool) -> "TextTemplate":
        own = getattr(tokenizer, "chat_template", None)
        if isinstance(own, str) and own.strip():
            return cls(
                chat_template=own,
                chat_template_source="tokenizer",
                add_special_tokens_chat=False,
                append_eos=is_decoder,
            )
        return cls(append_eos=is_decoder)

    @classmethod
    def from_dict(cls, data: dict) -> "TextTemplate":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self, tokenizer, prompt: Prompt, response: str) -> tuple[str, int, bool]:
        """Return ``(text, response_start, add_special_tokens)``: the full text, the character
        offset where the response begins (everything before it is prompt and template), and the
        tokenizer flag to encode it with."""
        if isinstance(prompt, str):
            joiner = "" if (not prompt or prompt[-1].isspace()) else self.text_joiner
            head = prompt + joiner
            return head + response, len(head), True
        messages = list(prompt) + [{"role": "assistant", "content": _SENTINEL}]
        try:
            rendered = tokenizer.apply_chat_template(
                messages, chat_template=self.chat_template, tokenize=False
            )
        except TemplateError as exc:
            raise ChatTemplateRefused(" ".join(str(exc).split())) from None
        head, sep, tail = rendered.partition(_SENTINEL)
        if not sep:  # pragma: no cover - a template that drops the last message
            raise ValueError("the chat template does not render the assistant message")
        return head + response + tail, len(head), self.add_special_tokens_chat
