"""``EvalConfig``: every option of ``rewardkit eval`` with its help text (light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import option
from rewardkit.errors import UserError
from rewardkit.model.options import BATCH_SIZE_HELP, ModelLoadOptions

BINNINGS = ("equal-mass", "equal-width")  # how rewardkit.eval.calibration bins confidences


@dataclass
class EvalConfig(ModelLoadOptions):
    """Options of ``rewardkit eval``."""

    model: str = option(
        "",
        "Reward model folder (any HF sequence-classification reward model, or an ensemble folder).",
    )
    data: str = option("", "Preference pairs to evaluate on (any supported format).")
    out: str | None = option(
        None, "Folder for metrics.json, pairs.jsonl and report.html (printed only when omitted)."
    )
    format: str = option(
        "auto",
        "Input format, sniffed by default.",
        choices=("auto", "explicit", "implicit", "hh-rlhf", "rankings", "votes"),
    )
    split: str = option(
        "all",
        "Evaluate on all pairs, or on the prompt-hash eval/train split of "
        "--data (the split `rewardkit train` makes).",
        choices=("all", "eval", "train"),
    )
    eval_fraction: float = option(0.2, "Eval fraction used by --split.")
    batch_size: int = option(0, BATCH_SIZE_HELP)
    overlong: str = option(
        "truncate-prompt",
        "Over-long pairs: cut the prompt from the left, drop them, or stop.",
        choices=("truncate-prompt", "drop", "error"),
    )
    on_bad_record: str = option(
        "error", "Stop at a bad record, or skip and count it.", choices=("error", "skip")
    )
    template: str | None = option(
        None,
        "Text format for models without rewardkit.json: "
        "'rewardkit' (hh-style '\\n\\nHuman: …\\n\\nAssistant: …'), "
        "'tokenizer' (its own chat template), or a .jinja file.",
    )
    ensemble: str | None = option(
        None,
        "Combine separately trained models as an ensemble: "
        "DIR1,DIR2,… (--model, if given, is the first member).",
    )
    calibrate: bool = option(
        False,
        "Fit the temperature T of σ(Δ/T) on a prompt-disjoint half "
        "of the data (or --calibration-data), report ECE on the other half "
        "before/after, and store T in rewardkit.json.",
    )
    calibration_data: str | None = option(
        None, "Fit the temperature on this file instead (all its pairs); report on --data."
    )
    reference_data: str | None = option(
        None,
        "The model's training data, for OOD statistics "
        "when the model folder has none (foreign models).",
    )
    reference_split: str = option(
        "all",
        "Which prompt-hash split of --reference-data to use.",
        choices=("all", "eval", "train"),
    )
    probes: bool = option(True, "Run the hackability probes.")
    probes_file: str | None = option(
        None, "YAML list of extra probe phrases or probes ({name, kind, position, phrases})."
    )
    n_bins: int = option(10, "Confidence bins of ECE and the reliability diagram.")
    binning: str = option(
        "equal-mass", "Bins of equal pair counts or of equal width on [0.5, 1].", choices=BINNINGS
    )

    def __post_init__(self):
        if not self.model and not self.ensemble:
            raise UserError("--model is required (see rewardkit eval --help)")
        if not self.data:
            raise UserError("--data is required (see rewardkit eval --help)")
        if self.n_bins < 1:
            raise UserError("--n-bins must be at least 1")
