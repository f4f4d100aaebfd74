"""The options of every ``rewardkit annotate`` command, with their help text (the CLI's)."""

from __future__ import annotations

from dataclasses import dataclass

from rewardkit.config import Options, option
from rewardkit.errors import UserError
from rewardkit.options import bad_record_option

DEFAULT_DB = "sqlite:///annotations.db"


def db_option():
    return option(
        DEFAULT_DB,
        "Database URL: sqlite:///FILE (WAL mode) or postgresql+psycopg://USER@HOST:PORT/NAME. "
        "An older schema is upgraded in place (an SQLite file is first copied to "
        "FILE.bak-<revision>).",
    )


@dataclass
class AnnotateServeConfig(Options):
    command = "annotate serve"

    db: str = db_option()
    host: str = option(
        "127.0.0.1", "Address to bind. Loopback by default; anything else exposes the pages."
    )
    port: int = option(8300, "TCP port.")
    overlap: int = option(3, "Judgements wanted per item (each by a different annotator).")
    gold_rate: float = option(
        0.0,
        "Share of an annotator's items that are gold (attention-check) items while they have "
        "unseen ones, e.g. 0.1 = every 10th.",
    )
    queue: str = option(
        "fewest",
        "Which item comes next: the one with the fewest judgements, or the one the reward "
        "model of --model is least sure of (P(a≻b) closest to 0.5; reloaded when the model "
        "folder changes).",
        choices=("fewest", "uncertainty"),
    )
    model: str = option("", "Reward model folder for --queue uncertainty.")
    session_hours: float = option(
        12.0, "A login lasts this long, then the annotator logs in again."
    )
    max_body_kb: int = option(64, "Largest form post accepted, in KiB (more: 413).")
    seed: int | None = option(None, "Seed of the left/right shuffles (default: random).")

    def __post_init__(self):
        super().__post_init__()
        if self.overlap < 1:
            raise UserError("--overlap must be at least 1")
        if not 0.0 <= self.gold_rate < 1.0:
            raise UserError("--gold-rate must be in [0, 1)")
        if self.queue == "uncertainty" and not self.model:
            raise UserError("--queue uncertainty needs --model DIR (a reward model folder)")
        if self.session_hours <= 0 or self.max_body_kb <= 0:
            raise UserError("--session-hours and --max-body-kb must be positive")


@dataclass
class AnnotateImportConfig(Options):
    command = "annotate import"

    file: str = option(
        "",
        "Items: {prompt, responses, id} records (rewardkit sample output, the rankings "
        "format) or any pair format.",
        positional=True,
    )
    gold: str = option(
        "", "File of gold (attention-check) items whose answer is known: pairs or rankings."
    )
    db: str = db_option()
    on_bad_record: str = bad_record_option()

    def __post_init__(self):
        super().__post_init__()
        if not self.file and not self.gold:
            raise UserError(
                "give FILE, --gold FILE, or both (see rewardkit annotate import --help)"
            )


@dataclass
class AddAnnotatorConfig(Options):
    command = "annotate add-annotator"

    name: str = option("", "The annotator's login name.", required=True, positional=True)
    admin: bool = option(False, "An admin may see progress and statistics of everyone.")
    db: str = db_option()


@dataclass
class AnnotateStatsConfig(Options):
    command = "annotate stats"

    db: str = db_option()
    json: str = option("", "Also write the statistics as JSON to this file.")


@dataclass
class AnnotateExportConfig(Options):
    command = "annotate export"

    out: str = option("", "Pairs file to write (.jsonl), ready for rewardkit train.", required=True)
    aggregate: str = option(
        "majority",
        "How an item's votes become one pair: the most votes, or a Dawid–Skene fit that "
        "weighs annotators by their estimated reliability.",
        choices=("majority", "dawid-skene"),
    )
    margin_slight: float = option(0.0, "Margin of a 'slight' preference.")
    margin_clear: float = option(0.5, "Margin of a 'clear' preference.")
    margin_strong: float = option(1.0, "Margin of a 'strong' preference.")
    db: str = db_option()

    def margins(self) -> dict[str, float]:
        return {
            "slight": self.margin_slight,
            "clear": self.margin_clear,
            "strong": self.margin_strong,
        }


@dataclass
class ImportVotesConfig(Options):
    command = "annotate import-votes"

    file: str = option(
        "",
        "Per-vote rows {item_id, prompt, response_a, response_b, annotator, choice} "
        "(+ both_bad, strength, gold), e.g. ../shared/data/pandalm/judgements.jsonl.",
        required=True,
        positional=True,
    )
    db: str = db_option()
    on_bad_record: str = bad_record_option()
