"""``rewardkit eval``: a reward model judged as a proxy → ``metrics.json`` + ``report.html``.

Sections: accuracy (overall, per subset, per strength, sections, ties), calibration (with
``--calibrate``: a calibrator — ``--calibrator temperature|power|auto`` — cross-fitted over
prompt-disjoint folds, or fitted on ``--calibration-data``),
length bias, hackability probes, uncertainty (the margin; ensembles' spread; with
``--mc-dropout T`` the spread over T passes with dropout on) and OOD flags. With ``--out DIR``
it writes ``metrics.json``, ``pairs.jsonl`` (one row per pair) and ``report.html``.

Under ``accelerate launch``/``torchrun`` every forward pass is shared out by whole batches
and gathered (:mod:`rewardkit.model.shards`): each process computes the same metrics from the
same rewards, and the main process alone writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rewardkit.bradley_terry import Calibration
from rewardkit.data import read_pairs, split_by_prompt, write_jsonl
from rewardkit.data.records import prompt_hash
from rewardkit.errors import UserError
from rewardkit.eval.config import EvalConfig
from rewardkit.eval.cross_fitted import cross_fitted_report, separate_data_report
from rewardkit.eval.ood import stored_statistics
from rewardkit.eval.probes import Probe, default_probes, load_probe_file
from rewardkit.eval.proxy import ProxyOptions, ReferenceFeatures, evaluate_proxy
from rewardkit.eval.report_html import write_report
from rewardkit.files import write_json_atomic
from rewardkit.model.card_file import update_card
from rewardkit.model.ensemble import MEMBERS_FILE
from rewardkit.model.loading import load_reward_model
from rewardkit.model.model_card import evaluation_section, evaluation_section_name
from rewardkit.model.scorer import Scorer
from rewardkit.model.shards import is_main_process, join_launched_processes, rank_and_count
from rewardkit.model.sidecar import read_info, write_info
from rewardkit.model.template import DEFAULT_CHAT_TEMPLATE, TextTemplate


def parse_template(spec: str | None) -> TextTemplate | None:
    """``--template``: rewardkit | tokenizer | a Jinja chat-template file."""
    if not spec:
        return None
    if spec == "rewardkit":
        return TextTemplate(chat_template=DEFAULT_CHAT_TEMPLATE)
    if spec == "tokenizer":
        return None  # from_pretrained's default for foreign models
    path = Path(spec)
    if not path.is_file():
        raise UserError(f"--template {spec!r}: not 'rewardkit', 'tokenizer' or a Jinja file")
    return TextTemplate(
        chat_template=path.read_text(encoding="utf-8"),
        chat_template_source="file",
        add_special_tokens_chat=False,
    )


def _read_split(path: str, config: EvalConfig, split: str):
    pairs, report = read_pairs(path, format=config.format, on_bad_record=config.on_bad_record)
    if split != "all":
        train, held_out = split_by_prompt(pairs, config.eval_fraction)
        pairs = held_out if split == "eval" else train
    return pairs, report


def load_target(config: EvalConfig) -> Scorer:
    """What eval scores with: ``--model`` (a model or an ensemble folder), or
    ``--ensemble DIR1,DIR2,…`` combining separate models (``--model`` first, if given)."""
    spec: str | list[str] = config.model
    if config.ensemble:
        spec = [s for s in config.ensemble.split(",") if s.strip()]
        if config.model and config.model not in spec:
            spec = [config.model] + spec
    return load_reward_model(spec, **config.load_kwargs(), template=parse_template(config.template))


def ood_reference(target: Scorer, config: EvalConfig, progress: bool | None) -> dict:
    """The OOD reference of :class:`ProxyOptions`: features of ``--reference-data``, else the
    statistics stored with the model (none for a foreign model)."""
    if config.reference_data:
        ref_pairs, _ = _read_split(config.reference_data, config, config.reference_split)
        ref = target.score_pairs(
            ref_pairs, overlong=config.overlong, batch_size=config.batch_size, progress=progress
        )
        if ref.features_chosen is None:
            raise UserError("--reference-data: this model's head is not linear; no features")
        description = f"{config.reference_data} ({config.reference_split}, {len(ref.pairs)} pairs)"
        return {
            "reference": ReferenceFeatures(
                ref.features_chosen,
                ref.features_rejected,
                ref.spread if target.k > 1 else None,
                description,
            )
        }
    return {"stats": stored_statistics(target)}


def _store_calibration(target: Scorer, calibration: Calibration) -> str:
    """Write T and γ where the model keeps them (a members manifest, else the primary
    model's ``rewardkit.json``); returns where, or why not."""
    fields = {
        "temperature": calibration.temperature,
        "calibration_exponent": calibration.exponent,
    }
    if target.kind == "members" and target.manifest:
        path = Path(target.source) / MEMBERS_FILE
        write_json_atomic(path, dict(target.manifest, **fields))
        return str(path)
    if target.kind == "members":
        return "not stored (a combined --ensemble has no single folder)"
    # the saved sidecar, not the loaded one: --max-length/--precision overrides stay unsaved
    saved = read_info(target.primary_dir) or target.primary.info
    for info in (target.primary.info, saved):
        info.temperature = calibration.temperature
        info.calibration_exponent = calibration.exponent
    write_info(target.primary_dir, saved)
    return str(target.primary_dir / "rewardkit.json")


def run_eval(
    config: EvalConfig,
    *,
    progress: bool | None = None,
    extra_probes: Sequence[Probe] = (),
    extra_sections: Sequence[str] = (),
) -> dict:
    """Evaluate; returns ``metrics`` (also written to ``--out`` with the report, which ends
    with ``extra_sections``, HTML rendered by other rooms)."""
    return evaluate_with_rows(
        config, progress=progress, extra_probes=extra_probes, extra_sections=extra_sections
    )[0]


def evaluate_with_rows(
    config: EvalConfig,
    *,
    progress: bool | None = None,
    extra_probes: Sequence[Probe] = (),
    extra_sections: Sequence[str] = (),
) -> tuple[dict, list[dict]]:
    """``(metrics, one row per scored pair)``; writes ``--out`` when given."""
    probes: list[Probe] = []
    if config.probes:  # read first: a bad probe file should fail before any scoring
        probes = default_probes() + list(extra_probes)
        if config.probes_file:
            probes += load_probe_file(config.probes_file)
    join_launched_processes()
    target = load_target(config).cached()  # probes rescore the chosen texts again and again
    mc_plan = config.mc_dropout_plan()
    if mc_plan is not None:
        target.mc_dropout_probability(mc_plan)  # one line before any scoring if it cannot run
    pairs, report = _read_split(config.data, config, config.split)
    if not pairs:
        raise UserError(f"no pairs to evaluate (--split {config.split})", where=config.data)
    scored = target.score_pairs(
        pairs, overlong=config.overlong, batch_size=config.batch_size, progress=progress
    )
    mc_dropout = None
    if mc_plan is not None:
        mc_dropout = target.mc_dropout_deltas(
            scored, mc_plan, batch_size=config.batch_size, progress=progress
        )
    calibration_fit = (
        _fit_calibration(target, scored, config, progress) if config.calibrate else None
    )
    result = evaluate_proxy(
        target,
        pairs,
        scored,
        ProxyOptions(
            probes=probes,
            skip_probes_reason="skipped (--no-probes)",
            n_bins=config.n_bins,
            binning=config.binning,
            overlong=config.overlong,
            **ood_reference(target, config, progress),
            plots=bool(config.out),
            batch_size=config.batch_size,
            progress=progress,
            calibration_fit=calibration_fit,
            mc_dropout=mc_dropout,
        ),
    )
    metrics = result.metrics
    if calibration_fit and is_main_process():
        metrics["calibration"]["stored_in"] = _store_calibration(
            target, Calibration(calibration_fit["temperature"], calibration_fit["exponent"])
        )
    metrics.update(
        {
            "split": config.split,
            "data": config.data,
            "model": config.model or config.ensemble,
            "skipped_records": len(report.skipped),
            "processes": rank_and_count()[1],
        }
    )
    if config.update_card and is_main_process():
        metrics["model_card"] = str(_update_card(config.model, metrics))
    if config.out and is_main_process():
        out = Path(config.out)
        write_json_atomic(out / "metrics.json", metrics)
        write_jsonl(out / "pairs.jsonl", result.rows)
        write_report(out / "report.html", metrics, result.plots, target.describe(), extra_sections)
    return metrics, result.rows


def _update_card(model: str, metrics: dict) -> Path:
    """``--update-card``: this evaluation's section of the model folder's card."""
    if not Path(model).is_dir():
        raise UserError(
            "--update-card needs a local model folder to write README.md into", where=model
        )
    return update_card(model, evaluation_section_name(metrics), evaluation_section(metrics))


def _fit_calibration(target: Scorer, scored, config: EvalConfig, progress) -> dict:
    """``--calibrate``: ``--calibrator`` cross-fitted over prompt-disjoint folds of ``--data``
    (:mod:`rewardkit.eval.cross_fitted`: every pair out of fold, the ECE's interval and its
    noise floor; the stored form fitted on all pairs), or fitted on ``--calibration-data``
    and tested on all of ``--data``."""
    delta = scored.r_chosen - scored.r_rejected
    judged = np.array([not p.tie for p in scored.pairs], dtype=bool)
    if not config.calibration_data:
        prompts = [prompt_hash(p.prompt) for p, keep in zip(scored.pairs, judged) if keep]
        if len(set(prompts)) < 2:
            raise UserError(
                "--calibrate needs non-tie pairs of at least 2 prompts to cross-fit; add "
                "data or pass --calibration-data FILE"
            )
        return cross_fitted_report(
            delta[judged],
            prompts,
            current=target.calibration,
            calibrator=config.calibrator,
            n_bins=config.n_bins,
            binning=config.binning,
        )
    cal_pairs, _ = _read_split(config.calibration_data, config, "all")
    cal = target.score_pairs(
        cal_pairs, overlong=config.overlong, batch_size=config.batch_size, progress=progress
    )
    cal_delta = (cal.r_chosen - cal.r_rejected)[[not p.tie for p in cal.pairs]]
    if cal_delta.size == 0 or not judged.any():
        raise UserError(
            "--calibrate needs non-tie pairs on both sides; add data or pass "
            "--calibration-data FILE"
        )
    return separate_data_report(
        cal_delta,
        delta[judged],
        fitted_on=config.calibration_data,
        tested_on="all pairs of --data",
        current=target.calibration,
        calibrator=config.calibrator,
        n_bins=config.n_bins,
        binning=config.binning,
    )
