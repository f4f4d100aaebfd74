"""``rewardkit audit``: find the likely-mislabelled pairs of a preference file before training.

Read the pairs; embed every text once with the untouched backbone (token and feature caches
shared with ``rewardkit train --freeze-backbone``); out-of-fold margins over K prompt-disjoint
folds (:mod:`rewardkit.audit.margins`); a verdict per pair (:mod:`rewardkit.audit.suspects`);
flip-share estimates (:mod:`rewardkit.audit.estimate`). Writes ``OUT/audit.json``,
``OUT/pairs.jsonl`` (every scored pair, ranked), ``OUT/suspects.jsonl`` and ``OUT/report.html``;
with ``--fix`` a cleaned copy plus its sidecar, with ``--export-suspects`` re-labelling items.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from rewardkit import files
from rewardkit.audit import estimate, fix, suspects
from rewardkit.audit.config import AuditConfig
from rewardkit.audit.finetune import finetune_margins
from rewardkit.audit.margins import OutOfFold, out_of_fold_margins
from rewardkit.audit.report_html import write_audit_report
from rewardkit.data import data_fingerprint, read_pairs
from rewardkit.data.records import PreferencePair
from rewardkit.errors import UserError
from rewardkit.model.feature_cache import FeatureCache, backbone_fingerprint
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.token_cache import encode_pairs_cached
from rewardkit.train.feature_heads import features_of_pairs


def run_audit(config: AuditConfig) -> dict:
    """Audit ``config.data``; return the summary written to ``audit.json``."""
    started = time.perf_counter()
    fix.refuse_overwriting_input(config.data, config.out_data, "--out-data")
    fix.refuse_overwriting_input(config.data, config.export_suspects, "--export-suspects")
    if config.threads:
        torch.set_num_threads(config.threads)
    pairs, read_report = read_pairs(
        config.data, format=config.format, on_bad_record=config.on_bad_record
    )
    oof = _margins(config, pairs)
    verdicts = suspects.judge(pairs, oof, confidence=config.confidence, near_tie=config.near_tie)
    summary = _summary(config, pairs, oof, verdicts, read_report.summary())
    out = Path(config.out)
    flagged = suspects.suspects(verdicts)
    files.write_jsonl_atomic(out / "pairs.jsonl", (_row(pairs, v) for v in verdicts))
    files.write_jsonl_atomic(out / "suspects.jsonl", (_row(pairs, v) for v in flagged))
    if config.fix != "none":
        summary["fix"] = fix.write_cleaned(pairs, verdicts, config.fix, config.top, config.out_data)
    if config.export_suspects:
        summary["exported"] = fix.export_suspects(pairs, flagged, config.export_suspects)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    files.write_json_atomic(out / "audit.json", summary)
    write_audit_report(out / "report.html", summary, pairs, verdicts, oof)
    return summary


def _margins(config: AuditConfig, pairs: list[PreferencePair]) -> OutOfFold:
    if config.mode == "finetune":
        return finetune_margins(config, pairs)
    torch.manual_seed(config.seed)
    model = RewardModel.from_backbone(config.backbone, max_length=config.max_length)
    encoded, report, _ = encode_pairs_cached(model.encoder, pairs, config.overlong)
    if len({e.index for e in encoded}) < 2 * config.folds:
        raise UserError(
            f"{len(encoded)} usable pairs cannot fill {config.folds} folds; audit a larger "
            "file or pass a smaller --folds",
            where=config.data,
        )
    cache = None
    if config.feature_cache != "off":
        cache = FeatureCache(None if config.feature_cache == "default" else config.feature_cache)
    *features, _ = features_of_pairs(
        model,
        encoded,
        cache=cache,
        backbone_key=backbone_fingerprint(model),
        batch_size=config.batch_size,
        progress=config.progress or None,
        description="embedding pairs",
    )
    try:
        oof = out_of_fold_margins(
            model,
            pairs,
            encoded,
            tuple(features),
            folds=config.folds,
            ensemble=config.ensemble,
            seed=config.seed,
            progress=config.progress or None,
        )
    except ValueError as err:
        raise UserError(f"{err}; pass a smaller --folds", where=config.data) from None
    oof.report = report
    return oof


def _summary(config, pairs, oof: OutOfFold, verdicts, read_note: str) -> dict:
    scored = [pairs[v.position] for v in verdicts]
    p_right = suspects.p_right_array(verdicts)
    confident = np.array(["likely-flipped" in v.reasons for v in verdicts])
    flagged = suspects.suspects(verdicts)
    return {
        "data": config.data,
        "out": config.out,
        "data_fingerprint": data_fingerprint(pairs),
        "read": read_note,
        "pairs_in": len(pairs),
        "pairs_scored": len(verdicts),
        "overlong": oof.report.to_dict() if oof.report else None,
        "mode": config.mode,
        "backbone": config.backbone or "all-MiniLM-L6-v2 (default)",
        "folds": config.folds,
        "ensemble": config.ensemble,
        "l2_per_fold": oof.l2,
        "confidence": config.confidence,
        "near_tie": config.near_tie,
        "seed": config.seed,
        "flip_estimates": {
            **estimate.flip_estimates(p_right, confident, seed=config.seed),
            "validation": estimate.validation(config.mode),
        },
        "per_subset": estimate.group_estimates(
            p_right, confident, [p.subset for p in scored], seed=config.seed
        ),
        "per_annotator": estimate.group_estimates(
            p_right, confident, [p.annotator for p in scored], seed=config.seed
        ),
        "suspects": len(flagged),
        "reasons": suspects.reason_counts(verdicts),
    }


def _row(pairs: list[PreferencePair], v: suspects.Verdict) -> dict:
    pair = pairs[v.position]
    return {
        "id": pair.id,
        "source": pair.source,
        "p_label_right": round(v.p_right, 6),
        "margin": round(v.margin, 6),
        "spread": round(v.spread, 6),
        "member_agreement": round(v.agreement, 4),
        "length_only_p": round(v.length_p, 6),
        "fold": v.fold,
        "reasons": v.reasons,
    }
