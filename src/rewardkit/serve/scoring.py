"""What the server asks of a reward model: turn request texts into token ids, score id
sequences, and describe itself for ``GET /info``.

Two encodings, both the same code path as ``rewardkit score`` where they overlap:

=========================  ===================================================================
input                      token ids
=========================  ===================================================================
(prompt, response)         ``TextEncoder.fit_texts``: the model's own template (text prompts:
                           ``prompt + " " + response``; chat prompts: its chat template), EOS
                           appended for decoders. Used by ``/score`` and by ``/get_reward`` when
                           the query starts with its prompt.
one whole text             ``TextEncoder.fit_whole_texts``: the text tokenized as it is, with
                           the tokenizer's special tokens (a doubled BOS dropped), EOS appended
                           for decoders. ``/get_reward`` without usable prompts.

Both cut an over-long text by the one over-length rule (:mod:`rewardkit.model.overlong`: from
the left, the prompt first) and count the tokens removed. ``/get_reward`` first removes the
policy's end-of-turn markers from the query's end (:mod:`rewardkit.serve.end_markers`).
=========================  ===================================================================

Rewards come from the one scorer (:class:`rewardkit.model.scorer.Scorer`, opened by
:func:`rewardkit.model.loading.load_reward_model`): a single model, K heads on one backbone, or
K member models. Ensembles report their spread, the std of the member rewards (ddof 0; Coste
et al. 2023), next to every reward, and may serve a conservative aggregate (worst case, or
mean − λ·variance: :mod:`rewardkit.model.aggregate`). Members must tokenize alike (same
vocabulary, template and max length), since the server encodes each text once.

A model saved with OOD statistics keeps its head-input features from the forward pass that
computes the rewards, and every text gets its trust signals from them
(:class:`rewardkit.eval.trust.Trust`: OOD distance, percentile and flag); without
statistics no features are kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardkit.bradley_terry import Calibration
from rewardkit.data.records import Prompt
from rewardkit.eval.trust import Trust
from rewardkit.files import sha256_tree
from rewardkit.model.loading import load_reward_model
from rewardkit.model.overlong import Fitted
from rewardkit.model.scorer import Scorer
from rewardkit.model.scores import Scores
from rewardkit.serve.end_markers import EndMarkers


@dataclass
class EncodedQuery:
    ids: list[int]
    tokens_removed: int  # by the over-length rule (rewardkit.model.overlong)
    prompt_split: bool  # True: scored as (prompt, response) with the model's template
    stripped_chars: int = 0  # end-of-turn markers removed from the query's end

    @property
    def truncated(self) -> bool:
        return self.tokens_removed > 0


class ScoringModel:
    """A loaded reward model (or ensemble) as the server uses it. Not thread-safe: the
    micro-batcher calls :meth:`score_sequences` from its single worker thread only."""

    def __init__(self, scorer: Scorer, *, name: str | None = None):
        self.scorer = scorer
        self.model = scorer.primary
        self.folder = scorer.source or None  # hashed for the fingerprint, never shown
        self.name = public_name(name or scorer.source or str(self.model.info.backbone))
        self.vocabulary_rows = min(_embedding_rows(m) for m in scorer.models)
        self._weights_sha256: str | None = None
        self.trust = Trust(scorer)

    @classmethod
    def load(cls, path: str, *, name: str | None = None, **load_kwargs) -> "ScoringModel":
        """A model folder, an ensemble folder, or ``DIR1,DIR2,…`` (members); ``load_kwargs``
        are :func:`rewardkit.model.loading.load_reward_model`'s (precision, max_length, device).
        ``name``: what responses call the model (default: the folder's base name)."""
        return cls(load_reward_model(path, **load_kwargs), name=name or path)

    # ------------------------------------------------------------------ properties
    @property
    def is_ensemble(self) -> bool:
        return self.scorer.kind != "single"

    @property
    def members(self) -> int | None:
        return self.scorer.k if self.is_ensemble else None

    @property
    def max_length(self) -> int:
        return self.scorer.max_length

    @property
    def temperature(self) -> float:
        return self.scorer.temperature

    @property
    def temperature_calibrated(self) -> bool:
        return self.scorer.temperature_calibrated

    @property
    def calibration(self) -> Calibration:
        return self.scorer.calibration

    def describe_normalization(self) -> dict:
        norm = self.model.info.normalization
        return {"mean": float(norm.mean), "std": float(norm.std), "measured_on": norm.measured_on}

    def normalize(self, rewards: np.ndarray) -> np.ndarray:
        return np.asarray(self.scorer.normalize(np.asarray(rewards, dtype=np.float64)))

    # ------------------------------------------------------------------ encoding
    def encode_pair(self, prompt: Prompt, response: str, overlong: str = "truncate") -> Fitted:
        """Ids of (prompt, response) exactly as ``rewardkit score`` builds them, under the
        over-length rule (``overlong="error"``: ``ResponseTooLongError`` when the response alone
        does not fit)."""
        return self.model.encoder.fit_texts([(prompt, response)], overlong)[0]

    def encode_query(
        self, query: str, prompt: str | None, markers: EndMarkers | None = None
    ) -> EncodedQuery:
        """OpenRLHF's query, without the end-of-turn ``markers`` at its end: ``prompt + response``
        when it starts with ``prompt`` (scored with the model's template), else one whole text."""
        text, stripped = markers.strip(query) if markers else (query, 0)
        if prompt and text.startswith(prompt):
            response = text[len(prompt) :]
            joiner = self.model.template.text_joiner
            if not prompt[-1].isspace() and joiner and response.startswith(joiner):
                response = response[len(joiner) :]  # the template puts the joiner back
            fitted = self.encode_pair(prompt, response)
            return EncodedQuery(fitted.ids, fitted.removed, True, stripped)
        fitted = self.model.encoder.fit_whole_texts([text])[0]
        return EncodedQuery(fitted.ids, fitted.removed, False, stripped)

    # ------------------------------------------------------------------ scoring
    def sequence_problem(self, ids: list[int]) -> tuple[str, str] | None:
        """``(code, why)`` when ``ids`` cannot go through the model — empty, longer than
        ``max_length``, or a token id outside the embedding table (a tokenizer with more
        tokens than the model) — else None. Checked per request before batching, so such a
        text fails its own request instead of the forward pass it would share."""
        if not ids:
            return "empty_text", "encodes to no tokens at all"
        if len(ids) > self.max_length:
            return "too_long_for_model", (
                f"encodes to {len(ids)} tokens, over the model's max_length {self.max_length}"
            )
        highest = max(ids)
        if highest >= self.vocabulary_rows or min(ids) < 0:
            return "token_outside_vocabulary", (
                f"encodes to token id {highest}, outside the model's {self.vocabulary_rows} "
                "embedding rows (its tokenizer and weights disagree)"
            )
        return None

    def aggregate(self, scores: Scores, method: str, uwo_lambda: float) -> np.ndarray:
        """The ensemble's ``method`` reward of ``scores`` (normalized units,
        :mod:`rewardkit.model.aggregate`); ``min``/``uwo`` on one model raise ``UserError``."""
        return self.scorer.aggregate(scores.members, method, uwo_lambda)

    def score_sequences(self, sequences: list[list[int]], *, batch_size: int) -> Scores:
        """Raw rewards (and the members' ones) of id sequences, through the one scorer, with
        the head-input features when the trust signals need them."""
        return self.scorer.score_ids(
            sequences, batch_size=batch_size, features=self.trust.needs_features
        )

    # ------------------------------------------------------------------ description
    def weights_sha256(self) -> str | None:
        """sha256 of the served weights (``*.safetensors`` under the folder); for members
        given as ``DIR1,DIR2``, the sha256 of their hashes joined by commas, in order."""
        if self._weights_sha256 is None:
            folders = self.folder.split(",") if self.folder else []
            hashes = [sha256_tree(folder, "*.safetensors") for folder in folders]
            if not hashes or None in hashes:
                self._weights_sha256 = ""
            elif len(hashes) == 1:
                self._weights_sha256 = hashes[0]
            else:
                self._weights_sha256 = hashlib.sha256(",".join(hashes).encode()).hexdigest()
        return self._weights_sha256 or None

    def device_name(self) -> str:
        """``cpu``, or ``cuda:N (GPU name)``."""
        device = getattr(self.model, "device", None)
        if device is None or device.type != "cuda":
            return "cpu"
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"

    def describe(self) -> dict:
        info = self.model.info
        return {
            "model": self.name,
            "backbone": public_name(str(info.backbone)),
            "template": info.template,
            "max_length": int(info.max_length),
            "scoring": info.scoring,
            "normalization": self.describe_normalization(),
            "temperature": self.temperature,
            "calibration_exponent": self.calibration.exponent,
            "temperature_calibrated": self.temperature_calibrated,
            "precision": info.precision,
            "device": self.device_name(),
            "fingerprint": {
                "training_data": (info.data or {}).get("fingerprint"),
                "weights_sha256": self.weights_sha256(),
            },
            "ensemble": ({"members": self.members} if self.is_ensemble else None),
            "trust": self.trust.describe(),
            "rewardkit_version": info.rewardkit_version,
        }


def public_name(spec: str) -> str:
    """What a response may show of a model or backbone: a local folder's base name (each one
    of ``DIR1,DIR2``), a hub id (``org/name``) as it is; never an absolute path, which would
    tell every client the server's file layout and user name."""
    names = []
    for part in (p.strip() for p in spec.split(",")):
        path = Path(part).expanduser()
        if path.is_absolute() or path.exists() or part.startswith((".", "~")):
            part = path.resolve().name or "model"
        names.append(part)
    return ",".join(names)


def _embedding_rows(model) -> int:
    embeddings = model.model.get_input_embeddings()
    return int(embeddings.num_embeddings)
