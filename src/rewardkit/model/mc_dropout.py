"""MC dropout: dropout left on at inference, T stochastic passes, their spread.

Gal & Ghahramani 2016 ("Dropout as a Bayesian Approximation: Representing Model Uncertainty
in Deep Learning", ICML): each pass with fresh dropout masks is a sample of the weights, and
the spread of the outputs over T passes estimates the model's uncertainty. For a reward
model the quantity is the pair's Δ_t = r_t(chosen) − r_t(rejected), t = 1…T; its std over
the passes is the ``mc_dropout`` uncertainty of :mod:`rewardkit.eval.uncertainty`.

The reward itself stays the deterministic one (dropout off: the weight-scaling rule of
Srivastava et al. 2014), so accuracy, calibration and every other figure are unchanged; the
passes only add the spread.

Which dropout probability. rewardkit trains with dropout off by default
(``--disable-dropout``, as TRL does), and then saves a config whose dropout probabilities are
all 0 — the modules are still there, so MC dropout can switch them on, but with what ``p``?
:func:`dropout_probability` takes, in this order:

1. the ``p`` the user gives (``--mc-dropout-p``);
2. the model's own config, when it holds a dropout probability above 0 (a model trained with
   dropout on, or one trained elsewhere);
3. the config of the backbone the model was trained from (``rewardkit.json``'s ``backbone``,
   resolved as training resolved it: the default MiniLM's is 0.1), i.e. the dropout the
   backbone was pretrained with;
4. otherwise one line asking for ``--mc-dropout-p``.

The largest dropout probability of the config is applied to every dropout layer
(``torch.nn.Dropout``, and the attention dropout of architectures that keep it as a float,
e.g. Llama's ``attention_dropout``). A model trained without dropout was never fitted to these
masks, so this is the approximation as practitioners use it, not Gal & Ghahramani's posterior;
``rewardkit train --no-disable-dropout`` trains a model for which it is the exact recipe.

Determinism: the passes draw their masks from torch's generator seeded with ``seed`` inside
:func:`seeded` (the caller's random state is restored afterwards), so the same seed, texts,
batch size and device give the same spread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rewardkit.errors import UserError

if TYPE_CHECKING:  # torch and numpy load on use: EvalConfig imports MCDropout (a light import)
    import numpy as np
    import torch

ATTENTION_DROPOUT_ATTRIBUTES = ("attention_dropout",)  # float attributes, e.g. Llama's


@dataclass
class MCDropout:
    """``passes`` stochastic forward passes at dropout probability ``p`` (None: the model's,
    see :func:`dropout_probability`), masks drawn from ``seed``."""

    passes: int
    p: float | None = None
    seed: int = 0

    def __post_init__(self):
        if self.passes < 2:
            raise UserError(f"--mc-dropout {self.passes}: needs at least 2 passes for a spread")
        if self.p is not None and not 0 < self.p < 1:
            raise UserError(f"--mc-dropout-p {self.p}: must be between 0 and 1 (exclusive)")


@dataclass
class DropoutDeltas:
    """What :meth:`rewardkit.model.scorer.Scorer.mc_dropout_deltas` measured: ``deltas``
    ``(T, N)``, Δ_t of each pair in each pass, and the dropout probability used (with where
    it came from)."""

    deltas: np.ndarray
    p: float
    p_source: str
    seed: int

    def describe(self) -> dict:
        return {
            "passes": int(self.deltas.shape[0]),
            "p": self.p,
            "p_from": self.p_source,
            "seed": self.seed,
        }


def config_dropout(config) -> float:
    """The largest dropout probability among a HF config's float ``*dropout*`` fields (0 if
    none)."""
    values = [
        float(value)
        for key, value in config.to_dict().items()
        if "dropout" in key and isinstance(value, float)
    ]
    return max(values, default=0.0)


def dropout_probability(model, override: float | None = None) -> tuple[float, str]:
    """``(p, where it came from)`` for MC dropout on ``model`` (a
    :class:`~rewardkit.model.reward_model.RewardModel`): see the module docstring."""
    if override is not None:
        return float(override), "--mc-dropout-p"
    own = config_dropout(model.model.config)
    if own > 0:
        return own, "the model's config"
    backbone = model.info.backbone
    p = _backbone_dropout(backbone)
    if p is None or p <= 0:
        why = "has none" if p is not None else "cannot be read here"
        raise UserError(
            "--mc-dropout: the model's config has dropout 0 (trained with dropout off) and "
            f"its backbone {backbone!r} {why}; pass --mc-dropout-p P (0.1 is usual)"
        )
    return p, f"the backbone's config ({backbone})"


def _backbone_dropout(backbone: str) -> float | None:
    """The backbone's config dropout, or None when it cannot be read offline."""
    from rewardkit.model.backbone import DEFAULT_BACKBONE, resolve_backbone
    from rewardkit.model.hf_folder import load_config

    try:
        source = resolve_backbone(backbone if backbone != DEFAULT_BACKBONE else None)
        if not Path(source).exists():
            return None  # a hub id: not fetched for this
        return config_dropout(load_config(source, trust_remote_code=False))
    except UserError:
        return None


@contextmanager
def dropout_active(module: torch.nn.Module, p: float) -> Iterator[None]:
    """Every dropout layer of ``module`` on, at probability ``p``, for the ``with`` block;
    probabilities and train/eval flags are restored afterwards. ``p = 0`` changes nothing.

    Only the layers that own dropout switch to training mode, each alone (not its children):
    a ``torch.nn.Dropout`` and its parent (HF attention reads its *own* flag: BERT's
    ``dropout=self.dropout.p if self.training``), and modules with a float attention dropout
    (Llama's ``attention_dropout``). Nothing else changes mode."""
    import torch

    if p <= 0:
        yield
        return
    saved: list[tuple[object, str, object]] = []

    def put(obj, name: str, value) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    for sub in module.modules():
        layers = [c for c in sub.children() if isinstance(c, torch.nn.Dropout)]
        floats = [
            name
            for name in ATTENTION_DROPOUT_ATTRIBUTES
            if isinstance(getattr(sub, name, None), float)
        ]
        if not layers and not floats:
            continue
        put(sub, "training", True)
        for layer in layers:
            put(layer, "p", p)
            put(layer, "training", True)
        for name in floats:
            put(sub, name, p)
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """torch's generator(s) seeded with ``seed`` inside the block; the caller's random state
    comes back afterwards."""
    import torch

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
