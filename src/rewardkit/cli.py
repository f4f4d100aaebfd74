"""The ``rewardkit`` command line: a thin typer layer over the library.

Every verb is a dataclass config (its field help is the flag help, ``--config FILE`` reads
YAML) and a library function, named in :data:`COMMANDS`. The configs are light; the library
(torch, transformers, numpy) is imported only when a verb runs, so ``--help`` stays fast.
User errors print one line and exit 2.
"""

from __future__ import annotations

import typer

from rewardkit.cli_support import Command, config_command, quiet_libraries

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Train reward models from human preferences, measure how far to trust "
    "them, and score with them.",
)

COMMANDS = [
    Command(
        "train",
        "rewardkit.train.config:TrainConfig",
        "rewardkit.train:train",
        help="Train a Bradley–Terry reward model on preference pairs.",
        epilog="Example:  \n`rewardkit train --data ../shared/data/hh-rlhf-harmless-base/"
        "test.jsonl.gz --out runs/hh --epochs 1 --max-length 512`  \n"
        "Options may come from YAML: `rewardkit train --config train.yaml "
        "--lr 5e-5` (flags override the file).",
    ),
    Command(
        "score",
        "rewardkit.score_file:ScoreConfig",
        "rewardkit.score_file:score_file",
        report="scored {texts} texts from {records} records ({truncated} cut to the max "
        "length, {skipped} bad records skipped) on {processes} process(es) → {out}{trust}",
        help="Write raw and normalized rewards for every record, in input order.",
        epilog="Example:  \n`rewardkit score --model runs/hh --data pairs.jsonl "
        "--out scores.jsonl`",
    ),
    Command(
        "eval",
        "rewardkit.eval.config:EvalConfig",
        "rewardkit.eval.run:run_eval",
        show="rewardkit.eval.report_text:print_metrics",
        help="Judge a reward model as a proxy: accuracy, calibration, length bias, "
        "hackability probes, uncertainty and OOD flags → metrics.json, "
        "pairs.jsonl and a self-contained report.html.",
        epilog="Example:  \n`rewardkit eval --model runs/hh --data ../shared/data/"
        "hh-rlhf-harmless-base/test.jsonl.gz --split eval --calibrate "
        "--out runs/hh/eval`",
    ),
    Command(
        "compare",
        "rewardkit.eval.config:CompareConfig",
        "rewardkit.eval.compare:compare",
        show="rewardkit.eval.report_text:print_comparison",
        help="Put two or more reward models side by side on the same pairs "
        "(table + compare.html), with a paired bootstrap interval for "
        "each accuracy difference.",
        epilog="Example:  \n`rewardkit compare runs/a/eval runs/b/eval --out runs/cmp`"
        "  \n`rewardkit compare runs/a runs/b --data pairs.jsonl`",
    ),
    Command(
        "audit",
        "rewardkit.audit.config:AuditConfig",
        "rewardkit.audit.run:run_audit",
        report="audited {pairs_scored} of {pairs_in} pairs in {seconds}s: {suspects} suspects "
        "→ {out}/report.html",
        help="Audit preference data before training: out-of-fold margins over prompt-disjoint "
        "folds, suspect pairs ranked with a reason each, an estimated share of flipped "
        "labels, and optionally a cleaned copy (--fix drop|flip|soft).",
        epilog="Example:  \n`rewardkit audit --data ../shared/data/hh-rlhf-harmless-base/"
        "test.jsonl.gz --out audit/`  \n`rewardkit audit --data pairs.jsonl --out audit/ "
        "--fix drop --top 100 --out-data pairs.clean.jsonl`",
    ),
    Command(
        "demo",
        "rewardkit.demo:DemoConfig",
        "rewardkit.demo:run_demo",
        help="Offline demo: build a world with a known gold reward, train MiniLM on "
        "it, report accuracy vs labels, vs gold, and the noise ceiling, and end "
        "with the proxy report (report.html).",
        epilog="Example:  \n`rewardkit demo --out demo-out`",
    ),
    Command(
        "serve",
        "rewardkit.serve.config:ServeConfig",
        "rewardkit.serve.runner:serve",
        help="Serve a reward model over HTTP: /score, OpenRLHF's /get_reward, "
        "/health, /info; micro-batched, loopback by default.",
        epilog="Example:  \n`rewardkit serve runs/hh --port 8000 --token-file "
        "token.txt`  \nthen `curl -H 'Authorization: Bearer …' -d "
        '\'{"query": ["…"]}\' http://127.0.0.1:8000/get_reward`',
    ),
    Command(
        "sample",
        "rewardkit.candidates.config:SampleConfig",
        "rewardkit.candidates.sample:sample_candidates",
        report="sampled {responses} responses for {prompts} prompts ({stopped} ended with EOS) "
        "→ {out} (settings: {meta})",
        help="Sample N responses per prompt from a local causal LM into a candidates file.",
        epilog="Example:  \n`rewardkit sample --model smollm2 --prompts ../shared/"
        "data/hh-rlhf-harmless-base/test.jsonl.gz --limit 8 --n 4 --out "
        "cands.jsonl`",
    ),
    Command(
        "bon",
        "rewardkit.candidates.config:BonConfig",
        "rewardkit.candidates.best_of_n:best_of_n",
        report="reranked {responses} responses of {prompts} prompts: mean best reward "
        "{mean_best_reward:.4f} vs mean {mean_reward:.4f} → {out}",
        help="Best-of-n: score every candidate, rank them, keep the best per prompt.",
        epilog="Example:  \n`rewardkit bon --model runs/hh --data cands.jsonl --out bon.jsonl`",
    ),
    Command(
        "label-pairs",
        "rewardkit.candidates.config:LabelPairsConfig",
        "rewardkit.candidates.label_pairs:label_pairs",
        report="{pairs} pairs from {prompts} prompts → {out}; skipped: {skipped_tie} ties, "
        "{skipped_min_gap} under --min-gap, {skipped_max_spread} over --max-spread, "
        "{prompts_with_one_response} prompts with one response",
        help="Label candidate pairs with a reward model: DPO data in TRL's format "
        "{prompt, chosen, rejected, margin}.",
        epilog="Example:  \n`rewardkit label-pairs --model runs/hh --data cands.jsonl "
        "--out pairs.jsonl --pairs best-vs-worst --min-gap 0.5`",
    ),
    Command(
        "overopt",
        "rewardkit.overopt.config:OveroptConfig",
        "rewardkit.overopt.run:run_overopt",
        report="{prompts} prompts × {candidates_per_prompt} candidates, "
        "{selector_count} selectors → {out}: {paragraph}",
        help="Overoptimization lab: best-of-n against proxy reward models, measured with a "
        "gold reward (the demo world's, or a stronger model): curves against √KL, the fitted "
        "d(α − βd), peaks with bootstrap intervals, tricks among winners; ensembles also by "
        "their worst case and uncertainty-weighted reward.",
        epilog="Example:  \n`rewardkit overopt --proxy demo-out/model --candidates "
        "demo-out/world/candidates.jsonl --gold world --out runs/overopt`",
    ),
    Command(
        "merge",
        "rewardkit.overopt.config:MergeConfig",
        "rewardkit.overopt.merge:merge_models",
        report="averaged {models} models of backbone {backbone} → {out} ({calibration})",
        help="WARM (Ramé et al. 2024): average the weights of reward models fine-tuned from "
        "the same backbone into one ordinary model folder.",
        epilog="Example:  \n`rewardkit merge runs/a runs/b runs/c --out runs/warm`",
    ),
]

