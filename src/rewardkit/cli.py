"""The ``rewardkit`` command line: a thin typer layer over the library.

Every verb is a dataclass config (its field help is the flag help, ``--config FILE`` reads
YAML) and a few lines calling the library. User errors print one line and exit 2.
"""

from __future__ import annotations

import typer

from rewardkit.cli_support import config_command, quiet_libraries
from rewardkit.progress import console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Train reward models from human preferences, measure how far to trust "
    "them, and score with them.",
)


def _train(config) -> None:
    from rewardkit.train import train

    train(config)


def _score(config) -> None:
    from rewardkit.model.score_file import score_file

    summary = score_file(config)
    console.print(
        f"scored {summary['texts']} texts from {summary['records']} records "
        f"({summary['prompt_truncated']} prompt-truncated) → {summary['out']}",
        highlight=False,
    )


def _eval(config) -> None:
    from rewardkit.eval.report_text import print_metrics
    from rewardkit.eval.run import run_eval

    print_metrics(run_eval(config))


def _demo(config) -> None:
    from rewardkit.demo import run_demo

    run_demo(config)


def _serve(config) -> None:
    from rewardkit.serve.runner import serve

    serve(config)


def _sample(config) -> None:
    from rewardkit.candidates.sample import sample_candidates

    s = sample_candidates(config)
    console.print(
        f"sampled {s['responses']} responses for {s['prompts']} prompts "
        f"({s['stopped']} ended with EOS) → {s['out']} (settings: {s['meta']})",
        highlight=False,
    )


def _bon(config) -> None:
    from rewardkit.candidates.best_of_n import best_of_n

    s = best_of_n(config)
    console.print(
        f"reranked {s['responses']} responses of {s['prompts']} prompts: mean "
        f"best reward {s['mean_best_reward']:.4f} vs mean {s['mean_reward']:.4f}"
        f" → {s['out']}",
        highlight=False,
    )


def _label_pairs(config) -> None:
    from rewardkit.candidates.label_pairs import label_pairs

    s = label_pairs(config)
    console.print(
        f"{s['pairs']} pairs from {s['prompts']} prompts → {s['out']}; skipped: "
        f"{s['skipped_tie']} ties, {s['skipped_min_gap']} under --min-gap, "
        f"{s['skipped_max_spread']} over --max-spread, "
        f"{s['prompts_with_one_response']} prompts with one response",
        highlight=False,
    )


def _compare(inputs: list[str], config) -> None:
    from rewardkit.eval.compare import compare
    from rewardkit.eval.report_text import print_comparison

    print_comparison(compare(inputs, config))


def _register_compare() -> None:
    """``rewardkit compare REPORT_OR_MODEL…``: positional inputs plus CompareConfig's options."""
    from rewardkit.cli_support import user_errors
    from rewardkit.config import build_config, config_help
    from rewardkit.eval.compare import CompareConfig

    helps = config_help(CompareConfig)

    @app.command(
        "compare",
        help="Put two or more reward models side by side on the same pairs "
        "(table + compare.html), with a paired bootstrap interval for "
        "each accuracy difference.",
        epilog="Example:  \n`rewardkit compare runs/a/eval runs/b/eval --out runs/cmp`"
        "  \n`rewardkit compare runs/a runs/b --data pairs.jsonl`",
    )
    @user_errors
    def compare_command(
        inputs: list[str] = typer.Argument(
            ...,
            metavar="REPORT_OR_MODEL",
            help="Report folders (rewardkit eval --out) or model folders (evaluated on --data).",
        ),
        data: str | None = typer.Option(None, "--data", help=helps["data"]),
        split: str | None = typer.Option(None, "--split", help=helps["split"]),
        eval_fraction: float | None = typer.Option(
            None, "--eval-fraction", help=helps["eval_fraction"]
        ),
        format: str | None = typer.Option(None, "--format", help=helps["format"]),
        batch_size: int | None = typer.Option(None, "--batch-size", help=helps["batch_size"]),
        out: str | None = typer.Option(None, "--out", help=helps["out"]),
        n_boot: int | None = typer.Option(None, "--n-boot", help=helps["n_boot"]),
        seed: int | None = typer.Option(None, "--seed", help=helps["seed"]),
    ) -> None:
        options = dict(
            data=data,
            split=split,
            eval_fraction=eval_fraction,
            format=format,
            batch_size=batch_size,
            out=out,
            n_boot=n_boot,
            seed=seed,
        )
        _compare(inputs, build_config(CompareConfig, None, options))


