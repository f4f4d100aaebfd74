"""The one scorer: every reward rewardkit reports comes from :class:`Scorer`.

A scorer holds what :func:`rewardkit.model.loading.load_reward_model` opened — a single model,
K linear heads on one backbone, or K member models — and answers with
:class:`~rewardkit.model.scores.Scores` (rewards, each member's rewards, their spread, and on
request the head-input features).

Calls, all through one forward loop (:func:`rewardkit.model.inference.forward_sequences`):
:meth:`Scorer.score` (prompt, response texts), :meth:`Scorer.score_ids` (token ids already
encoded, e.g. by the server), :meth:`Scorer.score_pairs` (preference pairs, with the
over-long policy) and :meth:`Scorer.score_encoded_pairs` (pairs training already encoded);
:meth:`Scorer.scores_from_features` applies the head(s) to features the frozen-feature path
already has, without a forward pass; :meth:`Scorer.mc_dropout_deltas` adds T stochastic passes
of scored pairs with dropout on (an uncertainty, never a reward).
Repeated texts (evaluation's probes rescore the same chosen responses) are cached by
:meth:`Scorer.cached`, which wraps the forward loop and leaves the scorer as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardkit.bradley_terry import Calibration
from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.errors import UserError
from rewardkit.model.aggregate import aggregate_members, check_aggregate
from rewardkit.model.encode import EncodedPair, EncodeReport, TextEncoder
from rewardkit.model.ensemble import LinearHeads
from rewardkit.model.features import classification_head, head_parameters, rewards_from_features
from rewardkit.model.forward_cache import CachedForward
from rewardkit.model.inference import Forward, forward_sequences
from rewardkit.model.mc_dropout import DropoutDeltas, MCDropout, dropout_probability, seeded
from rewardkit.model.scores import ScoredPairs, Scores


@dataclass
class EncodingGroup:
    """Members that turn a text into the same token ids (indices into ``Scorer.models``)."""

    encoder: TextEncoder
    members: list[int]


class Scorer:
    """A single reward model, K heads on one backbone, or K member models, scored alike.

    Args:
        models: :class:`~rewardkit.model.reward_model.RewardModel` s, the primary model first;
            more than one makes a members ensemble.
        heads: K linear heads on the primary model's features (a heads ensemble).
        source: where it was loaded from (for descriptions).
        temperature: a calibrated temperature of the ensemble itself (a members manifest's),
            else the primary model's.
        calibration_exponent: the members manifest's exponent γ beside that temperature
            (None: 1); a manifest's calibration is used whole, never mixed with the primary's.
        primary_dir: the primary model's folder (feature statistics, calibration are stored
            there).
        manifest: a members folder's ``ensemble.json``.
        forward: the forward loop (``forward_sequences``, or a cache around it).
    """

    def __init__(
        self,
        models: Sequence,
        *,
        heads: LinearHeads | None = None,
        source: str = "",
        temperature: float | None = None,
        calibration_exponent: float | None = None,
        primary_dir: str | Path | None = None,
        manifest: dict | None = None,
        forward: Callable[..., Forward] = forward_sequences,
    ):
        if not models:
            raise ValueError("a scorer needs at least one model")
        if heads is not None and len(models) > 1:
            raise ValueError("an ensemble has heads or members, not both")
        self.models = list(models)
        self.primary = self.models[0]
        self.heads = heads
        self.source = source
        self._temperature = temperature
        self._exponent = calibration_exponent
        self.primary_dir = Path(primary_dir) if primary_dir else None
        self.manifest = manifest or {}
        self.forward = forward
        self.groups = _encoding_groups(self.models)
        if heads is not None:
            width = classification_head(self.primary.model)[1].in_features
            if heads.weight.shape[1] != width:
                raise UserError(
                    f"{source}: heads of width {heads.weight.shape[1]} do not fit "
                    f"the model's head input of width {width}"
                )

    # ------------------------------------------------------------------ what it is
    @property
    def kind(self) -> str:
        return (
            "heads" if self.heads is not None else "members" if len(self.models) > 1 else "single"
        )

    @property
    def k(self) -> int:
        return self.heads.k if self.heads is not None else len(self.models)

    @property
    def members(self) -> list | None:
        return self.models if self.kind == "members" else None

    @property
    def temperature(self) -> float:
        return self.calibration.temperature

    @property
    def calibration(self) -> Calibration:
        """P(chosen ≻ rejected)'s stored calibration (:mod:`rewardkit.bradley_terry`): the
        members manifest's when it has one, else the primary model's."""
        if self._temperature is not None:
            return Calibration.stored(self._temperature, self._exponent)
        return self.primary.calibration

    @property
    def temperature_calibrated(self) -> bool:
        return self._temperature is not None or self.primary.info.temperature is not None

    @property
    def encoder(self) -> TextEncoder:
        return self.primary.encoder

    @property
    def max_length(self) -> int:
        return int(self.primary.info.max_length)

    @property
    def has_linear_head(self) -> bool:
        try:
            classification_head(self.primary.model)
            return True
        except UserError:
            return False

    def normalize(self, rewards: np.ndarray) -> np.ndarray:
        """``(r − mean) / std`` with the primary model's stored normalization."""
        return self.primary.normalize(rewards)

    def normalize_members(self, members: np.ndarray) -> np.ndarray:
        """``(K, N)`` members' rewards, each with its own stored normalization (a members
        ensemble's member folders; heads share the primary model's)."""
        if self.heads is not None or len(self.models) == 1:
            return self.normalize(members)
        return np.stack([m.normalize(row) for m, row in zip(self.models, members)])

    def aggregate(self, members: np.ndarray, method: str, uwo_lambda: float) -> np.ndarray:
        """``(N,)`` reward (:mod:`rewardkit.model.aggregate`) of the members' raw rewards
        ``(K, N)`` (``Scores.members``): in normalized units, over the members' normalized
        rewards. ``min``/``uwo`` on one model is refused with one line."""
        check_aggregate(method, self.k, self.source or "the model")
        return aggregate_members(self.normalize_members(members), method, uwo_lambda)

    def describe(self) -> str:
        if self.kind == "heads":
            return f"{self.k} linear heads on one backbone ({self.source})"
        if self.kind == "members":
            return f"{self.k} member models ({self.source})"
        return f"a single model ({self.source})"

    def cached(self) -> "Scorer":
        """The same models with a forward loop that computes each distinct text once."""
        return Scorer(
            self.models,
            heads=self.heads,
            source=self.source,
            temperature=self._temperature,
            calibration_exponent=self._exponent,
            primary_dir=self.primary_dir,
            manifest=self.manifest,
            forward=CachedForward(forward_sequences),
        )

    # ------------------------------------------------------------------ scoring
    def score(
        self,
        prompts: Sequence[Prompt] | Prompt,
        responses: Sequence[str],
        *,
        batch_size: int = 0,
        progress: bool | None = False,
        features: bool = False,
        feature_map: Callable[[np.ndarray], np.ndarray] | None = None,
        overlong: str = "truncate",
    ) -> Scores:
        """Scores of each (prompt, response) with the model's own template; one prompt may be
        shared by all responses. An over-long text is cut by the over-length rule
        (:mod:`rewardkit.model.overlong`) and its ``tokens_removed`` counted; with
        ``overlong="error"`` a response that alone is too long raises ``ResponseTooLongError``
        naming it. ``features=True`` keeps the primary model's head inputs; ``feature_map``
        measures them pass by pass instead (``Scores.mapped``;
        :func:`~rewardkit.model.inference.forward_sequences`), so that a file of any length
        is measured without holding its ``(N, H)`` features."""
        if isinstance(prompts, str) or (prompts and isinstance(prompts[0], dict)):
            prompts = [prompts] * len(responses)
        if len(prompts) != len(responses):
            raise UserError(f"{len(prompts)} prompts for {len(responses)} responses")
        texts = list(zip(prompts, responses))
        fitted = [group.encoder.fit_texts(texts, overlong) for group in self.groups]
        scores = self._score_groups(
            [[f.ids for f in group] for group in fitted],
            batch_size=batch_size,
            progress=progress,
            features=features,
            feature_map=feature_map,
        )
        scores.tokens_removed = np.array([f.removed for f in fitted[0]], dtype=np.int64)
        return scores

    def score_ids(
        self,
        sequences: Sequence[Sequence[int]],
        *,
        batch_size: int = 0,
        progress: bool | None = False,
        features: bool = False,
        description: str = "scoring",
    ) -> Scores:
        """Scores of token-id sequences encoded by :attr:`encoder`."""
        if len(self.groups) > 1:
            first, other = (self.models[g.members[0]] for g in self.groups[:2])
            raise UserError(
                f"ensemble member {other.info.backbone} tokenizes differently from "
                f"{first.info.backbone} (vocabulary, template or max length); "
                "serve members that share a backbone, or serve them separately"
            )
        return self._score_groups(
            [sequences],
            batch_size=batch_size,
            progress=progress,
            features=features,
            description=description,
        )

    def score_pairs(
        self,
        pairs: Sequence[PreferencePair],
        *,
        overlong: str = "truncate",
        batch_size: int = 0,
        progress: bool | None = False,
        features: bool | None = None,
    ) -> ScoredPairs:
        """Encode ``pairs`` with the primary model's over-long policy and score every kept
        pair; ``features`` (default: whenever the head is linear) keeps the head inputs."""
        pairs = list(pairs)
        encoded, report = self.encoder.encode_pairs(pairs, overlong)
        return self.score_encoded_pairs(
            pairs, encoded, report, batch_size=batch_size, progress=progress, features=features
        )

    def score_encoded_pairs(
        self,
        pairs: Sequence[PreferencePair],
        encoded: list[EncodedPair],
        report: EncodeReport,
        *,
        batch_size: int = 0,
        progress: bool | None = False,
        features: bool | None = None,
    ) -> ScoredPairs:
        """Score pairs already encoded by :attr:`encoder` (``encoded[i].index`` points into
        ``pairs``)."""
        if features is None:
            features = self.has_linear_head
        kept = [pairs[e.index] for e in encoded]
        per_group = [[e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]]
        for group in self.groups[1:]:  # members that encode differently: their own ids
            again, _ = group.encoder.encode_pairs(kept, "truncate")
            if len(again) != len(encoded):
                member = self.models[group.members[0]]
                raise UserError(
                    f"member {member.info.backbone} drops {len(encoded) - len(again)}"
                    " pairs the first member keeps (over-long); give the members "
                    "the same --max-length"
                )
            per_group.append([e.chosen_ids for e in again] + [e.rejected_ids for e in again])
        scores = self._score_groups(
            per_group,
            batch_size=batch_size,
            progress=progress,
            features=features,
            description="scoring pairs",
        )
        return ScoredPairs.from_scores(kept, encoded, report, scores)

    def scores_from_features(self, features: np.ndarray) -> Scores:
        """Scores of texts whose head-input features ``(N, H)`` are already known (the
        frozen-feature path embeds once and fits heads): the heads applied to them, no
        forward pass. Single models and heads ensembles only."""
        if self.kind == "members":
            raise ValueError("members need their own forward passes, not shared features")
        weight, bias = head_parameters(self.primary.model)
        rewards = rewards_from_features(features, weight, bias)
        members = (
            self.heads.member_rewards(features) if self.heads is not None else rewards[None, :]
        )
        return Scores(rewards, members, np.asarray(features))

    def mc_dropout_probability(self, plan: MCDropout) -> tuple[float, str]:
        """``(p, where it came from)`` of :meth:`mc_dropout_deltas` (checked before any
        scoring: a members ensemble, or a model with no dropout to switch on, is one line)."""
        if self.kind == "members":
            raise UserError(
                f"--mc-dropout runs one model, and {self.describe()} are several; "
                "evaluate one member folder with it"
            )
        return dropout_probability(self.primary, plan.p)

    def mc_dropout_deltas(
        self,
        scored: ScoredPairs,
        plan: MCDropout,
        *,
        batch_size: int = 0,
        progress: bool | None = False,
    ) -> DropoutDeltas:
        """MC dropout (:mod:`rewardkit.model.mc_dropout`): ``plan.passes`` forward passes of
        ``scored``'s pairs (the token ids they were scored from) with dropout on, through the
        one forward loop, never cached (each pass draws new masks). The primary model's
        reward: a single model, or a heads ensemble's saved (mean) head."""
        p, source = self.mc_dropout_probability(plan)
        sequences = [e.chosen_ids for e in scored.encoded] + [
            e.rejected_ids for e in scored.encoded
        ]
        n, passes = len(scored.encoded), []
        with seeded(plan.seed, self.primary.device):
            for t in range(plan.passes):
                rewards = forward_sequences(
                    self.primary,
                    sequences,
                    batch_size=batch_size,
                    progress=progress,
                    description=f"MC dropout pass {t + 1}/{plan.passes}",
                    dropout=p,
                ).rewards
                passes.append(rewards[:n] - rewards[n:])
        deltas = np.stack(passes) if passes else np.zeros((0, n))
        return DropoutDeltas(deltas, p, source, plan.seed)

    # ------------------------------------------------------------------ internals
    def _score_groups(
        self,
        per_group: list,
        *,
        batch_size: int,
        progress: bool | None,
        features: bool,
        feature_map: Callable[[np.ndarray], np.ndarray] | None = None,
        description: str = "scoring",
    ) -> Scores:
        """Run every model on its group's sequences and combine them into :class:`Scores`."""
        kwargs = {"batch_size": batch_size, "progress": progress, "description": description}
        if self.heads is not None:
            return self._score_heads(per_group[0], features, feature_map, kwargs)
        if len(self.models) == 1:
            out = self.forward(
                self.primary, per_group[0], features=features, feature_map=feature_map, **kwargs
            )
            return Scores(out.rewards, out.rewards[None, :], out.features, mapped=out.mapped)
        rows, primary = [], None
        for group, sequences in zip(self.groups, per_group):
            for j in group.members:
                first = j == 0  # the primary model: its features are the ensemble's
                out = self.forward(
                    self.models[j],
                    sequences,
                    features=features and first,
                    feature_map=feature_map if first else None,
                    **kwargs,
                )
                rows.append((j, out.rewards))
                primary = out if first else primary
        members = np.stack([rewards for _, rewards in sorted(rows, key=lambda r: r[0])])
        return Scores(members.mean(axis=0), members, primary.features, mapped=primary.mapped)

    def _score_heads(self, sequences, features: bool, feature_map, kwargs: dict) -> Scores:
        """A heads ensemble: its K heads read the primary model's head inputs. Unless the
        features are asked for, the heads' rewards (and ``feature_map``'s values) are taken
        pass by pass, so that no ``(N, H)`` features are kept."""
        heads = self.heads
        if features:
            out = self.forward(self.primary, sequences, features=True, **kwargs)
            return Scores(out.rewards, heads.member_rewards(out.features), out.features)

        def heads_then_map(rows: np.ndarray) -> np.ndarray:  # (b, K + D)
            columns = [heads.member_rewards(rows).T]
            if feature_map is not None:
                columns.append(feature_map(rows))
            return np.hstack(columns)

        out = self.forward(self.primary, sequences, feature_map=heads_then_map, **kwargs)
        members = np.ascontiguousarray(out.mapped[:, : heads.k].T)
        mapped = out.mapped[:, heads.k :] if feature_map is not None else None
        return Scores(out.rewards, members, mapped=mapped)


def _encoding_groups(models: Sequence) -> list[EncodingGroup]:
    """Members grouped by how they encode text (the primary model's group first)."""
    groups: list[EncodingGroup] = []
    signatures: list[str] = []
    for j, model in enumerate(models):
        signature = model.encoder.signature()
        if signature in signatures:
            groups[signatures.index(signature)].members.append(j)
        else:
            signatures.append(signature)
            groups.append(EncodingGroup(model.encoder, [j]))
    return groups