ANNOTATE_COMMANDS = [
    Command(
        "serve",
        "rewardkit.annotate.config:AnnotateServeConfig",
        "rewardkit.annotate.commands:serve_command",
        help="Serve the annotation pages: annotators log in with their token and compare "
        "or rank responses; loopback by default.",
        epilog="Example:  \n`rewardkit annotate serve --db sqlite:///annotations.db "
        "--overlap 3 --port 8300`",
    ),
    Command(
        "import",
        "rewardkit.annotate.config:AnnotateImportConfig",
        "rewardkit.annotate.commands:import_command",
        report="added {added} items and {gold_added} gold items ({already_present} already "
        "present, {skipped} bad records skipped)",
        help="Add items (a prompt and 2..K responses) to annotate, and gold items.",
        epilog="Example:  \n`rewardkit annotate import cands.jsonl --gold checks.jsonl`",
    ),
    Command(
        "add-annotator",
        "rewardkit.annotate.config:AddAnnotatorConfig",
        "rewardkit.annotate.commands:add_annotator_command",
        report="{role} {name} added; their login token (shown once, only its hash is kept):"
        "\n{token}",
        help="Add an annotator (or an admin) and print their login token once.",
        epilog="Example:  \n`rewardkit annotate add-annotator alice`",
    ),
    Command(
        "stats",
        "rewardkit.annotate.config:AnnotateStatsConfig",
        "rewardkit.annotate.commands:stats_command",
        show="rewardkit.annotate.stats:print_stats",
        help="Progress, raw agreement, Cohen's κ per pair, Fleiss' κ, Krippendorff's α, "
        "each annotator against the others and on gold items, Dawid–Skene reliability.",
        epilog="Example:  \n`rewardkit annotate stats --json stats.json`",
    ),
    Command(
        "export",
        "rewardkit.annotate.config:AnnotateExportConfig",
        "rewardkit.annotate.commands:export_command",
        report="{pairs} pairs ({ties} ties, {pairs_from_rankings} from rankings; "
        "{both_bad_items_left_out} both-bad items left out) by {aggregate} → {out}; raw votes "
        "→ {raw_votes}, rankings → {raw_rankings}",
        help="Write the judgements as pairs for rewardkit train, plus the raw votes.",
        epilog="Example:  \n`rewardkit annotate export --out pairs.jsonl` then "
        "`rewardkit train --data pairs.jsonl --out runs/mine`",
    ),
    Command(
        "import-votes",
        "rewardkit.annotate.config:ImportVotesConfig",
        "rewardkit.annotate.commands:import_votes_command",
        report="imported {votes} votes ({items_added} new items, {annotators_added} new "
        "annotators, {already_present} already present, {skipped} bad rows skipped)",
        help="Load per-vote rows (e.g. PandaLM's judgements) to get the same statistics.",
        epilog="Example:  \n`rewardkit annotate import-votes ../shared/data/pandalm/"
        "judgements.jsonl`",
    ),
]

for _command in COMMANDS:
    config_command(app, _command)

annotate_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Collect human comparisons: pages, annotators, agreement, export to training.",
)
for _command in ANNOTATE_COMMANDS:
    config_command(annotate_app, _command)
app.add_typer(annotate_app, name="annotate")


@app.command("version", help="Print the rewardkit version.")
def version() -> None:
    from rewardkit.version import __version__

    typer.echo(__version__)


def main() -> None:
    quiet_libraries()
    app()


if __name__ == "__main__":
    main()
