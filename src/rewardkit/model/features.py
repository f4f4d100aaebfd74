"""Head-input features: what a reward model's final linear layer reads, text by text.

A ``num_labels=1`` sequence classifier ends in one linear layer, ``reward = w·f + b``. ``f`` is

=====================  ===================================================================
architecture           f (the feature of one text)
=====================  ===================================================================
BERT-style encoders    the pooler output (``BertForSequenceClassification``: pooler →
                       dropout → ``classifier``; dropout is off in eval mode)
RoBERTa-style heads    the input of ``classifier.out_proj`` (after its dense + tanh)
decoders (``score``)   the last non-pad token's final hidden state (HF's own pooling rule)
=====================  ===================================================================

Everything built on frozen features uses these: linear heads and head ensembles
(:mod:`rewardkit.train.heads`), the frozen-backbone fast path, and the Mahalanobis OOD
statistics (:mod:`rewardkit.eval.ood`). Applying the model's own head to the features
reproduces its rewards (tested to 1e-5 in fp32), so a head fitted on features drops into the
saved model unchanged.

The on-disk :class:`FeatureCache` keys features by a fingerprint of the backbone's weights
and of the exact token ids, so each text is embedded once across runs, ensemble members and
sweeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rewardkit.errors import UserError
from rewardkit.model.attention import shape_stable_attention
from rewardkit.model.collate import pad_right, scoring_batches, to_device
from rewardkit.model.reward_model import RewardModel, autocast_for
from rewardkit.progress import progress_bar


def classification_head(hf_model) -> tuple[str, torch.nn.Linear]:
    """``(name, module)`` of the final linear layer that produces the reward."""
    for name in ("score", "classifier.out_proj", "classifier"):
        module = hf_model
        for part in name.split("."):
            module = getattr(module, part, None)
            if module is None:
                break
        if isinstance(module, torch.nn.Linear):
            if module.out_features != 1:
                raise UserError(
                    f"the model's head {name} has {module.out_features} outputs; "
                    "a reward model has num_labels=1"
                )
            return name, module
    raise UserError(
        f"{type(hf_model).__name__}: no linear reward head (score / classifier) "
        "found; head ensembles and OOD features need one"
    )


def head_parameters(hf_model) -> tuple[np.ndarray, float]:
    """The reward head as ``(w (H,), b)`` in float64 (``b = 0`` when the head has no bias)."""
    _, head = classification_head(hf_model)
    weight = head.weight.detach().double().cpu().numpy()[0]
    bias = float(head.bias.detach().double().cpu()[0]) if head.bias is not None else 0.0
    return weight, bias


def set_head_parameters(hf_model, weight: np.ndarray, bias: float) -> None:
    """Overwrite the reward head with ``w, b`` (a head without a bias must get ``b = 0``)."""
    name, head = classification_head(hf_model)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(np.asarray(weight)[None, :], dtype=head.weight.dtype))
        if head.bias is not None:
            head.bias.fill_(float(bias))
        elif abs(float(bias)) > 1e-12:
            raise UserError(f"the head {name} has no bias; cannot set bias {bias}")


def head_has_bias(hf_model) -> bool:
    return classification_head(hf_model)[1].bias is not None


def head_input_description(model: RewardModel) -> str:
    name, _ = classification_head(model.model)
    if name == "score":
        return "the last non-pad token's final hidden state (input of `score`)"
    if name == "classifier.out_proj":
        return "the input of `classifier.out_proj` (after the head's dense + tanh)"
    return "the pooler output of the first ([CLS]) token (input of `classifier`)"


FLUSH_EVERY = 32  # batches whose outputs stay on the device before one copy to the host


@torch.inference_mode()
def extract_features(
    model: RewardModel,
    sequences: Sequence[Sequence[int]],
    *,
    batch_size: int = 0,
    progress: bool | None = False,
    description: str = "embedding",
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(N, H)`` float32 and the model's own rewards ``(N,)`` float64, in input order.

    Batches are length-sorted and right-padded, as :meth:`RewardModel.score_ids` does, so the
    rewards equal the model's scores; the features are captured at the head's input."""
    name, head = classification_head(model.model)
    captured: list[torch.Tensor] = []
    hook = head.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
    was_training = model.model.training
    model.model.eval()
    n = len(sequences)
    batches = scoring_batches(
        [len(s) for s in sequences], batch_size, model.device, model.pad_multiple
    )
    features: np.ndarray | None = None
    rewards = np.zeros(n, dtype=np.float64)
    pending: list[tuple[np.ndarray, torch.Tensor, torch.Tensor]] = []

    def to_host() -> None:
        """Copy the pending batches' outputs to the host: on CUDA each copy makes the host
        wait for the GPU, so it happens every FLUSH_EVERY batches, not after each."""
        nonlocal features
        for rows, batch_rewards, hidden in pending:
            block = hidden.float().cpu().numpy()
            if features is None:
                features = np.zeros((n, block.shape[1]), dtype=np.float32)
            features[rows] = block
            rewards[rows] = batch_rewards.double().cpu().numpy()
        pending.clear()

    started = time.perf_counter()
    try:
        with (
            progress_bar(description, n, show=progress) as bar,
            shape_stable_attention(model.device),
        ):
            done = 0
            for rows in batches:
                ids, mask = pad_right(
                    [sequences[i] for i in rows], model.pad_id, multiple_of=model.pad_multiple
                )
                captured.clear()
                ids, mask = to_device(ids, model.device), to_device(mask, model.device)
                with autocast_for(model.info.precision, model.device):
                    logits = model.model(input_ids=ids, attention_mask=mask).logits
                hidden = captured[-1]
                if hidden.dim() == 3:  # decoders: HF pools the last non-pad token
                    positions = torch.arange(ids.shape[1], device=ids.device)
                    last = (positions * (ids != model.pad_id).int()).argmax(-1)
                    hidden = hidden[torch.arange(ids.shape[0], device=ids.device), last]
                pending.append((rows, logits[:, 0], hidden))
                if len(pending) >= FLUSH_EVERY:
                    to_host()
                done += len(rows)
                bar.update(len(rows), rate=done / max(time.perf_counter() - started, 1e-9))
            to_host()
    finally:
        hook.remove()
        model.model.train(was_training)
    if features is None:
        hidden_size = head.in_features
        features = np.zeros((0, hidden_size), dtype=np.float32)
    return features, rewards


