"""The full fine-tune, top to bottom: setup → data → loop (the pair forward, BT loss,
AdamW) → evaluate → save.

Runs on ``accelerate``, so ``accelerate launch`` and ``torchrun`` spread it over processes,
GPUs and machines unchanged. The epoch's plan is cut into global batches of ``--batch-size ×
processes`` pairs — the plan one process with that batch would follow — and each process takes
its contiguous part of every global batch (:func:`rewardkit.train.batching.process_share`).
Each process's loss is weighted by its share of the step's pairs, so the engine's gradient
average is the gradient of the global batch's mean loss, whatever the split: an uneven last
batch is split as evenly as it goes, and a process left without a pair runs one with weight 0
(so the all-reduce still meets). Every pair is seen once per epoch. Evaluation is sharded and
gathered by the one scorer (:mod:`rewardkit.model.shards`); only the main process writes.
Read :func:`train_finetune` first; each step below it is one small function.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from transformers import get_scheduler

from rewardkit.errors import TrainingDivergedError, UserError
from rewardkit.eval.proxy import core_metrics
from rewardkit.model.attention import set_attention, use_fast_attention
from rewardkit.model.collate import pad_multiple_for
from rewardkit.model.folder_check import read_json_object
from rewardkit.model.reward_model import RewardModel
from rewardkit.model.scorer import Scorer
from rewardkit.progress import progress_bar
from rewardkit.train import outputs
from rewardkit.train.accelerator import training_accelerator
from rewardkit.train.batching import (
    length_grouped_batches,
    pair_length,
    process_share,
    soft_labels,
)
from rewardkit.train.checkpoint import (
    TrainState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from rewardkit.train.config import TrainConfig
from rewardkit.train.engine import backward, configure_engine, engine_name, micro_batch
from rewardkit.train.final_report import finish_with_features
from rewardkit.train.forward import pair_forward, resolve_strategy
from rewardkit.train.gather import (
    gathered_state_dict,
    refuse_periodic_work,
    shards_parameters,
    whole_parameters,
)
from rewardkit.train.lora import add_lora, finish_lora
from rewardkit.train.losses import Objective, preference_loss
from rewardkit.train.packing import check_packing
from rewardkit.train.prepare import PreparedData, new_reward_model, prepare_data
from rewardkit.train.running import RunningStats

# options --resume does not compare (a preset's name: the options it set are compared)
RESUME_MAY_CHANGE = ("resume", "out", "preset")
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
    launch: dict = field(default_factory=dict)  # processes and the global batch

    @property
    def checkpoints(self) -> Path:
        return Path(self.config.out) / "checkpoints"


def train_finetune(
    config: TrainConfig, *, quiet: bool = False, progress: bool | None = None
) -> outputs.TrainResult:
    """Fine-tune the backbone with a new reward head and save it to ``config.out``."""
    if config.threads:
        torch.set_num_threads(config.threads)
    accelerator = training_accelerator(config.precision)
    is_main = accelerator.is_main_process
    _refuse_to_overwrite(config)
    model = _build_model(config, attention=config.attention)
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
    model.model = _trained_model(run)
    if config.lora_r:
        finish_lora(model, config)
    if config.attention != "auto":  # evaluate with the kernel the loader will open it with
        _use_attention(model.model, config, None)
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
        launch=run.launch,
        is_main=is_main,
    )
    accelerator.wait_for_everyone()
    outputs.say(outputs.summary_line(metrics, config), quiet=quiet, is_main=is_main)
    return outputs.TrainResult(Path(config.out), metrics, run.state)


# ---------------------------------------------------------------------------- setup
def _trained_model(run: Run) -> torch.nn.Module:
    """The trained HF model, whole (FSDP/ZeRO-3: gathered into a fresh copy)."""
    accelerator = run.accelerator
    if not shards_parameters(accelerator):
        return accelerator.unwrap_model(run.wrapped)
    state = gathered_state_dict(accelerator, run.wrapped)
    with whole_parameters(accelerator):  # the same architecture (and LoRA adapters), whole
        fresh = _build_model(run.config).model
    fresh.load_state_dict(state)
    run.wrapped = run.optimizer = None  # the engine's shards and optimizer state go
    return fresh.to(accelerator.device)


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


def _build_model(config: TrainConfig, *, attention: str = "auto") -> RewardModel:
    model = new_reward_model(config)
    _use_attention(model.model, config, attention)
    if config.gradient_checkpointing:
        model.model.gradient_checkpointing_enable({"use_reentrant": False})
    if config.lora_r:
        add_lora(model, config)
    return model


def _use_attention(hf_model, config: TrainConfig, name: str | None) -> None:
    """The attention kernel: an ``--attention`` choice (auto: keep the one loaded), or None:
    the one transformers picks at load, as the loader will open the saved model. Under bf16 on
    a CPU an sdpa kernel gets rewardkit's fp32 core (CPU bf16 SDPA backward is slow)."""
    if name == "flex_attention" and not torch.cuda.is_available():
        raise UserError(
            "--attention flex_attention trains on a GPU only (PyTorch's FlexAttention has no "
            "backward on a CPU); use --attention auto here"
        )
    if name != "auto":
        set_attention(hf_model, name)
    if config.precision == "bf16" and not torch.cuda.is_available():
        use_fast_attention(hf_model)


