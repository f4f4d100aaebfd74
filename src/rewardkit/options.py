"""Options shared by several commands, declared once with their help text: the data-reading
options (format, bad records, over-long pairs), how a saved reward model is loaded (``score``,
``bon``, ``label-pairs``, ``serve``, ``eval``), and how the file-to-file scorers (``score``,
``bon``, ``label-pairs``) read and batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.model.aggregate import AGGREGATES, DEFAULT_UWO_LAMBDA
from rewardkit.model.overlong import PAIR_POLICIES, TEXT_POLICIES

FORMATS = ("auto", "explicit", "implicit", "hh-rlhf", "rankings", "votes")
SPLITS = ("all", "eval", "train")
DEVICE_HELP = (
    "Where the model runs: auto (a CUDA GPU when one is visible, else the CPU), cpu, "
    "cuda or cuda:N."
)
BATCH_SIZE_HELP = (
    "Texts per forward pass; 0 = the device's default (32 on a CPU; on a GPU as "
    "many as fit in 65,536 padded tokens). Does not change any score."
)


TRUST_REMOTE_CODE_HELP = (
    "Run Python code that comes inside a model folder (its config's auto_map), as "
    "transformers' trust_remote_code does. Off by default: only for folders whose code you "
    "have read."
)
REWARD_MODEL_HELP = (
    "Reward model: a folder from `rewardkit train` or any HF sequence-classification reward "
    "model, an ensemble folder, or DIR1,DIR2,… (separate models combined as members)."
)


def reward_model_option(*, required: bool = True, positional: bool = False) -> Any:
    """``--model`` (or the ``MODEL`` argument): what :func:`load_reward_model` opens."""
    return option("", REWARD_MODEL_HELP, required=required, positional=positional)


def format_option(extra: tuple[str, ...] = ()) -> Any:
    """``--format``: the input format, sniffed by default."""
    return option("auto", "Input format, sniffed by default.", choices=FORMATS + extra)


def bad_record_option() -> Any:
    """``--on-bad-record``: stop at a bad record, or skip and count it."""
    return option(
        "error",
        "Bad records stop the run (error) or are skipped and counted (skip).",
        choices=("error", "skip"),
    )


def overlong_option(default: str = "truncate") -> Any:
    """``--overlong`` of the commands that read pairs (``train``: ``truncate-prompt``)."""
    return option(
        default,
        "Over-long pairs: cut from the left (truncate: the prompt, then the start of a "
        "response that alone is too long; truncate-prompt: the prompt only, dropping pairs "
        "whose response alone is too long), drop them, or stop (error). Every cut is counted.",
        choices=PAIR_POLICIES,
    )


def text_overlong_option() -> Any:
    """``--overlong`` of the commands that score texts: every text gets a score, or stop."""
    return option(
        "truncate",
        "Over-long texts: cut from the left (the prompt, then the start of a response that "
        "alone is too long; each text is flagged with the tokens removed), or stop at a "
        "response that alone is too long (error).",
        choices=TEXT_POLICIES,
    )


def trust_remote_code_option() -> Any:
    """``--trust-remote-code``: allow a model folder's own Python code to run."""
    return option(False, TRUST_REMOTE_CODE_HELP)


def batch_size_option() -> Any:
    """``--batch-size`` of scoring: texts per forward pass."""
    return option(0, BATCH_SIZE_HELP)


def uwo_lambda_option() -> Any:
    """``--uwo-lambda``: λ of the uncertainty-weighted reward."""
    return option(
        DEFAULT_UWO_LAMBDA,
        "λ of --aggregate uwo: mean − λ·variance over the members' normalized rewards "
        "(Coste et al. 2023; 0.5 for best-of-n).",
    )


@dataclass
class UwoLambdaOptions(Options):
    """``--uwo-lambda`` and its check (``overopt`` measures uwo without an ``--aggregate``)."""

    uwo_lambda: float = uwo_lambda_option()

    def __post_init__(self):
        super().__post_init__()
        if self.uwo_lambda < 0:
            raise UserError(f"--uwo-lambda must be 0 or more, got {self.uwo_lambda}")


@dataclass
class AggregateOptions(UwoLambdaOptions):
    """How an ensemble's members make one reward (:mod:`rewardkit.model.aggregate`)."""

    aggregate: str = option(
        "mean",
        "Ensembles: the reward is the members' mean, their worst case (min), or the "
        "uncertainty-weighted mean − λ·variance (uwo) over the members' normalized rewards "
        "(Coste et al. 2023); min and uwo are in normalized units and need an ensemble.",
        choices=AGGREGATES,
    )


@dataclass
class ModelLoadOptions(Options):
    precision: str | None = option(
        None, "Override the model's precision.", choices=("fp32", "bf16")
    )
    max_length: int | None = option(None, "Override the model's max length.")
    device: str = option("auto", DEVICE_HELP)
    trust_remote_code: bool = trust_remote_code_option()

    def load_kwargs(self) -> dict:
        """Keyword arguments of :func:`rewardkit.model.loading.load_reward_model`."""
        return {
            "precision": self.precision,
            "max_length": self.max_length,
            "device": self.device,
            "trust_remote_code": self.trust_remote_code,
        }


@dataclass
class FileScoringOptions(ModelLoadOptions):
    batch_size: int = batch_size_option()
    overlong: str = text_overlong_option()
    on_bad_record: str = bad_record_option()
