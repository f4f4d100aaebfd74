"""Scoring token ids with a :class:`~rewardkit.model.ensemble.RewardEnsemble` for the server.

The server's reward is what ``rewardkit score`` gives for the same folder: the saved model's
own reward for a heads ensemble (its head is the exact mean of the K heads), the mean over the
members for a members ensemble. The spread is the std over the K member rewards (ddof 0),
Coste et al. 2023 ("Reward model ensembles help mitigate overoptimization").

Unlike ``RewardEnsemble.score_with_spread`` nothing is memoized: a server sees a stream of new
texts, and a memo would grow without bound. Members must tokenize alike (same vocabulary,
template and max length), since the server encodes each text once.
"""

from __future__ import annotations

import numpy as np
import torch

from rewardkit.errors import UserError
from rewardkit.model.features import extract_features


class EnsembleIdsScorer:
    """``scorer(sequences, batch_size=B) -> (rewards (N,), spread (N,))``."""

    def __init__(self, ensemble):
        self.ensemble = ensemble
        if ensemble.members:
            _check_same_encoding(ensemble.members)

    @torch.inference_mode()
    def __call__(self, sequences, *, batch_size: int = 0) -> tuple[np.ndarray, np.ndarray]:
        ensemble = self.ensemble
        if ensemble.heads is not None:
            features, rewards = extract_features(ensemble.primary, sequences, batch_size=batch_size)
            weight, bias = ensemble.heads
            per_member = weight @ features.astype(np.float64).T + bias[:, None]
            return rewards, per_member.std(axis=0)
        if ensemble.members:
            per_member = np.stack(
                [m.score_ids(sequences, batch_size=batch_size) for m in ensemble.members]
            )
            return per_member.mean(axis=0), per_member.std(axis=0)
        rewards = ensemble.primary.score_ids(sequences, batch_size=batch_size)
        return rewards, np.zeros_like(rewards)


def _check_same_encoding(members) -> None:
    first = members[0]
    for member in members[1:]:
        same = (
            member.tokenizer.get_vocab() == first.tokenizer.get_vocab()
            and member.info.template == first.info.template
            and member.info.max_length == first.info.max_length
            and member.pad_id == first.pad_id
        )
        if not same:
            raise UserError(
                f"ensemble member {member.info.backbone} tokenizes differently from "
                f"{first.info.backbone} (vocabulary, template, max length or pad); "
                "serve members that share a backbone, or serve them separately"
            )