def _setup(
    config: TrainConfig,
    accelerator: Accelerator,
    model: RewardModel,
    data: PreparedData,
    quiet: bool,
) -> Run:
    """Steps, optimizer, schedule; the checkpoint when resuming; the engine's wrapping."""
    world = accelerator.num_processes
    micro_per_epoch = math.ceil(len(data.train_encoded) / (config.batch_size * world))
    if micro_per_epoch == 0:
        raise UserError("no training pairs are left to train on; check --data")
    total_steps = math.ceil(micro_per_epoch / config.grad_accum) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    # one fused kernel per step on CUDA (as HF Trainer's default adamw_torch_fused)
    optimizer = torch.optim.AdamW(
        [p for p in model.model.parameters() if p.requires_grad],  # LoRA: adapters and head
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
        launch=launch_info(config, world, engine_name(accelerator)),
    )
    for note in [
        f"global batch: {config.batch_size} pairs per process × {world} process(es) × "
        f"{config.grad_accum} accumulation = {run.launch['global_batch']} pairs per step "
        f"({run.launch['engine']})",
        *configure_engine(accelerator, config),
    ]:
        outputs.say(note, quiet=quiet, is_main=accelerator.is_main_process)
    run.strategy = resolve_strategy(
        config.pair_forward, model.model, model.info.scoring["rule"], world
    )
    if config.resume:
        _resume(run, quiet)
    else:
        outputs.start_run(
            Path(config.out),
            config,
            data.fingerprint,
            launch=run.launch,
            is_main=accelerator.is_main_process,
        )
    refuse_periodic_work(accelerator, config.eval_every, config.save_every)
    run.wrapped, run.optimizer = accelerator.prepare(model.model, optimizer)
    run.wrapped.train()
    run.stats = RunningStats.for_device(accelerator.device)
    if world > 1:  # log the global batch's loss and accuracy, not this process's share
        run.stats.reduce = lambda table: accelerator.reduce(table, "sum")
    if run.strategy == "packed":  # through the engine's wrapper: its shards are whole there
        check_packing(run.wrapped, model.pad_id, accelerator.device)
    run.pad_multiple = pad_multiple_for(accelerator.device, config.pad_to_multiple)
    run.objective = Objective.of(config)
    attention = model.model.config._attn_implementation
    outputs.say(
        f"pair forward: {run.strategy} (attention: {attention})",
        quiet=quiet,
        is_main=accelerator.is_main_process,
    )
    run.started = time.perf_counter()
    return run


def _resume(run: Run, quiet: bool) -> None:
    checkpoint = latest_checkpoint(run.checkpoints)
    if checkpoint is None:
        raise UserError(f"--resume: no checkpoint in {run.checkpoints}; run without --resume")
    _check_same_run(Path(run.config.out), run.config, run.data, run.launch)
    run.state = load_checkpoint(checkpoint, run.model.model, run.optimizer, run.scheduler)
    run.log.truncate_to(run.state.step)
    outputs.say(
        f"resumed from {checkpoint} (step {run.state.step})",
        quiet=quiet,
        is_main=run.accelerator.is_main_process,
    )


def launch_info(config: TrainConfig, processes: int, engine: str) -> dict:
    """What ``train_config.json`` and ``metrics.json`` record about the launch."""
    return {
        "engine": engine,
        "processes": processes,
        "batch_size_per_process": config.batch_size,
        "grad_accum": config.grad_accum,
        "global_batch": config.batch_size * processes * config.grad_accum,
    }


def _check_same_run(out: Path, config: TrainConfig, data: PreparedData, launch: dict) -> None:
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
    began_with = saved.get("launch", {}).get("processes", 1)
    if began_with != launch["processes"]:
        raise UserError(
            f"--resume: the run began with {began_with} process(es) and now has "
            f"{launch['processes']}; the batch plan depends on it: resume with "
            f"{began_with} process(es)",
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
    """The rest of the current epoch: its length-grouped global batches, ``grad_accum`` per
    optimizer step (each process computes its share of each)."""
    config, state = run.config, run.state
    lengths = np.array([pair_length(p) for p in run.data.train_encoded])
    batches = length_grouped_batches(
        lengths,
        config.batch_size * run.accelerator.num_processes,
        seed=config.seed * 1000 + state.epoch,
        group_by_length=config.group_by_length,
    )
    while state.batch_in_epoch < len(batches) and state.step < run.total_steps:
        group = batches[state.batch_in_epoch : state.batch_in_epoch + config.grad_accum]
        _optimizer_step(run, group)
        _after_step(run, bar)
    if state.batch_in_epoch >= len(batches):
        _flush(run)
        state.epoch += 1
        state.batch_in_epoch = 0
        if state.step < run.total_steps:
            run.stats.reset_accuracy()


def _optimizer_step(run: Run, group: list[np.ndarray]) -> None:
    """Forward and backward this process's share of every global batch of ``group``
    (gradients synchronised on the last), clip, step. A share's loss is weighted by
    ``share × processes / pairs in the step``: the engine's average over processes is then the
    step's mean over all its pairs."""
    config, state, accelerator = run.config, run.state, run.accelerator
    world = accelerator.num_processes
    group_pairs = sum(len(rows) for rows in group)
    for k, global_rows in enumerate(group):
        rows = process_share(global_rows, accelerator.process_index, world)
        weight = len(rows) * world / group_pairs
        if len(rows) == 0:  # one pair at weight 0: this process still meets the all-reduce
            rows = global_rows[:1]
        with micro_batch(accelerator, run.wrapped, last=k == len(group) - 1):
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
            counted = len(rows) if weight else 0
            run.stats.add(state.step + 1, loss, counted, pair.r_chosen, pair.r_rejected, pair.tie)
            if run.stats.eager:  # CPU: reading is free, so stop before the backward
                _flush(run)
            backward(accelerator, loss * weight)
        state.tokens_seen += pair.tokens * world
    if config.max_grad_norm:
        accelerator.clip_grad_norm_(run.wrapped.parameters(), config.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    state.step += 1
    state.batch_in_epoch += len(group)
    state.pairs_seen += group_pairs


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
            scored, len(data.eval_pairs), model.info.max_length, model.calibration
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
