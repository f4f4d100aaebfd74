"""The library functions behind ``rewardkit annotate …``: each takes its config and returns a
summary (the CLI prints it)."""

from __future__ import annotations

from rewardkit.annotate.config import (
    AddAnnotatorConfig,
    AnnotateExportConfig,
    AnnotateImportConfig,
    AnnotateStatsConfig,
    ImportVotesConfig,
)
from rewardkit.annotate.store import open_store


def import_command(config: AnnotateImportConfig) -> dict:
    from rewardkit.annotate.items import import_items

    store = open_store(config.db)
    summary = {"added": 0, "gold_added": 0, "already_present": 0, "skipped": []}
    for path, gold in ((config.file, False), (config.gold, True)):
        if not path:
            continue
        report = import_items(store, path, gold=gold, on_bad_record=config.on_bad_record)
        summary["gold_added" if gold else "added"] += report.added
        summary["already_present"] += report.already_present
        summary["skipped"] += report.skipped
    summary["skipped"] = len(summary["skipped"])
    return summary


def add_annotator_command(config: AddAnnotatorConfig) -> dict:
    from rewardkit.annotate.accounts import add_annotator

    token = add_annotator(open_store(config.db), config.name, admin=config.admin)
    role = "admin" if config.admin else "annotator"
    return {"name": config.name, "role": role, "token": token}


def import_votes_command(config: ImportVotesConfig) -> dict:
    from rewardkit.annotate.votes_io import import_votes

    report = import_votes(open_store(config.db), config.file, on_bad_record=config.on_bad_record)
    return {
        "votes": report.votes,
        "items_added": report.items_added,
        "annotators_added": report.annotators_added,
        "already_present": report.already_present,
        "skipped": len(report.skipped),
    }


def stats_command(config: AnnotateStatsConfig) -> dict:
    from rewardkit.annotate.stats import collection_stats
    from rewardkit.files import write_json_atomic

    stats = collection_stats(open_store(config.db))
    if config.json:
        write_json_atomic(config.json, stats)
    return stats


def export_command(config: AnnotateExportConfig) -> dict:
    from rewardkit.annotate.export import export

    store = open_store(config.db)
    return export(store, config.out, aggregate=config.aggregate, margins=config.margins())


def serve_command(config) -> None:
    from rewardkit.annotate.web.runner import serve

    serve(config)
