"""The training recipe, top to bottom: setup → data → loop (concatenated forward, BT loss,
AdamW) → evaluate → save. Runs on ``accelerate``, so ``accelerate launch`` spreads it over
processes/GPUs unchanged: each process takes every n-th batch of the shared epoch order.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from transformers import get_scheduler

from rewardkit.errors import TrainingDivergedError, UserError
from rewardkit.eval.evaluate import evaluate_encoded
from rewardkit.model.attention import use_fast_attention
from rewardkit.model.collate import pad_multiple_for
from rewardkit.model.features import FeatureRecorder
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.sidecar import Normalization, write_json_atomic
from rewardkit.progress import console, progress_bar
from rewardkit.train.batching import length_grouped_batches, pair_length
from rewardkit.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from rewardkit.train.config import TrainConfig
from rewardkit.train.forward import pair_forward, resolve_strategy
from rewardkit.train.frozen import finish_with_features
from rewardkit.train.losses import preference_loss
from rewardkit.train.prepare import PreparedData, prepare_data
from rewardkit.train.running import RunningStats


@dataclass
class TrainResult:
    out: Path
    metrics: dict
    state: TrainState


def _log(message: str, accelerator: Accelerator, quiet: bool) -> None:
    if accelerator.is_main_process and not quiet:
        console.print(message, highlight=False)


def train(config: TrainConfig, *, quiet: bool = False, progress: bool | None = None) -> TrainResult:
    """Train a reward model as ``config`` says and save it to ``config.out``."""
    if config.freeze_backbone:  # frozen features + linear head(s): rewardkit.train.frozen
        from rewardkit.train.frozen import train_frozen

        return train_frozen(config, quiet=quiet, progress=progress)
    if config.ensemble > 1 and config.ensemble_mode == "members":  # K full fine-tunes
        from rewardkit.train.members import train_members

        return train_members(config, quiet=quiet, progress=progress)
    if config.threads:
        torch.set_num_threads(config.threads)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    out = Path(config.out)
    ckpt_root = out / "checkpoints"
    if out.exists() and any(out.iterdir()) and not config.resume and latest_checkpoint(ckpt_root):
        raise UserError(
            f"{out} already holds a run with checkpoints; pass --resume to continue "
            "it, or choose another --out"
        )

    torch.manual_seed(config.seed)  # the new head's initialisation
    model = RewardModel.from_backbone(
        config.backbone,
        max_length=config.max_length,
        precision=config.precision,
        disable_dropout=config.disable_dropout,
    )
    if config.precision == "bf16" and not torch.cuda.is_available():
        use_fast_attention(model.model)  # fp32 attention core: CPU bf16 SDPA backward is slow
    data = prepare_data(config, model)
    for note in data.notes:
        _log(note, accelerator, quiet)

    world, rank = accelerator.num_processes, accelerator.process_index
    lengths = np.array([pair_length(p) for p in data.train_encoded])
    micro_per_epoch = math.ceil(len(data.train_encoded) / config.batch_size) // world
    if micro_per_epoch == 0:
        raise UserError(
            f"{len(data.train_encoded)} training pairs cannot fill one batch per "
            f"process; lower --batch-size"
        )
    steps_per_epoch = math.ceil(micro_per_epoch / config.grad_accum)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)

    # one fused kernel per step on CUDA (as HF Trainer's default adamw_torch_fused)
    optimizer = torch.optim.AdamW(
        model.model.parameters(),
        lr=config.lr,
        weight_decay=config.weight_decay,
        fused=True if accelerator.device.type == "cuda" else None,
    )
    schedule = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
    scheduler = get_scheduler(
        schedule[config.schedule],
        optimizer,
        num_warmup_steps=int(config.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    state = TrainState()
    if config.resume:
        checkpoint = latest_checkpoint(ckpt_root)
        if checkpoint is None:
            raise UserError(f"--resume: no checkpoint in {ckpt_root}; run without --resume")
        _check_same_run(out, config, data)
        state = load_checkpoint(checkpoint, model.model, optimizer, scheduler)
        _truncate_metrics_log(out / "metrics.jsonl", state.step)
        _log(f"resumed from {checkpoint} (step {state.step})", accelerator, quiet)
    elif accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.jsonl").write_text("")
        write_json_atomic(
            out / "train_config.json",
            {"config": asdict(config), "data_fingerprint": data.fingerprint},
        )

    wrapped, optimizer = accelerator.prepare(model.model, optimizer)
    wrapped.train()
    started = time.perf_counter()
    eval_seconds = 0.0
    stats = RunningStats.for_device(accelerator.device)
    strategy = resolve_strategy(config.pair_forward, model.model, model.info.scoring["rule"])
    pad_multiple = pad_multiple_for(accelerator.device, config.pad_to_multiple)
    _log(f"pair forward: {strategy}", accelerator, quiet)

    def flush() -> None:
        stats.flush(lambda loss, step: _diverged(loss, step, ckpt_root))

    with progress_bar("training", total_steps, show=progress if not quiet else False) as bar:
        bar.update(state.step)
        while state.step < total_steps:
            batches = length_grouped_batches(
                lengths,
                config.batch_size,
                seed=config.seed * 1000 + state.epoch,
                group_by_length=config.group_by_length,
            )
            mine = batches[rank::world][:micro_per_epoch]
            while state.batch_in_epoch < len(mine) and state.step < total_steps:
                group_start = state.batch_in_epoch
                group = mine[group_start : group_start + config.grad_accum]
                group_pairs = sum(len(b) for b in group)
                for k, rows in enumerate(group):
                    with accelerator.no_sync(wrapped) if k < len(group) - 1 else nullcontext():
                        outputs = pair_forward(
                            wrapped,
                            [data.train_encoded[i] for i in rows],
                            strategy=strategy,
                            pad_id=model.pad_id,
                            use_margin=config.use_margin,
                            precision=config.precision,
                            device=accelerator.device,
                            multiple_of=pad_multiple,
                        )
                        loss = preference_loss(
                            outputs.r_chosen,
                            outputs.r_rejected,
                            margin=outputs.margin,
                            tie=outputs.tie,
                            weight=outputs.weight,
                            ties=config.ties,
                            tie_nu=config.tie_nu,
                            center_coef=config.center_coef,
                            label_smoothing=config.label_smoothing,
                        )
                        stats.add(
                            state.step + 1,
                            loss,
                            len(rows),
                            outputs.r_chosen,
                            outputs.r_rejected,
                            outputs.tie,
                        )
                        if stats.eager:  # CPU: reading is free, so stop before the backward
                            flush()
                        accelerator.backward(loss * (len(rows) / group_pairs))
                    state.tokens_seen += outputs.tokens * world
                if config.max_grad_norm:
                    accelerator.clip_grad_norm_(wrapped.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                state.batch_in_epoch += len(group)
                state.pairs_seen += group_pairs * world
                last = state.step == total_steps
                evaluate = config.eval_every and state.step % config.eval_every == 0 and not last
                save = config.save_every and state.step % config.save_every == 0 and not last
                if stats.due(state.step) or evaluate or save:
                    flush()
                bar.update(1, loss=stats.loss, acc=stats.accuracy)
                if evaluate:
                    eval_started = time.perf_counter()
                    _evaluate_and_log(
                        model,
                        data,
                        config,
                        state,
                        out,
                        accelerator,
                        stats.loss,
                        stats.accuracy,
                        scheduler.get_last_lr()[0],
                        started,
                    )
                    stats.reset_loss()
                    eval_seconds += time.perf_counter() - eval_started
                if save:
                    if accelerator.is_main_process:
                        save_checkpoint(
                            ckpt_root,
                            state,
                            accelerator.unwrap_model(wrapped),
                            optimizer,
                            scheduler,
                            config.keep_checkpoints,
                        )
                    accelerator.wait_for_everyone()
            if state.batch_in_epoch >= len(mine):
                flush()
                state.epoch += 1
                state.batch_in_epoch = 0
                if state.step < total_steps:
                    stats.reset_accuracy()
        flush()

    loop_seconds = time.perf_counter() - started - eval_seconds
    model.model = accelerator.unwrap_model(wrapped)
    model.model.eval()
    with FeatureRecorder(model) as recorder:  # keeps the eval texts' features for OOD stats
        final = _evaluate_and_log(
            model,
            data,
            config,
            state,
            out,
            accelerator,
            stats.loss,
            stats.accuracy,
            scheduler.get_last_lr()[0],
            started,
        )
    # --ensemble K heads, OOD feature statistics and the proxy sections (rewardkit.train.frozen)
    final = finish_with_features(
        model,
        data,
        config,
        final,
        out,
        recorder=recorder,
        is_main=accelerator.is_main_process,
        progress=progress,
        quiet=quiet,
    )
    metrics = _finish(
        model,
        data,
        config,
        state,
        out,
        final,
        time.perf_counter() - started,
        accelerator,
        loop_seconds,
    )
    _log(
        f"eval accuracy {_pct(metrics['accuracy'])} on {metrics['n']} pairs; "
        f"{_pct(metrics['fits_max_length']['accuracy'])} on the "
        f"{metrics['fits_max_length']['n']} that fit in {config.max_length} tokens; "
        f"saved to {out}",
        accelerator,
        quiet,
    )
    return TrainResult(out, metrics, state)


def _evaluate_and_log(
    model, data: PreparedData, config, state, out, accelerator, train_loss, train_acc, lr, started
) -> dict:
    entry = {
        "step": state.step,
        "epoch": state.epoch,
        "pairs_seen": state.pairs_seen,
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "lr": lr,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    if data.eval_encoded:
        was_training = model.model.training
        metrics, r_c, r_r = evaluate_encoded(
            model,
            data.eval_pairs,
            data.eval_encoded,
            data.eval_report,
            batch_size=config.eval_batch_size,
        )
        model.model.train(was_training)
        entry["eval"] = {k: metrics[k] for k in ("n", "accuracy", "mean_margin", "bt_loss")}
        entry["eval"]["fits_max_length_accuracy"] = metrics["fits_max_length"]["accuracy"]
    else:
        metrics, r_c, r_r = {}, np.zeros(0), np.zeros(0)
    if accelerator.is_main_process:
        with open(out / "metrics.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    return {"metrics": metrics, "r_c": r_c, "r_r": r_r}


def _finish(
    model: RewardModel, data, config, state, out, final, seconds, accelerator, loop_seconds: float
) -> dict:
    """Normalization from eval rewards, metrics.json, rewardkit.json, the saved model."""
    rewards = np.concatenate([final["r_c"], final["r_r"]])
    measured_on = f"eval split ({len(final['r_c'])} pairs, {rewards.size} rewards)"
    if rewards.size < 2:
        sample = data.train_encoded[:256]
        r_c, r_r = model.score_encoded_pairs(sample, batch_size=config.eval_batch_size)
        rewards = np.concatenate([r_c, r_r])
        measured_on = f"train pairs ({len(sample)}; the eval split is empty)"
    model.info.normalization = Normalization(
        float(rewards.mean()), float(max(rewards.std(), 1e-8)), measured_on
    )
    metrics = dict(final["metrics"])
    metrics.update(
        {
            "split": "eval",
            "data": config.eval_data or config.data,
            "model": str(out),
            "skipped_records": data.skipped_records,
            "training": {
                "steps": state.step,
                "epochs": state.epoch,
                "pairs_seen": state.pairs_seen,
                "seconds": round(seconds, 2),
                "pairs_per_second": round(state.pairs_seen / max(seconds, 1e-9), 3),
                "tokens_seen": state.tokens_seen,
                "loop_seconds": round(loop_seconds, 3),
                **data.summary(),
            },
        }
    )
    model.info.data = {
        "fingerprint": data.fingerprint,
        "source": config.data,
        "eval_source": config.eval_data or f"--eval-fraction {config.eval_fraction}",
        "train_pairs": len(data.train_pairs),
        "eval_pairs": len(data.eval_pairs),
    }
    model.info.metrics = {k: metrics.get(k) for k in ("n", "accuracy", "mean_margin", "bt_loss")}
    model.info.metrics["fits_max_length_accuracy"] = metrics.get("fits_max_length", {}).get(
        "accuracy"
    )
    if accelerator.is_main_process:
        model.save_pretrained(out)
        write_json_atomic(out / "metrics.json", metrics)
    accelerator.wait_for_everyone()
    return metrics


def _check_same_run(out: Path, config: TrainConfig, data: PreparedData) -> None:
    path = out / "train_config.json"
    if not path.is_file():
        return
    saved = json.loads(path.read_text())
    if saved.get("data_fingerprint") != data.fingerprint:
        raise UserError(
            "--resume: the training data differs from the checkpointed run's "
            "(fingerprint mismatch); resume with the same --data",
            where=str(path),
        )
    before = {k: v for k, v in saved["config"].items() if k not in ("resume",)}
    now = {k: v for k, v in asdict(config).items() if k not in ("resume",)}
    changed = sorted(k for k in before if before[k] != now.get(k))
    if changed:
        raise UserError(
            f"--resume: options changed since the run began: {', '.join(changed)}; "
            "resume with the same options",
            where=str(path),
        )


def _truncate_metrics_log(path: Path, step: int) -> None:
    if not path.is_file():
        return
    kept = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and json.loads(line)["step"] <= step
    ]
    path.write_text("".join(line + "\n" for line in kept))


def _diverged(loss: float, step: int, ckpt_root: Path):
    last = latest_checkpoint(ckpt_root)
    kept = f"the last good checkpoint {last} is kept" if last else "no checkpoint was written"
    raise TrainingDivergedError(
        f"loss became {loss} at step {step}; {kept}; "
        "lower --lr or use --precision fp32, then --resume"
    )


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
