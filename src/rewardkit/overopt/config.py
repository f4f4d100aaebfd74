"""The options of ``rewardkit overopt`` and ``rewardkit merge`` (light to import, for
``--help``)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.options import FileScoringOptions, UwoLambdaOptions, trust_remote_code_option


@dataclass
class OveroptConfig(FileScoringOptions, UwoLambdaOptions):
    """Options of ``rewardkit overopt``."""

    command = "overopt"

    proxy: list[str] = option(
        [],
        "Proxy reward model(s) to optimize against (repeatable): a model folder, an ensemble "
        "folder or DIR1,DIR2,… An ensemble is also measured by its worst case (min) and "
        "uncertainty-weighted mean (uwo).",
        required=True,
    )
    candidates: str = option(
        "",
        'Candidates JSONL, at least 2 responses per prompt: {"prompt", "responses": [...]} '
        "(from `rewardkit sample`, or the demo's world/candidates.jsonl with gold).",
        required=True,
    )
    gold: str = option(
        "world",
        "The true reward: 'world' (each record's 'gold' list, as the demo world writes it), or "
        "a stronger reward model or ensemble (its mean normalized reward).",
    )
    out: str = option("", "Folder for overopt.json and report.html.", required=True)
    bootstrap: int = option(1000, "Bootstrap resamples of the prompts for the intervals.")

    def __post_init__(self):
        super().__post_init__()  # --uwo-lambda's check: UwoLambdaOptions
        if self.bootstrap < 10:
            raise UserError("--bootstrap must be at least 10")


@dataclass
class MergeConfig(Options):
    """Options of ``rewardkit merge``."""

    command = "merge"

    models: list[str] = option(
        [],
        "Reward model folders fine-tuned from the same backbone (two or more; one is copied).",
        required=True,
        positional=True,
    )
    out: str = option("", "Folder for the merged model (an ordinary reward model).", required=True)
    trust_remote_code: bool = trust_remote_code_option()
