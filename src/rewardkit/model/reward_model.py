"""``RewardModel``: a HF ``AutoModelForSequenceClassification(num_labels=1)`` plus its sidecar.

    rm = RewardModel.from_pretrained("runs/hh")
    rm.score(["Hi"], ["Hello! How can I help?"])     # raw rewards, numpy float64
    rm.compare("Hi", "Hello!", "Go away.")            # P(a ≻ b), stored calibration

Scores are computed by the model's own HF forward on right-padded batches, so plain
``transformers`` reproduces them from the saved directory (see the README's recipe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from rewardkit.bradley_terry import Calibration
from rewardkit.data.records import Prompt
from rewardkit.files import atomic_directory
from rewardkit.model.adapter_folder import is_adapter_folder, load_adapter_classifier
from rewardkit.model.backbone import ensure_distinct_pad, resolve_backbone, scoring_rule
from rewardkit.model.collate import pad_multiple_for, to_device
from rewardkit.model.device import autocast_for, check_precision, resolve_device
from rewardkit.model.encode import TextEncoder
from rewardkit.model.first_token import enable_first_token_last_layer
from rewardkit.model.folder_check import (
    CONFIG,
    check_model_folder,
    check_tokenizer_fits,
    is_model_file,
)
from rewardkit.model.fp32_head import keep_head_in_fp32
from rewardkit.model.hf_folder import (
    PLAIN_FOLDER_MAX_LENGTH,
    check_max_length,
    length_limit,
    load_classifier,
    load_tokenizer,
    no_dropout_overrides,
)
from rewardkit.model.model_card import model_card
from rewardkit.model.portability import left_padding_check
from rewardkit.model.scorer import Scorer
from rewardkit.model.sidecar import RewardKitInfo, read_info, write_info
from rewardkit.model.template import TextTemplate
from rewardkit.version import __version__


class RewardModel:
    """A reward model: HF model + tokenizer + :class:`RewardKitInfo`."""

    def __init__(self, model, tokenizer, info: RewardKitInfo):
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self.adapter = None  # AdapterFiles: saved instead of the weights (--no-merge-lora)
        if info.scoring.get("rule") == "first-token":  # exact; ~14% fewer FLOPs on MiniLM
            enable_first_token_last_layer(model)
        keep_head_in_fp32(model)  # under bf16 autocast the reward is not rounded to bf16
        self.template = TextTemplate.from_dict(info.template)
        self.encoder = TextEncoder(tokenizer, self.template, info.max_length)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_backbone(
        cls,
        backbone: str | None = None,
        *,
        max_length: int = 512,
        precision: str = "fp32",
        disable_dropout: bool = True,
        trust_remote_code: bool = False,
    ) -> "RewardModel":
        """A fresh reward model: the backbone with a new ``num_labels=1`` head. A local
        backbone folder is checked first (:func:`check_model_folder`)."""
        check_precision(precision)
        source = resolve_backbone(backbone)
        if Path(source).exists():
            check_model_folder(source, role="backbone", trust_remote_code=trust_remote_code)
        tokenizer = load_tokenizer(source, trust_remote_code)
        overrides = no_dropout_overrides(source, trust_remote_code) if disable_dropout else {}
        model = load_classifier(source, trust_remote_code, complete=False, **overrides)
        rule = scoring_rule(model)
        if rule == "last-token":
            ensure_distinct_pad(model, tokenizer)
        tokenizer.padding_side = "right"
        template = TextTemplate.for_tokenizer(tokenizer, is_decoder=rule == "last-token")
        check_max_length(max_length, length_limit(model.config, tokenizer), source)
        info = RewardKitInfo(
            backbone=str(backbone or "all-MiniLM-L6-v2"),
            template=template.to_dict(),
            max_length=max_length,
            precision=precision,
            rewardkit_version=__version__,
            scoring=_scoring_dict(rule, tokenizer),
        )
        return cls(model, tokenizer, info)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        *,
        max_length: int | None = None,
        template: TextTemplate | None = None,
        precision: str | None = None,
        device: str | None = None,
        trust_remote_code: bool = False,
    ) -> "RewardModel":
        """Load a saved reward model (safetensors only; nothing is unpickled), after
        :func:`check_model_folder`: a broken, incomplete or refused folder is one line.

        Directories without ``rewardkit.json`` (e.g. trained by TRL) work too: the template
        comes from the tokenizer's chat template, or ``template``. The max length is the
        smallest of the saved one (``rewardkit.json``), the tokenizer's ``model_max_length``
        and the position embeddings; ``max_length`` overrides it up to the last two.
        ``device``: ``auto`` (CUDA when visible), ``cpu``, ``cuda[:N]``; None keeps the CPU,
        as ``transformers`` does."""
        directory = Path(directory)
        if is_adapter_folder(directory):  # LoRA saved unmerged: base + adapter, merged here
            tokenizer = load_tokenizer(directory, trust_remote_code)
            model = load_adapter_classifier(directory, tokenizer, trust_remote_code)
        else:
            check_model_folder(directory, trust_remote_code=trust_remote_code)
            tokenizer = load_tokenizer(directory, trust_remote_code)
            model = load_classifier(directory, trust_remote_code, complete=True)
        check_tokenizer_fits(directory, tokenizer, model)
        model.eval()
        limit = length_limit(model.config, tokenizer)
        info = read_info(directory) or _plain_folder_info(directory, model, tokenizer, template)
        info.max_length = min(info.max_length, limit[0] or info.max_length)
        if max_length:
            info.max_length = check_max_length(max_length, limit, directory)
        if template is not None:
            info.template = template.to_dict()
        if precision:
            check_precision(precision)
            info.precision = precision
        if device:
            model.to(resolve_device(device))
        tokenizer.padding_side = "right"
        return cls(model, tokenizer, info)

    # ------------------------------------------------------------------ saving
    def save_pretrained(
        self, directory: str | Path, *, also: Callable[[Path], None] | None = None
    ) -> Path:
        """Save the model to ``directory`` atomically: the files are written into a temporary
        folder beside it (``also(folder)`` may add more: a run's metrics, ensemble heads),
        which then takes its place in one step (:func:`atomic_directory`), so a kill leaves
        the previous folder or the complete new one, never a mix. Files of a previous model
        there are replaced; anything else (logs, ``checkpoints/``, sub-folders) is kept
        (:func:`is_model_file`). A folder that cannot be renamed (a mount point) is filled in
        place, its ``config.json`` removed first and written last: until then it does not
        load."""
        with atomic_directory(
            directory, keep=lambda name: not is_model_file(name), commit_last=CONFIG
        ) as staging:
            self.write_files(staging)
            if also is not None:
                also(staging)
        return Path(directory)

    def write_files(self, directory: str | Path) -> Path:
        """Write safetensors weights, the tokenizer (with its chat template), rewardkit.json
        and the model card (``README.md``) into ``directory`` as they are (not atomic: see
        :meth:`save_pretrained`).

        ``config.json`` also gets OpenRLHF's ``mean``/``std`` keys, so OpenRLHF's
        ``--reward.normalize_enable`` uses the same normalization. The tokenizer carries the
        over-length rule (``model_max_length`` = the max length, ``truncation_side="left"``), and
        the sidecar whether left-padded batches change the scores
        (:mod:`rewardkit.model.portability`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        norm = self.info.normalization
        self.model.config.mean = float(norm.mean)
        self.model.config.std = float(norm.std)
        if self.adapter is not None:
            self.adapter.write(directory)
        else:
            self.model.save_pretrained(directory, safe_serialization=True)
        if self.template.chat_template_source != "tokenizer":
            self.tokenizer.chat_template = self.template.chat_template
        self.tokenizer.model_max_length = int(self.info.max_length)
        self.tokenizer.truncation_side = "left"
        self.tokenizer.save_pretrained(directory)
        self.info.scoring["left_padding"] = left_padding_check(self)
        write_info(directory, self.info)
        (directory / "README.md").write_text(model_card(self.info), encoding="utf-8")
        return directory

    # ------------------------------------------------------------------ scoring
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def pad_multiple(self) -> int:
        """Padded lengths are rounded up to this (:func:`pad_multiple_for` the device)."""
        return pad_multiple_for(self.device)

    @property
    def pad_id(self) -> int:
        return int(self.info.scoring["pad_token_id"])

    def forward_ids(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Rewards ``(B,)`` in fp32 for a padded batch (with grad if enabled)."""
        device = self.device
        kwargs = {
            "input_ids": to_device(input_ids, device),
            "attention_mask": to_device(attention_mask, device),
        }
        if position_ids is not None:
            kwargs["position_ids"] = to_device(position_ids, device)
        with autocast_for(self.info.precision, self.device):
            logits = self.model(**kwargs, use_cache=False).logits
        return logits[:, 0].float()

    def score(
        self,
        prompts: Sequence[Prompt] | Prompt,
        responses: Sequence[str],
        *,
        batch_size: int = 0,
        normalize: bool = False,
        progress: bool | None = False,
    ) -> np.ndarray:
        """Reward of each (prompt, response); one prompt may be shared by all responses.
        Computed by the one scorer (:class:`rewardkit.model.scorer.Scorer`).

        Over-long texts are cut by the one over-length rule (:mod:`rewardkit.model.overlong`:
        cut from the left: the prompt first, never the end the reward is read from)."""
        rewards = (
            Scorer([self])
            .score(prompts, responses, batch_size=batch_size, progress=progress)
            .rewards
        )
        return self.normalize(rewards) if normalize else rewards

    def normalize(self, rewards: np.ndarray) -> np.ndarray:
        norm = self.info.normalization
        return (np.asarray(rewards) - norm.mean) / (norm.std if norm.std > 0 else 1.0)

    @property
    def temperature(self) -> float:
        return self.calibration.temperature

    @property
    def calibration(self) -> Calibration:
        """The stored calibration (T, γ); 1 where the sidecar has none."""
        return Calibration.stored(self.info.temperature, self.info.calibration_exponent)

    def compare(self, prompt: Prompt, a: str, b: str) -> float:
        """P(a ≻ b) = σ(sign(Δ)·|Δ/T|^γ), Δ = r_a − r_b: Bradley–Terry (1952) with the stored
        calibration (:mod:`rewardkit.bradley_terry`; σ(Δ/T) when γ = 1)."""
        r_a, r_b = self.score([prompt, prompt], [a, b])
        return self.calibration.probability(r_a - r_b)


def _scoring_dict(rule: str, tokenizer) -> dict:
    token = tokenizer.cls_token if rule == "first-token" else tokenizer.eos_token
    return {
        "rule": rule,
        "token": token,
        "pad_token_id": tokenizer.pad_token_id,
        "padding_side": "right",
        "description": (
            "the backbone's [CLS] (first) token through its pooler and head"
            if rule == "first-token"
            else "the last token of the text, an appended EOS; pad is distinct from EOS"
        ),
    }


def _plain_folder_info(directory: Path, model, tokenizer, template) -> RewardKitInfo:
    """What a folder without ``rewardkit.json`` (trained elsewhere) is read with: the
    tokenizer's chat template (or ``template``), and at most
    :data:`PLAIN_FOLDER_MAX_LENGTH` tokens."""
    rule = scoring_rule(model)
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    chosen = template or TextTemplate.for_tokenizer(tokenizer, is_decoder=rule == "last-token")
    return RewardKitInfo(
        backbone=str(directory),
        template=chosen.to_dict(),
        max_length=PLAIN_FOLDER_MAX_LENGTH,
        scoring=_scoring_dict(rule, tokenizer),
        rewardkit_version=__version__,
    )
