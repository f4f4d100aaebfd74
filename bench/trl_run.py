"""TRL's ``RewardTrainer`` as every bench runs it — the one home of the anchor that
``bench/train_vs_trl.py``, ``bench/quality_budget.py`` (through ``budget_anchor``) and the GPU
checks (``gpu_train_check``, ``gpu_scale_check``, ``gpu_profile``) measure rewardkit against.

TRL gets the very texts rewardkit scores (:func:`trl_records`: the backbone's template rendered
by rewardkit, as TRL's implicit ``{chosen, rejected}`` records) and the same batch size,
learning rate, max length and precision; it appends its tokenizer's EOS text to each record and
drops a pair longer than ``max_length`` (rewardkit truncates it). The token count is TRL's own
(the attention-mask tokens it trained on, every step), so pairs/s and tokens/s are comparable
with rewardkit's ``tokens_seen``.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from rewardkit.model.reward_model import RewardModel
from rewardkit.train.accelerator import reset_accelerate_state

LOG_NEVER = 10**9  # logging_steps when no step's loss is wanted


@dataclass
class TrlRun:
    """One ``RewardTrainer`` run: what the benches set, and nothing else differs."""

    backbone: str
    batch_size: int = 16
    lr: float = 1e-4
    max_length: int = 512
    precision: str = "fp32"  # "bf16": TRL's bf16 autocast through accelerate
    max_steps: int | None = None  # None: one epoch
    schedule: str = "linear"  # "constant": the loss checks, which also log every step's loss
    seed: int = 0
    out: Path | None = None  # the model and tokenizer are saved there; None: not saved


def trl_records(backbone: str, pairs, max_length: int) -> tuple[list[dict], bool]:
    """TRL's records of ``pairs``: the exact texts rewardkit scores, and whether rewardkit's
    template ends each text with EOS itself (if not, TRL's appended EOS text is an extra
    suffix rewardkit must score too: :func:`run_trl`'s ``eos_suffix``)."""
    reference = RewardModel.from_backbone(backbone, max_length=max_length)
    tokenizer, template = reference.tokenizer, reference.template
    rows = [
        {
            "chosen": template.render(tokenizer, p.prompt, p.chosen)[0],
            "rejected": template.render(tokenizer, p.prompt, p.rejected)[0],
        }
        for p in pairs
    ]
    return rows, template.append_eos


def run_trl(run: TrlRun, rows: list[dict], append_eos: bool = True) -> dict:
    """Train with TRL on ``rows`` (:func:`trl_records`); ``seconds`` is ``trainer.train()``
    alone. Returns pairs and tokens trained, their rates, the steps, the logged losses (every
    step under ``schedule="constant"``), the pairs TRL dropped as over-long, and the EOS text
    it appended that rewardkit's template does not (``eos_suffix``)."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    tokenizer = AutoTokenizer.from_pretrained(run.backbone)
    if tokenizer.eos_token is None:  # TRL appends EOS text to every example; BERT has none
        tokenizer.eos_token = tokenizer.sep_token
    dataset = Dataset.from_list(rows)
    torch.manual_seed(run.seed)
    model = AutoModelForSequenceClassification.from_pretrained(run.backbone, num_labels=1)
    every_step = run.schedule == "constant"
    config = RewardConfig(
        output_dir=str(run.out) if run.out else tempfile.mkdtemp(prefix="trl-run-"),
        per_device_train_batch_size=run.batch_size,
        learning_rate=run.lr,
        num_train_epochs=1,
        max_steps=run.max_steps or -1,
        max_length=run.max_length,
        lr_scheduler_type=run.schedule,
        gradient_checkpointing=False,
        bf16=run.precision == "bf16",
        use_cpu=not torch.cuda.is_available(),
        report_to=[],
        save_strategy="no",
        eval_strategy="no",
        logging_steps=1 if every_step else LOG_NEVER,
        disable_tqdm=True,
        seed=run.seed,
        dataloader_num_workers=0,
    )
    trainer = RewardTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=tokenizer
    )
    kept = len(trainer.train_dataset)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    reset_accelerate_state()  # TRL leaves accelerate at its precision; rewardkit sets its own
    if run.out:
        trainer.model.save_pretrained(run.out, safe_serialization=True)
        tokenizer.save_pretrained(run.out)
    steps = trainer.state.global_step
    pairs = pairs_in_steps(steps, kept, run.batch_size)
    tokens = int(trainer._total_train_tokens)  # TRL's count: attention-mask tokens trained on
    return {
        "pairs_trained": pairs,
        "seconds": seconds,
        "pairs_per_s": pairs / seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "steps": steps,
        "losses": [entry["loss"] for entry in trainer.state.log_history if "loss" in entry],
        "dropped_overlong": len(dataset) - kept,
        "eos_suffix": "" if append_eos else tokenizer.eos_token,
    }


def pairs_in_steps(steps: int, kept: int, batch_size: int) -> int:
    """The pairs ``steps`` steps of TRL's dataloader train on: it goes through the ``kept``
    pairs epoch after epoch (``max_steps`` past an epoch starts the next), each epoch ending
    with a partial batch when ``batch_size`` does not divide ``kept``."""
    per_epoch = math.ceil(kept / batch_size)
    return (steps // per_epoch) * kept + (steps % per_epoch) * batch_size
