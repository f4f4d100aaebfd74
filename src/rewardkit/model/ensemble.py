"""Reward-model ensembles: one format for every use (eval, serving, active learning).

Deep ensembles measure what a single reward model cannot: where its members disagree
(Lakshminarayanan et al. 2017; for reward models Coste et al. 2023, arXiv 2310.02743, and
Eisenstein et al. 2023, arXiv 2312.09244). Three layouts load the same way:

========================  ===================================================================
layout                    on disk
========================  ===================================================================
heads (form b)            one standard ``num_labels=1`` model whose head is the exact mean of
                          K linear heads, plus ``ensemble_heads.safetensors`` (``weight``
                          (K, H), ``bias`` (K,)) and ``"ensemble"`` in ``rewardkit.json``.
                          Any tool that ignores the extra file gets the mean reward.
members (form a)          a folder with ``ensemble.json`` and K standard model folders
                          (``member-0/`` … ``member-{K-1}/``); the reward is their mean.
combined                  ``DIR1,DIR2,…``: separately trained models, used as members.
========================  ===================================================================

    ensemble = RewardEnsemble.from_pretrained("runs/hh")           # or "a,b,c"
    mean, std, per_member = ensemble.score_with_spread(prompts, responses)

For heads, the shared features are computed once and the K heads applied to them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from rewardkit.data.records import PreferencePair, Prompt
from rewardkit.errors import UserError
from rewardkit.model.encode import EncodedPair, EncodeReport
from rewardkit.model.features import classification_head, extract_features
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import write_json_atomic

HEADS_FILE = "ensemble_heads.safetensors"
MEMBERS_FILE = "ensemble.json"


# ---------------------------------------------------------------------------- files
def save_ensemble_heads(
    directory: str | Path, weight: np.ndarray, bias: np.ndarray, metadata: dict | None = None
) -> Path:
    """Write ``ensemble_heads.safetensors``: ``weight (K, H)`` and ``bias (K,)`` in float32."""
    path = Path(directory) / HEADS_FILE
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    save_file(
        {
            "weight": np.ascontiguousarray(weight, dtype=np.float32),
            "bias": np.ascontiguousarray(bias, dtype=np.float32),
        },
        str(path),
        metadata=meta,
    )
    return path


def load_ensemble_heads(directory: str | Path) -> tuple[np.ndarray, np.ndarray]:
    tensors = load_file(str(Path(directory) / HEADS_FILE))
    weight, bias = tensors["weight"].astype(np.float64), tensors["bias"].astype(np.float64)
    if weight.ndim != 2 or bias.shape != (weight.shape[0],):
        raise UserError(
            f"{Path(directory) / HEADS_FILE}: expected weight (K, H) and bias (K,), "
            f"got {weight.shape} and {bias.shape}"
        )
    return weight, bias


def write_members_manifest(directory: str | Path, members: Sequence[str], **extra) -> Path:
    """``ensemble.json`` of a members folder (member paths relative to it)."""
    path = Path(directory) / MEMBERS_FILE
    write_json_atomic(
        path, {"form": "members", "k": len(members), "members": list(members), **extra}
    )
    return path


def read_members_manifest(directory: str | Path) -> dict:
    return json.loads((Path(directory) / MEMBERS_FILE).read_text(encoding="utf-8"))


def is_ensemble_dir(path: str | Path) -> bool:
    path = Path(path)
    return (path / MEMBERS_FILE).is_file() or (path / HEADS_FILE).is_file()


# ---------------------------------------------------------------------------- scoring
@dataclass
class ScoredPairs:
    """Pairs kept after the over-long policy, with everything measured on them.

    ``r_chosen``/``r_rejected`` (N,) are the ensemble's rewards (the mean over members);
    ``members_*`` (K, N) each member's; ``features_*`` (N, H) the primary model's head input
    (None when its head is not linear)."""

    pairs: list[PreferencePair]
    encoded: list[EncodedPair]
    report: EncodeReport
    r_chosen: np.ndarray
    r_rejected: np.ndarray
    members_chosen: np.ndarray
    members_rejected: np.ndarray
    features_chosen: np.ndarray | None
    features_rejected: np.ndarray | None

    @property
    def spread(self) -> np.ndarray:
        """Per pair, the std over members (ddof 0) of ``Δ_k``; zeros for a single model."""
        return (self.members_chosen - self.members_rejected).std(axis=0)


class RewardEnsemble:
    """A single reward model, K heads on one backbone, or K member models, scored alike."""

    def __init__(
        self,
        primary: RewardModel,
        *,
        heads: tuple[np.ndarray, np.ndarray] | None = None,
        members: list[RewardModel] | None = None,
        source: str = "",
        temperature: float | None = None,
        primary_dir: str | Path | None = None,
        manifest: dict | None = None,
    ):
        if heads is not None and members is not None:
            raise ValueError("an ensemble has heads or members, not both")
        self.primary = primary
        self.heads = heads
        self.members = members
        self.source = source
        self._temperature = temperature
        self.primary_dir = Path(primary_dir) if primary_dir else None
        self.manifest = manifest or {}
        self._memo: dict[bytes, tuple[float, np.ndarray | None]] = {}
        self._linear = _has_linear_head(primary)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        spec: str | Path | Sequence[str | Path],
        **load_kwargs,
    ) -> "RewardEnsemble":
        """A model folder (with or without ``ensemble_heads.safetensors``), a members folder
        (``ensemble.json``), or several model folders (a list or ``"DIR1,DIR2,…"``)."""
        if isinstance(spec, (str, Path)) and "," in str(spec):
            spec = [s for s in str(spec).split(",") if s.strip()]
        if not isinstance(spec, (str, Path)):
            paths = [Path(str(s).strip()) for s in spec]
            if len(paths) == 1:
                return cls.from_pretrained(paths[0], **load_kwargs)
            members = [RewardModel.from_pretrained(p, **load_kwargs) for p in paths]
            return cls(
                members[0], members=members, source=",".join(map(str, paths)), primary_dir=paths[0]
            )
        path = Path(spec)
        if (path / MEMBERS_FILE).is_file() and not (path / "config.json").is_file():
            manifest = read_members_manifest(path)
            members = [
                RewardModel.from_pretrained(path / m, **load_kwargs) for m in manifest["members"]
            ]
            if not members:
                raise UserError(f"{path / MEMBERS_FILE}: lists no members")
            return cls(
                members[0],
                members=members,
                source=str(path),
                temperature=manifest.get("temperature"),
                primary_dir=path / manifest["members"][0],
                manifest=manifest,
            )
        primary = RewardModel.from_pretrained(path, **load_kwargs)
        if (path / HEADS_FILE).is_file():
            weight, bias = load_ensemble_heads(path)
            _, head = classification_head(primary.model)
            if weight.shape[1] != head.in_features:
                raise UserError(
                    f"{path / HEADS_FILE}: heads of width {weight.shape[1]} do not "
                    f"fit the model's head input of width {head.in_features}"
                )
            return cls(primary, heads=(weight, bias), source=str(path), primary_dir=path)
        return cls(primary, source=str(path), primary_dir=path)

    # ------------------------------------------------------------------ properties
    @property
    def kind(self) -> str:
        return "heads" if self.heads is not None else "members" if self.members else "single"

    @property
    def k(self) -> int:
        if self.heads is not None:
            return int(self.heads[0].shape[0])
        return len(self.members) if self.members else 1

    @property
    def temperature(self) -> float:
        return float(self._temperature or self.primary.temperature)

    def describe(self) -> str:
        if self.kind == "heads":
            return f"{self.k} linear heads on one backbone ({self.source})"
        if self.kind == "members":
            return f"{self.k} member models ({self.source})"
        return f"a single model ({self.source})"

    # ------------------------------------------------------------------ texts
    def score_with_spread(
        self, prompts: Sequence[Prompt] | Prompt, responses: Sequence[str], *, batch_size: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mean (N,), std across members (N,), per_member (K, N))`` raw rewards.

        ``mean`` is the ensemble's reward (for heads: the saved model's own reward); ``std``
        uses ddof 0 and is 0 for a single model."""
        if self.members:
            per_member = np.stack(
                [m.score(prompts, responses, batch_size=batch_size) for m in self.members]
            )
        else:
            if isinstance(prompts, str) or (prompts and isinstance(prompts[0], dict)):
                prompts = [prompts] * len(responses)
            sequences = self.primary.encode_responses(prompts, responses)
            rewards, features = self._primary_scores(sequences, batch_size=batch_size, memo=False)
            per_member = self._members_from_features(rewards, features)
        return per_member.mean(axis=0), per_member.std(axis=0), per_member

    # ------------------------------------------------------------------ pairs
    def score_pairs(
        self,
        pairs: Sequence[PreferencePair],
        *,
        overlong: str = "truncate-prompt",
        batch_size: int = 0,
        progress: bool | None = False,
    ) -> ScoredPairs:
        """Encode with the primary model's policy and score every kept pair."""
        pairs = list(pairs)
        encoded, report = self.primary.encoder.encode_pairs(pairs, overlong)
        sequences = [e.chosen_ids for e in encoded] + [e.rejected_ids for e in encoded]
        rewards, features = self._primary_scores(
            sequences, batch_size=batch_size, progress=progress
        )
        n = len(encoded)
        kept = [pairs[e.index] for e in encoded]
        if self.members:
            per_member = [np.concatenate([rewards[:n], rewards[n:]])]
            for member in self.members[1:]:
                r_c, r_r, kept_idx, _ = member.score_pairs(
                    kept, batch_size=batch_size, overlong="truncate-prompt"
                )
                if len(kept_idx) != n:
                    raise UserError(
                        f"member {member.info.backbone} drops {n - len(kept_idx)} "
                        "pairs the first member keeps (over-long); give the members "
                        "the same --max-length"
                    )
                per_member.append(np.concatenate([r_c, r_r]))
            stacked = np.stack(per_member)
        else:
            stacked = self._members_from_features(rewards, features)
        mean = stacked.mean(axis=0)
        return ScoredPairs(
            pairs=kept,
            encoded=encoded,
            report=report,
            r_chosen=mean[:n],
            r_rejected=mean[n:],
            members_chosen=stacked[:, :n],
            members_rejected=stacked[:, n:],
            features_chosen=None if features is None else features[:n],
            features_rejected=None if features is None else features[n:],
        )

    # ------------------------------------------------------------------ internals
    def _members_from_features(
        self,
        rewards: np.ndarray,
        features: np.ndarray | None,
    ) -> np.ndarray:
        if self.heads is None:
            return rewards[None, :]
        weight, bias = self.heads
        return weight @ np.asarray(features, dtype=np.float64).T + bias[:, None]

    def _primary_scores(
        self,
        sequences: Sequence[Sequence[int]],
        *,
        batch_size: int = 0,
        progress: bool | None = False,
        memo: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Rewards and features of the primary model. With ``memo`` (evaluation: probes
        rescore the same chosen texts again and again) texts seen before are not recomputed."""
        if not memo:
            if self._linear:
                features, rewards = extract_features(
                    self.primary, sequences, batch_size=batch_size, progress=progress
                )
                return rewards, features
            return self.primary.score_ids(sequences, batch_size=batch_size, progress=progress), None
        keys = [np.asarray(s, dtype="<i8").tobytes() for s in sequences]
        todo = sorted({k for k in keys if k not in self._memo})
        if todo:
            fresh = [np.frombuffer(k, dtype="<i8") for k in todo]
            if self._linear:
                feats, rewards = extract_features(
                    self.primary,
                    fresh,
                    batch_size=batch_size,
                    progress=progress,
                    description="scoring",
                )
            else:
                rewards = self.primary.score_ids(fresh, batch_size=batch_size, progress=progress)
                feats = [None] * len(fresh)
            for key, reward, feat in zip(todo, rewards, feats):
                self._memo[key] = (float(reward), feat)
        rewards = np.array([self._memo[k][0] for k in keys], dtype=np.float64)
        if not self._linear:
            return rewards, None
        if not keys:
            width = classification_head(self.primary.model)[1].in_features
            return rewards, np.zeros((0, width), dtype=np.float32)
        return rewards, np.stack([self._memo[k][1] for k in keys])


def _has_linear_head(model: RewardModel) -> bool:
    try:
        classification_head(model.model)
        return True
    except UserError:
        return False


def load_reward_target(model: str, ensemble: str | None = None, **load_kwargs) -> RewardEnsemble:
    """What ``rewardkit eval``/``compare`` score with: ``--model`` alone (a model or an
    ensemble folder), or ``--ensemble DIR1,DIR2,…`` combining separate models."""
    if ensemble:
        specs = [s for s in ensemble.split(",") if s.strip()]
        if model and model not in specs:
            specs = [model] + specs
        return RewardEnsemble.from_pretrained(specs, **load_kwargs)
    return RewardEnsemble.from_pretrained(model, **load_kwargs)