def _register() -> None:
    from rewardkit.demo import DemoConfig
    from rewardkit.eval.config import EvalConfig
    from rewardkit.model.score_file import ScoreConfig
    from rewardkit.train.config import TrainConfig

    config_command(
        app,
        "train",
        TrainConfig,
        _train,
        required=("data", "out"),
        help="Train a Bradley–Terry reward model on preference pairs.",
        epilog="Example:  \n`rewardkit train --data ../shared/data/hh-rlhf-harmless-base/"
        "test.jsonl.gz --out runs/hh --epochs 1 --max-length 512`  \n"
        "Options may come from YAML: `rewardkit train --config train.yaml "
        "--lr 5e-5` (flags override the file).",
    )
    config_command(
        app,
        "score",
        ScoreConfig,
        _score,
        required=("model", "data", "out"),
        help="Write raw and normalized rewards for every record, in input order.",
        epilog="Example:  \n`rewardkit score --model runs/hh --data pairs.jsonl "
        "--out scores.jsonl`",
    )
    config_command(
        app,
        "eval",
        EvalConfig,
        _eval,
        required=("model", "data"),
        help="Judge a reward model as a proxy: accuracy, calibration, length bias, "
        "hackability probes, uncertainty and OOD flags → metrics.json, "
        "pairs.jsonl and a self-contained report.html.",
        epilog="Example:  \n`rewardkit eval --model runs/hh --data ../shared/data/"
        "hh-rlhf-harmless-base/test.jsonl.gz --split eval --calibrate "
        "--out runs/hh/eval`",
    )
    _register_compare()
    config_command(
        app,
        "demo",
        DemoConfig,
        _demo,
        help="Offline demo: build a world with a known gold reward, train MiniLM on "
        "it, report accuracy vs labels, vs gold, and the noise ceiling, and end "
        "with the proxy report (report.html).",
        epilog="Example:  \n`rewardkit demo --out demo-out`",
    )

    # serving and candidates (rewardkit.serve, rewardkit.candidates)
    from rewardkit.candidates.best_of_n import BonConfig
    from rewardkit.candidates.label_pairs import LabelPairsConfig
    from rewardkit.candidates.sample import SampleConfig
    from rewardkit.serve.config import ServeConfig

    config_command(
        app,
        "serve",
        ServeConfig,
        _serve,
        required=("model",),
        positional=("model",),
        help="Serve a reward model over HTTP: /score, OpenRLHF's /get_reward, "
        "/health, /info; micro-batched, loopback by default.",
        epilog="Example:  \n`rewardkit serve runs/hh --port 8000 --token-file "
        "token.txt`  \nthen `curl -H 'Authorization: Bearer …' -d "
        '\'{"query": ["…"]}\' http://127.0.0.1:8000/get_reward`',
    )
    config_command(
        app,
        "sample",
        SampleConfig,
        _sample,
        required=("model", "prompts", "out"),
        help="Sample N responses per prompt from a local causal LM into a candidates file.",
        epilog="Example:  \n`rewardkit sample --model smollm2 --prompts ../shared/"
        "data/hh-rlhf-harmless-base/test.jsonl.gz --limit 8 --n 4 --out "
        "cands.jsonl`",
    )
    config_command(
        app,
        "bon",
        BonConfig,
        _bon,
        required=("model", "data", "out"),
        help="Best-of-n: score every candidate, rank them, keep the best per prompt.",
        epilog="Example:  \n`rewardkit bon --model runs/hh --data cands.jsonl --out bon.jsonl`",
    )
    config_command(
        app,
        "label-pairs",
        LabelPairsConfig,
        _label_pairs,
        required=("model", "data", "out"),
        help="Label candidate pairs with a reward model: DPO data in TRL's format "
        "{prompt, chosen, rejected, margin}.",
        epilog="Example:  \n`rewardkit label-pairs --model runs/hh --data cands.jsonl "
        "--out pairs.jsonl --pairs best-vs-worst --min-gap 0.5`",
    )


_register()


@app.command("version", help="Print the rewardkit version.")
def version() -> None:
    from rewardkit import __version__

    typer.echo(__version__)


def main() -> None:
    quiet_libraries()
    app()


if __name__ == "__main__":
    main()
