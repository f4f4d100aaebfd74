"""``EvalConfig``: every option of ``rewardkit eval`` with its help text (light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.model.mc_dropout import MCDropout
from rewardkit.options import (
    SPLITS,
    ModelLoadOptions,
    bad_record_option,
    batch_size_option,
    format_option,
    overlong_option,
    reward_model_option,
)

BINNINGS = ("equal-mass", "equal-width")  # how rewardkit.eval.calibration bins confidences
CALIBRATION_FORMS = ("temperature", "power")  # rewardkit.bradley_terry.Calibration, γ = 1 or not
CALIBRATORS = (*CALIBRATION_FORMS, "auto")  # --calibrator: rewardkit.eval.calibrators


@dataclass
class EvalConfig(ModelLoadOptions):
    """Options of ``rewardkit eval``."""

    command = "eval"

    model: str = reward_model_option(required=False)  # or --ensemble
    data: str = option("", "Preference pairs to evaluate on (any supported format).", required=True)
    out: str | None = option(
        None, "Folder for metrics.json, pairs.jsonl and report.html (printed only when omitted)."
    )
    format: str = format_option()
    split: str = option(
        "all",
        "Evaluate on all pairs, or on the prompt-hash eval/train split of "
        "--data (the split `rewardkit train` makes).",
        choices=SPLITS,
    )
    eval_fraction: float = option(0.2, "Eval fraction used by --split.")
    batch_size: int = batch_size_option()
    overlong: str = overlong_option()
    on_bad_record: str = bad_record_option()
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
        "Calibrate P(chosen ≻ rejected) by cross-fitting: every pair gets its probability "
        "from a calibrator (--calibrator) fitted on the other 4 of 5 prompt-disjoint folds; "
        "report that ECE with its 95% interval and the noise floor (the 90% band of a "
        "perfectly calibrated model's ECE on as many pairs), then store the calibrator fitted "
        "on all pairs in rewardkit.json. With --calibration-data: fit there, report on --data.",
    )
    calibrator: str = option(
        "auto",
        "What --calibrate fits: 'temperature' (p = σ(Δ/T)), 'power' (p = σ(sign(Δ)·|Δ/T|^γ): "
        "γ < 1 tempers large margins more than small ones), or 'auto': both, on the same "
        "held-out pairs, storing the power form when its held-out NLL is lower and its "
        "Brier score not worse by a paired bootstrap interval above 0 (else the temperature).",
        choices=CALIBRATORS,
    )
    calibration_data: str | None = option(
        None, "Fit the calibrator on this file instead (all its pairs); report on --data."
    )
    reference_data: str | None = option(
        None,
        "The model's training data, for OOD statistics "
        "when the model folder has none (foreign models).",
    )
    reference_split: str = option(
        "all",
        "Which prompt-hash split of --reference-data to use.",
        choices=SPLITS,
    )
    probes: bool = option(True, "Run the hackability probes.")
    probes_file: str | None = option(
        None, "YAML list of extra probe phrases or probes ({name, kind, position, phrases})."
    )
    n_bins: int = option(10, "Confidence bins of ECE and the reliability diagram.")
    binning: str = option(
        "equal-mass", "Bins of equal pair counts or of equal width on [0.5, 1].", choices=BINNINGS
    )

    mc_dropout: int = option(
        0,
        "MC dropout (Gal & Ghahramani 2016): score the pairs T more times with dropout on and "
        "report the spread of r(chosen) − r(rejected) over the T passes as an uncertainty "
        "(its error AUROC and accuracy–coverage beside the margin's); the rewards stay the "
        "deterministic ones. One model (or a heads ensemble's saved head); 0 = off.",
    )
    mc_dropout_p: float | None = option(
        None,
        "Dropout probability of --mc-dropout, on every dropout layer. Default: the model's "
        "config when above 0, else its backbone's (rewardkit trains with dropout off, so a "
        "saved config says 0; the default MiniLM's is 0.1).",
    )
    mc_dropout_seed: int = option(0, "Seed of the --mc-dropout masks (same seed, same spread).")

    update_card: bool = option(
        False,
        "Add (or refresh) this data's section of the model card (--model's README.md): one "
        "section per evaluation data fingerprint; text outside the generated markers is kept.",
    )

    def __post_init__(self):
        if not self.model and not self.ensemble:  # one of the two
            raise UserError("--model is required (see rewardkit eval --help)")
        super().__post_init__()
        if self.n_bins < 1:
            raise UserError("--n-bins must be at least 1")
        if self.calibrator != "auto" and not self.calibrate:
            raise UserError(
                f"--calibrator {self.calibrator} chooses what --calibrate fits: add --calibrate"
            )
        if self.mc_dropout:
            self.mc_dropout_plan()  # a bad --mc-dropout or --mc-dropout-p is one line now
        if self.update_card and (self.ensemble or "," in (self.model or "")):
            raise UserError(
                "--update-card writes one model's README.md: pass one model folder as --model "
                "(not --ensemble or DIR1,DIR2)"
            )

    def mc_dropout_plan(self) -> MCDropout | None:
        """``--mc-dropout T`` as a plan (None when off)."""
        if self.mc_dropout < 0:
            raise UserError(f"--mc-dropout {self.mc_dropout}: must be 0 (off) or at least 2")
        if not self.mc_dropout:
            return None
        return MCDropout(self.mc_dropout, self.mc_dropout_p, self.mc_dropout_seed)


@dataclass
class CompareConfig(Options):
    """Options of ``rewardkit compare``."""

    command = "compare"

    inputs: list[str] = option(
        [],
        "Report folders (rewardkit eval --out) or model folders (evaluated on --data).",
        required=True,
        positional=True,
    )
    data: str | None = option(
        None, "Pairs to evaluate model folders on (report folders already carry their pairs)."
    )
    split: str = option("all", "Prompt-hash split of --data.", choices=SPLITS)
    eval_fraction: float = option(0.2, "Eval fraction used by --split.")
    format: str = format_option()
    batch_size: int = batch_size_option()
    out: str | None = option(None, "Folder for compare.json and compare.html.")
    n_boot: int = option(2000, "Bootstrap resamples for the paired intervals.")
    seed: int = option(0, "Bootstrap seed.")

    def __post_init__(self):
        super().__post_init__()
        if len(self.inputs) < 2:
            raise UserError("compare needs at least two reports or models")