def rewards_from_features(
    features: np.ndarray,
    weight: np.ndarray,
    bias: float | np.ndarray,
) -> np.ndarray:
    """``F·wᵀ + b``: one head ``w (H,)`` → ``(N,)``; K heads ``w (K, H), b (K,)`` → ``(K, N)``."""
    features = np.asarray(features, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim == 1:
        return features @ weight + float(bias)
    return weight @ features.T + np.asarray(bias, dtype=np.float64)[:, None]


# ---------------------------------------------------------------------------- fingerprints
def backbone_fingerprint(model: RewardModel) -> str:
    """sha256 of every weight except the reward head, plus the settings that change features
    (precision, scoring rule). Two models with this fingerprint produce the same features."""
    head_name, _ = classification_head(model.model)
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "precision": model.info.precision,
                "scoring": model.info.scoring.get("rule"),
                "class": type(model.model).__name__,
            },
            sort_keys=True,
        ).encode()
    )
    for key, tensor in sorted(model.model.state_dict().items()):
        if key.startswith(head_name + "."):
            continue
        digest.update(key.encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def sequences_fingerprint(sequences: Sequence[Sequence[int]]) -> str:
    """sha256 of the token id sequences, in order (length-prefixed int64 little-endian)."""
    digest = hashlib.sha256()
    for seq in sequences:
        array = np.asarray(seq, dtype="<i8")
        digest.update(np.int64(array.size).tobytes())
        digest.update(array.tobytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """``$REWARDKIT_CACHE/features``, else ``~/.cache/rewardkit/features``."""
    root = os.environ.get("REWARDKIT_CACHE") or Path.home() / ".cache" / "rewardkit"
    return Path(root) / "features"


class FeatureCache:
    """Features on disk, one ``.npy`` (float32, memory-mapped on read) + ``.json`` per key.

    Key = sha256(backbone fingerprint, token-id fingerprint): any change of weights,
    precision, template, max length or data gives a new key, never a stale hit."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else default_cache_dir()

    def key(self, backbone: str, sequences_digest: str) -> str:
        return hashlib.sha256(f"{backbone}\n{sequences_digest}".encode()).hexdigest()[:32]

    def load(self, key: str) -> np.ndarray | None:
        path = self.root / f"{key}.npy"
        if not (path.is_file() and (self.root / f"{key}.json").is_file()):
            return None
        return np.load(path, mmap_mode="r")

    def save(self, key: str, features: np.ndarray, meta: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".npy")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, np.ascontiguousarray(features, dtype=np.float32))
        os.replace(tmp, self.root / f"{key}.npy")
        meta_path = self.root / f"{key}.json"
        meta_path.write_text(json.dumps(meta, indent=2))


def cached_features(
    model: RewardModel,
    sequences: Sequence[Sequence[int]],
    *,
    cache: FeatureCache | None,
    batch_size: int = 0,
    progress: bool | None = False,
    description: str = "embedding",
    backbone_key: str | None = None,
    meta: dict | None = None,
) -> tuple[np.ndarray, bool]:
    """Features of ``sequences`` (unique texts embedded once), from ``cache`` when present.
    Returns ``(features (N, H), hit)``."""
    unique: dict[bytes, int] = {}
    index = np.empty(len(sequences), dtype=np.int64)
    for i, seq in enumerate(sequences):
        index[i] = unique.setdefault(np.asarray(seq, dtype="<i8").tobytes(), len(unique))
    distinct = [np.frombuffer(raw, dtype="<i8") for raw in unique]
    key = None
    if cache is not None:
        key = cache.key(
            backbone_key or backbone_fingerprint(model), sequences_fingerprint(distinct)
        )
        stored = cache.load(key)
        if stored is not None and stored.shape[0] == len(distinct):
            return np.asarray(stored)[index], True
    features, _ = extract_features(
        model, distinct, batch_size=batch_size, progress=progress, description=description
    )
    if cache is not None and key is not None:
        cache.save(
            key,
            features,
            {
                "texts": len(distinct),
                "hidden": int(features.shape[1]),
                "backbone": model.info.backbone,
                "max_length": model.info.max_length,
                "precision": model.info.precision,
                **(meta or {}),
            },
        )
    return features[index], False


class FeatureRecorder:
    """Records the head input of every text the model scores while active, keyed by the
    text's token ids (right-padded batches, as :meth:`RewardModel.score_ids` makes them).

        with FeatureRecorder(model) as recorder:
            model.score_ids(sequences)           # e.g. training's final evaluation
        features = recorder.lookup(sequences)    # None where a text was not seen

    It saves a second forward pass over texts that were just scored; anything it missed
    (another batching scheme, say) is simply recomputed by the caller."""

    def __init__(self, model: RewardModel):
        self.model = model
        self.store: dict[bytes, np.ndarray] = {}
        self._handles: list = []
        self._batch: dict = {}

    def __enter__(self) -> "FeatureRecorder":
        try:
            _, head = classification_head(self.model.model)
        except UserError:
            return self
        self._handles.append(
            self.model.model.register_forward_pre_hook(self._on_model_input, with_kwargs=True)
        )
        self._handles.append(head.register_forward_pre_hook(self._on_head_input))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _on_model_input(self, _module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        self._batch = (
            {"ids": ids, "mask": mask}
            if ids is not None and mask is not None and kwargs.get("position_ids") is None
            else {}
        )

    def _on_head_input(self, _module, args):
        if not self._batch:
            return
        ids, mask, hidden = self._batch["ids"], self._batch["mask"], args[0].detach()
        self._batch = {}
        if hidden.dim() == 3:
            positions = torch.arange(ids.shape[1], device=ids.device)
            last = (positions * (ids != self.model.pad_id).int()).argmax(-1)
            hidden = hidden[torch.arange(ids.shape[0], device=ids.device), last]
        lengths = mask.sum(-1).tolist()
        for row, length in enumerate(lengths):
            if bool(mask[row, :length].all()):
                key = ids[row, :length].cpu().numpy().astype("<i8").tobytes()
                self.store[key] = hidden[row].float().cpu().numpy()

    def lookup(self, sequences: Sequence[Sequence[int]]) -> list[np.ndarray | None]:
        return [self.store.get(np.asarray(s, dtype="<i8").tobytes()) for s in sequences]
