"""The full fine-tune, top to bottom: setup → data → loop (concatenated forward, BT loss,
AdamW) → evaluate → save.

Runs on ``accelerate``, so ``accelerate launch`` spreads it over processes/GPUs unchanged:
each process takes every n-th micro-batch of the shared epoch order, and the engine averages
the gradients. Read :func:`train_finetune` first; each step below it is one small function.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from transformers import get_scheduler

from rewardkit.errors import TrainingDivergedError, UserError
from rewardkit.eval.proxy import core_metrics
from rewardkit.model.attention import use_fast_attention
from rewardkit.model.collate import pad_multiple_for
from rewardkit.model.folder_check import read_json_object
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.scorer import Scorer
from rewardkit.progress import progress_bar
from rewardkit.train import outputs
from rewardkit.train.accelerator import training_accelerator
from rewardkit.train.batching import length_grouped_batches, pair_length, soft_labels
from rewardkit.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from rewardkit.train.config import TrainConfig
from rewardkit.train.final_report import finish_with_features
from rewardkit.train.forward import pair_forward, resolve_strategy
from rewardkit.train.losses import Objective, preference_loss
from rewardkit.train.prepare import PreparedData, new_reward_model, prepare_data
from rewardkit.train.running import RunningStats

RESUME_MAY_CHANGE = ("resume", "out")  # options --resume does not compare
SCHEDULES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}


@dataclass
class Run:
    """Everything the loop touches, in one place."""

    config: TrainConfig
    accelerator: Accelerator
    model: RewardModel
    data: PreparedData
    optimizer: torch.optim.Optimizer
    scheduler: object
    state: TrainState
    log: outputs.MetricsLog
    micro_per_epoch: int
    total_steps: int
    wrapped: torch.nn.Module | None = None
    stats: RunningStats | None = None
    strategy: str = "concatenated"
    pad_multiple: int = 1
    objective: Objective = field(default_factory=Objective)
    started: float = field(default_factory=time.perf_counter)
    eval_seconds: float = 0.0

    @property
    def checkpoints(self) -> Path:
        return Path(self.config.out) / "checkpoints"


def train_finetune(
    config: TrainConfig, *, quiet: bool = False, progress: bool | None = None
) -> outputs.TrainResult:
    """Fine-tune the backbone with a new reward head and save it to ``config.out``."""
    if config.threads:
        torch.set_num_threads(config.threads)
    accelerator = training_accelerator()
    is_main = accelerator.is_main_process
    _refuse_to_overwrite(config)
    model = _build_model(config)
    data = prepare_data(config, model)
    for note in data.notes:
        outputs.say(note, quiet=quiet, is_main=is_main)
    run = _setup(config, accelerator, model, data, quiet)
    with progress_bar("training", run.total_steps, show=progress if not quiet else False) as bar:
        bar.update(run.state.step)
        while run.state.step < run.total_steps:
            _train_epoch(run, bar)
        _flush(run)
    loop_seconds = time.perf_counter() - run.started - run.eval_seconds
    model.model = accelerator.unwrap_model(run.wrapped)
    model.model.eval()
    final = _evaluate(run, features=True)
    # --ensemble K heads, OOD feature statistics and the proxy sections
    final = finish_with_features(
        model, data, config, final, is_main=is_main, progress=progress, quiet=quiet
    )
    metrics = outputs.save_run(
        model,
        data,
        config,
        run.state,
        final,
        seconds=time.perf_counter() - run.started,
        loop_seconds=loop_seconds,
        is_main=is_main,
    )
    accelerator.wait_for_everyone()
    outputs.say(outputs.summary_line(metrics, config), quiet=quiet, is_main=is_main)
    return outputs.TrainResult(Path(config.out), metrics, run.state)


# ---------------------------------------------------------------------------- setup
def _refuse_to_overwrite(config: TrainConfig) -> None:
    out = Path(config.out)
    if (
        out.exists()
        and any(out.iterdir())
        and not config.resume
        and latest_checkpoint(out / "checkpoints")
    ):
        raise UserError(
            f"{out} already holds a run with checkpoints; pass --resume to continue "
            "it, or choose another --out"
        )


def _build_model(config: TrainConfig) -> RewardModel:
    model = new_reward_model(config)
    if config.precision == "bf16" and not torch.cuda.is_available():
        use_fast_attention(model.model)  # fp32 attention core: CPU bf16 SDPA backward is slow
    return model


def _setup(
    config: TrainConfig,
    accelerator: Accelerator,
    model: RewardModel,
    data: PreparedData,
    quiet: bool,
) -> Run:
    """Steps, optimizer, schedule; the checkpoint when resuming; the engine's wrapping."""
    world = accelerator.num_processes
    micro_per_epoch = math.ceil(len(data.train_encoded) / config.batch_size) // world
    if micro_per_epoch == 0:
        raise UserError(
            f"{len(data.train_encoded)} training pairs cannot fill one batch per "
            "process; lower --batch-size"
        )
    total_steps = math.ceil(micro_per_epoch / config.grad_accum) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    # one fused kernel per step on CUDA (as HF Trainer's default adamw_torch_fused)
    optimizer = torch.optim.AdamW(
        model.model.parameters(),
        lr=config.lr,
        weight_decay=config.weight_decay,
        fused=True if accelerator.device.type == "cuda" else None,
    )
    scheduler = get_scheduler(
        SCHEDULES[config.schedule],
        optimizer,
        num_warmup_steps=int(config.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    run = Run(
        config,
        accelerator,
        model,
        data,
        optimizer,
        scheduler,
        TrainState(),
        outputs.MetricsLog(Path(config.out), is_main=accelerator.is_main_process),
        micro_per_epoch,
        total_steps,
    )
    if config.resume:
        _resume(run, quiet)
    else:
        outputs.start_run(
            Path(config.out), config, data.fingerprint, is_main=accelerator.is_main_process
        )
    run.wrapped, run.optimizer = accelerator.prepare(model.model, optimizer)
    run.wrapped.train()
    run.stats = RunningStats.for_device(accelerator.device)
    run.strategy = resolve_strategy(config.pair_forward, model.model, model.info.scoring["rule"])
    run.pad_multiple = pad_multiple_for(accelerator.device, config.pad_to_multiple)
    run.objective = Objective.of(config)
    outputs.say(f"pair forward: {run.strategy}", quiet=quiet, is_main=accelerator.is_main_process)
    run.started = time.perf_counter()
    return run


def _resume(run: Run, quiet: bool) -> None:
    checkpoint = latest_checkpoint(run.checkpoints)
    if checkpoint is None:
        raise UserError(f"--resume: no checkpoint in {run.checkpoints}; run without --resume")
    _check_same_run(Path(run.config.out), run.config, run.data)
    run.state = load_checkpoint(checkpoint, run.model.model, run.optimizer, run.scheduler)
    run.log.truncate_to(run.state.step)
    outputs.say(
        f"resumed from {checkpoint} (step {run.state.step})",
        quiet=quiet,
        is_main=run.accelerator.is_main_process,
    )


def _check_same_run(out: Path, config: TrainConfig, data: PreparedData) -> None:
    path = out / "train_config.json"
    if not path.is_file():
        return
    saved = read_json_object(path, "delete it to resume without comparing the options")
    if not isinstance(saved.get("config"), dict):
        raise UserError(
            'no "config" block; delete the file to resume without comparing the options',
            where=str(path),
        )
    if saved.get("data_fingerprint") != data.fingerprint:
        raise UserError(
            "--resume: the training data differs from the checkpointed run's "
            "(fingerprint mismatch); resume with the same --data",
            where=str(path),
        )
    # the folder may have been moved or copied since: where it is now is not an option change
    before = {k: v for k, v in saved["config"].items() if k not in RESUME_MAY_CHANGE}
    now = {k: v for k, v in asdict(config).items() if k not in RESUME_MAY_CHANGE}
    changed = sorted(k for k in before if before[k] != now.get(k))
    if changed:
        raise UserError(
            f"--resume: options changed since the run began: {', '.join(changed)}; "
            "resume with the same options",
            where=str(path),
        )


# ---------------------------------------------------------------------------- the loop
def _train_epoch(run: Run, bar) -> None:
    """The rest of the current epoch: this process's share of its length-grouped batches,
    ``grad_accum`` micro-batches per optimizer step."""
    config, state = run.config, run.state
    world, rank = run.accelerator.num_processes, run.accelerator.process_index
    lengths = np.array([pair_length(p) for p in run.data.train_encoded])
    batches = length_grouped_batches(
        lengths,
        config.batch_size,
        seed=config.seed * 1000 + state.epoch,
        group_by_length=config.group_by_length,
    )
    mine = batches[rank::world][: run.micro_per_epoch]
    while state.batch_in_epoch < len(mine) and state.step < run.total_steps:
        group = mine[state.batch_in_epoch : state.batch_in_epoch + config.grad_accum]
        _optimizer_step(run, group)
        _after_step(run, bar)
    if state.batch_in_epoch >= len(mine):
        _flush(run)
        state.epoch += 1
        state.batch_in_epoch = 0
        if state.step < run.total_steps:
            run.stats.reset_accuracy()


def _optimizer_step(run: Run, group: list[np.ndarray]) -> None:
    """Forward and backward every micro-batch of ``group`` (gradients synchronised on the
    last), clip, step."""
    config, state, accelerator = run.config, run.state, run.accelerator
    group_pairs = sum(len(rows) for rows in group)
    for k, rows in enumerate(group):
        syncing = nullcontext() if k == len(group) - 1 else accelerator.no_sync(run.wrapped)
        with syncing:
            pair = pair_forward(
                run.wrapped,
                [run.data.train_encoded[i] for i in rows],
                strategy=run.strategy,
                pad_id=run.model.pad_id,
                use_margin=config.use_margin,
                precision=config.precision,
                device=accelerator.device,
                multiple_of=run.pad_multiple,
            )
            loss = preference_loss(
                pair.r_chosen,
                pair.r_rejected,
                margin=pair.margin,
                tie=pair.tie,
                weight=pair.weight,
                objective=run.objective,
                label=soft_labels([run.data.train_encoded[i] for i in rows], pair.weight.device),
            )
            run.stats.add(state.step + 1, loss, len(rows), pair.r_chosen, pair.r_rejected, pair.tie)
            if run.stats.eager:  # CPU: reading is free, so stop before the backward
                _flush(run)
            accelerator.backward(loss * (len(rows) / group_pairs))
        state.tokens_seen += pair.tokens * accelerator.num_processes
    if config.max_grad_norm:
        accelerator.clip_grad_norm_(run.wrapped.parameters(), config.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    state.batch_in_epoch += len(group)
    state.pairs_seen += group_pairs * accelerator.num_processes


def _after_step(run: Run, bar) -> None:
    """Progress, and the evaluations and checkpoints that fall due at this step."""
    config, state = run.config, run.state
    last = state.step == run.total_steps
    evaluate = config.eval_every and state.step % config.eval_every == 0 and not last
    save = config.save_every and state.step % config.save_every == 0 and not last
    if run.stats.due(state.step) or evaluate or save:
        _flush(run)
    bar.update(1, loss=run.stats.loss, acc=run.stats.accuracy)
    if evaluate:
        eval_started = time.perf_counter()
        _evaluate(run)
        run.stats.reset_loss()
        run.eval_seconds += time.perf_counter() - eval_started
    if save:
        if run.accelerator.is_main_process:
            save_checkpoint(
                run.checkpoints,
                state,
                run.accelerator.unwrap_model(run.wrapped),
                run.optimizer,
                run.scheduler,
                config.keep_checkpoints,
            )
        run.accelerator.wait_for_everyone()


def _flush(run: Run) -> None:
    run.stats.flush(lambda loss, step: _diverged(loss, step, run.checkpoints))


def _diverged(loss: float, step: int, checkpoints: Path):
    last = latest_checkpoint(checkpoints)
    kept = f"the last good checkpoint {last} is kept" if last else "no checkpoint was written"
    raise TrainingDivergedError(
        f"loss became {loss} at step {step}; {kept}; "
        "lower --lr or use --precision fp32, then --resume"
    )


# ---------------------------------------------------------------------------- evaluation
@dataclass
class Evaluated:
    """An evaluation of the eval split, and the pairs behind it (with features at the end)."""

    evaluation: outputs.FinalEvaluation
    scored: object | None = None


def _evaluate(run: Run, *, features: bool = False) -> Evaluated:
    """Score the eval split with the one scorer and append a ``metrics.jsonl`` line."""
    data, model = run.data, run.model
    scored = None
    evaluation = outputs.FinalEvaluation.empty()
    if data.eval_encoded:
        was_training = model.model.training
        scored = Scorer([model]).score_encoded_pairs(
            data.eval_pairs,
            data.eval_encoded,
            data.eval_report,
            batch_size=run.config.eval_batch_size,
            features=features,
        )
        model.model.train(was_training)
        metrics = core_metrics(
            scored, len(data.eval_pairs), model.info.max_length, model.temperature
        )
        evaluation = outputs.FinalEvaluation(metrics, scored.r_chosen, scored.r_rejected)
    run.log.append(
        outputs.log_entry(
            run.state,
            run.started,
            evaluation.metrics,
            train_loss=run.stats.loss,
            train_accuracy=run.stats.accuracy,
            lr=run.scheduler.get_last_lr()[0],
        )
    )
    return Evaluated(evaluation, scored)
