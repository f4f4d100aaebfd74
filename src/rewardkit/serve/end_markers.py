"""The policy's end-of-turn text, removed from a ``/get_reward`` query before it is scored.

OpenRLHF decodes the policy's full sequence and sends it as the query; the decoded text keeps
the policy's end-of-turn marker (``<|im_end|>`` for ChatML policies, ``<|eot_id|>`` for Llama 3,
…) and any right padding. A reward model never saw those characters after its responses, and
scoring them as text moves the reward (measured by ``bench/interop_agreement.py``; see
``docs/interop.md``). So the end of each query loses every trailing marker — with the
whitespace right after a marker — repeatedly, and nothing inside the text is touched.

==========================  ===============================================================
``--strip-suffix``          markers removed from a query's end
==========================  ===============================================================
(not given)                 :data:`COMMON_END_MARKERS` and the reward model's own pad and EOS
``TEXT`` (repeatable)       those texts instead
``none``                    nothing
==========================  ===============================================================
"""

from __future__ import annotations

COMMON_END_MARKERS = ("<|im_end|>", "<|eot_id|>", "</s>", "<|endoftext|>", "<end_of_turn>")


class EndMarkers:
    """Removes trailing end-of-turn markers; ``strip(text) -> (text, characters removed)``."""

    def __init__(self, markers: tuple[str, ...]):
        self.markers = tuple(sorted({m for m in markers if m}, key=len, reverse=True))

    @classmethod
    def from_option(cls, option: list[str] | None, tokenizer) -> "EndMarkers":
        """From ``--strip-suffix`` (None: the defaults) and the reward model's tokenizer."""
        if option and [m.lower() for m in option] == ["none"]:
            return cls(())
        if option:
            return cls(tuple(option))
        own = (getattr(tokenizer, "pad_token", None), getattr(tokenizer, "eos_token", None))
        return cls(COMMON_END_MARKERS + tuple(t for t in own if isinstance(t, str)))

    def strip(self, text: str) -> tuple[str, int]:
        """``text`` without the markers at its end (each with the whitespace that follows it),
        and how many characters went."""
        end = len(text)
        while True:
            body = text[:end].rstrip()
            marker = next((m for m in self.markers if body.endswith(m)), None)
            if marker is None:
                return text[:end], len(text) - end
            end = len(body) - len(marker)
