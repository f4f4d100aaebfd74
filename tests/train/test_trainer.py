"""End to end: rewardkit.train on the tiny BERT writes the model, metrics.jsonl and
metrics.json (`rewardkit eval` under training's over-long policy gives its figures); ties are
dropped and counted or trained on; runs are reproducible; a NaN stops
the run naming the kept checkpoint; --resume refuses a different run."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import rewardkit.train.finetune as finetune
from rewardkit.errors import TrainingDivergedError, UserError
from rewardkit.eval.run import EvalConfig, run_eval
from rewardkit.model import RewardModel, load_reward_model
from rewardkit.train import TrainConfig, train
from rewardkit.train.checkpoint import latest_checkpoint, load_checkpoint
from rewardkit.train.outputs import summary_line

STEPS = 6  # 32 train pairs / batch 4 = 8 micro-batches; stop after 6 steps
SHORT = 64  # a max length some of the world's eval pairs are longer than


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_config):
    """One finished run: 6 steps, eval every 2, checkpoint every 2 (kept: steps 2 and 4)."""
    config = tiny_config(
        tmp_path_factory.mktemp("run") / "out", max_steps=STEPS, eval_every=2, save_every=2
    )
    return config, train(config, quiet=True)


def weights(folder):
    return load_file(Path(folder) / "model.safetensors")


def test_run_writes_model_and_metrics(run):
    """metrics.jsonl has one line per eval (steps 2, 4 and the final 6), each with eval
    accuracy over the 12 eval pairs; metrics.json matches the returned metrics."""
    config, result = run
    out = Path(config.out)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4, 6]
    assert all(line["eval"]["n"] == 12 and 0 <= line["eval"]["accuracy"] <= 1 for line in lines)
    assert all(np.isfinite(line["train_loss"]) for line in lines)
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("n", "accuracy", "mean_margin", "bt_loss", "fits_max_length", "training"):
        assert metrics[key] == json.loads(json.dumps(result.metrics[key])), key
    assert metrics["training"]["steps"] == STEPS and metrics["training"]["pairs_seen"] == 24
    assert metrics["training"]["train_pairs"] == 32 and metrics["n"] == 12
    assert metrics["accuracy"] == lines[-1]["eval"]["accuracy"]
    assert result.state.step == STEPS


def test_saved_model_scores_like_the_run_said(run, world_files):
    """The saved folder loads; its sidecar has the data fingerprint and the final metrics, and
    its normalization is the mean/std of its own eval rewards (24 = 12 pairs × 2)."""
    config, result = run
    model = RewardModel.from_pretrained(config.out)
    assert model.info.data["fingerprint"] == result.metrics["training"]["fingerprint"]
    assert model.info.metrics["accuracy"] == result.metrics["accuracy"]
    from rewardkit.data import read_pairs

    pairs, _ = read_pairs(world_files["eval"])
    scored = load_reward_model(config.out).score_pairs(pairs)
    r_c, r_r = scored.r_chosen, scored.r_rejected
    rewards = np.concatenate([r_c, r_r])
    assert rewards.size == 24
    assert model.info.normalization.mean == pytest.approx(rewards.mean(), abs=1e-5)
    assert model.info.normalization.std == pytest.approx(rewards.std(), abs=1e-5)
    assert result.metrics["accuracy"] == pytest.approx(np.mean(r_c > r_r))


def test_training_changed_the_weights(run, tiny_bert_dir):
    config, _ = run
    before, after = weights(tiny_bert_dir), weights(config.out)
    assert any(not torch.equal(before[k], after[k]) for k in after if k in before)


def test_metrics_json_has_the_keys_of_rewardkit_eval(run, world_files, tmp_path):
    """Training's metrics.json and `rewardkit eval`'s share every key; training adds only its
    'training' block. Both measure the same model on the same pairs: equal accuracy."""
    config, result = run
    evaluated = run_eval(
        EvalConfig(model=config.out, data=str(world_files["eval"]), out=str(tmp_path / "eval"))
    )
    on_disk = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    trained = json.loads((Path(config.out) / "metrics.json").read_text())
    assert set(on_disk) == set(trained) - {"training"}
    assert evaluated["accuracy"] == pytest.approx(trained["accuracy"])
    assert evaluated["bt_loss"] == pytest.approx(trained["bt_loss"], abs=1e-6)


def test_eval_with_training_overlong_policy_reproduces_the_run(tiny_config, world_files, tmp_path):
    """With eval pairs over --max-length, training cut them by truncate-prompt (both sides lose
    the same prompt tokens) while `rewardkit eval` cuts each text alone by default: the run's
    last line names the policy, and `eval --overlong truncate-prompt` gives the run's figures."""
    config = tiny_config(tmp_path / "short", max_length=SHORT, max_steps=2)
    result = train(config, quiet=True)
    over = result.metrics["n"] - result.metrics["fits_max_length"]["n"]
    assert over > 0, "the world's eval pairs should not all fit in SHORT tokens"
    last_line = summary_line(result.metrics, config)
    assert f"({over} over-long, under --overlong truncate-prompt" in last_line
    assert "over-long" not in summary_line(result.metrics, replace(config, overlong="truncate"))
    same = run_eval(
        EvalConfig(
            model=config.out,
            data=str(world_files["eval"]),
            out=str(tmp_path / "eval"),
            overlong="truncate-prompt",
        )
    )
    assert same["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert same["bt_loss"] == pytest.approx(result.metrics["bt_loss"], abs=1e-6)
    assert same["fits_max_length"] == pytest.approx(result.metrics["fits_max_length"])


@pytest.mark.parametrize(
    "options",
    [{"freeze_backbone": True}, {"ensemble": 2, "ensemble_mode": "members"}],
    ids=["frozen", "members"],
)
def test_frozen_and_members_runs_name_the_overlong_policy_too(
    tiny_config, tmp_path, capsys, options
):
    """The frozen path and the members path end with their own line; it carries the same
    over-long clause as the fine-tuning run's."""
    config = tiny_config(tmp_path / "short", max_length=SHORT, max_steps=2, **options)
    result = train(config)
    over = result.metrics["n"] - result.metrics["fits_max_length"]["n"]
    said = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert over > 0 and f"({over} over-long, under --overlong truncate-prompt" in said


def test_same_seed_gives_bit_identical_weights(run, tiny_config, tmp_path):
    """A second run with seed 0 equals the first tensor for tensor (torch.equal); seed 1
    (another data order) gives different weights."""
    config, _ = run
    first = weights(config.out)
    train(tiny_config(tmp_path / "again", max_steps=STEPS), quiet=True)
    train(tiny_config(tmp_path / "seed1", max_steps=STEPS, seed=1), quiet=True)
    again, other = weights(tmp_path / "again"), weights(tmp_path / "seed1")
    assert first.keys() == again.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def _with_ties(write_preferences):
    """16 training pairs, the last 4 marked as ties; 4 eval pairs on other prompts."""
    topics = ["tea", "coffee", "cats", "dogs", "rain", "snow", "bread", "rice"]
    rows = [
        {
            "prompt": f"Tell me about {t} please {i}",
            "chosen": f"{t.capitalize()} is lovely and worth knowing about.",
            "rejected": "No.",
            **({"tie": True} if i >= 12 else {}),
        }
        for i, t in enumerate(topics * 2)
    ]
    eval_rows = [
        {"prompt": f"What about {t}?", "chosen": f"{t} is great.", "rejected": "Go away."}
        for t in topics[:4]
    ]
    return write_preferences(rows, "train.jsonl"), write_preferences(eval_rows, "eval.jsonl")


@pytest.mark.parametrize("ties", ["drop", "davidson"])
def test_ties_are_dropped_and_counted_or_trained_on(
    ties, tiny_config, write_preferences, tmp_path, monkeypatch
):
    """--ties drop: 4 tied pairs dropped (counted), 12 trained on, no tie ever reaches the
    loss. --ties davidson: all 16 trained on, and the 4 ties reach the loss in one epoch."""
    data, eval_data = _with_ties(write_preferences)
    seen_ties = []
    real_loss = finetune.preference_loss

    def spy(*args, tie, objective, **kwargs):
        seen_ties.append(int(tie.sum()))
        assert objective.ties == ties_option
        return real_loss(*args, tie=tie, objective=objective, **kwargs)

    ties_option = ties
    monkeypatch.setattr(finetune, "preference_loss", spy)
    result = train(
        tiny_config(tmp_path / ties, data=data, eval_data=eval_data, ties=ties), quiet=True
    )
    training = result.metrics["training"]
    if ties == "drop":
        assert training["ties_dropped"] == 4 and training["train_overlong"]["pairs"] == 12
        assert sum(seen_ties) == 0 and len(seen_ties) == 3  # 12 pairs / 4
    else:
        assert training["ties_dropped"] == 0 and training["train_overlong"]["pairs"] == 16
        assert sum(seen_ties) == 4 and len(seen_ties) == 4
    assert training["train_pairs"] + training["ties_dropped"] == 16  # pairs trained on + dropped


@pytest.mark.parametrize("sync_every", [1, 3], ids=["cpu-reads-every-step", "cuda-deferred"])
def test_nan_loss_stops_with_the_kept_checkpoint(tiny_config, tmp_path, monkeypatch, sync_every):
    """Checkpoints every 2 steps; the loss turns NaN at step 5 → TrainingDivergedError (exit
    code 3) naming step-4, the latest checkpoint, which still loads. Also when the loss is
    read only every 3 steps (as on CUDA): the flush before each checkpoint catches it."""
    monkeypatch.setattr(
        finetune.RunningStats,
        "for_device",
        classmethod(lambda cls, device: cls(sync_every=sync_every)),
    )
    calls = []
    real_loss = finetune.preference_loss

    def nan_at_step_5(*args, **kwargs):
        calls.append(1)
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) == 5 else loss

    monkeypatch.setattr(finetune, "preference_loss", nan_at_step_5)
    config = tiny_config(tmp_path / "nan", save_every=2, max_steps=8)
    with pytest.raises(TrainingDivergedError) as err:
        train(config, quiet=True)
    kept = Path(config.out) / "checkpoints" / "step-4"
    assert str(kept) in str(err.value) and "step 5" in str(err.value)
    assert err.value.exit_code == 3
    assert latest_checkpoint(kept.parent) == kept
    model = RewardModel.from_backbone(config.backbone, max_length=128)
    optimizer = torch.optim.AdamW(model.model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    assert load_checkpoint(kept, model.model, optimizer, scheduler).step == 4
    assert torch.equal(model.model.classifier.weight, weights(kept)["classifier.weight"])


def test_resume_refuses_changed_options_or_data(run, tiny_config, world_files, tmp_path):
    """--resume of the finished run (checkpoints at steps 2, 4) with lr 2e-3 names 'lr'; with
    a train file missing one pair names the data fingerprint; both are one line."""
    config, _ = run
    out = tmp_path / "copy"
    shutil.copytree(config.out, out)
    with pytest.raises(UserError) as err:
        train(
            tiny_config(out, max_steps=STEPS, eval_every=2, save_every=2, lr=2e-3, resume=True),
            quiet=True,
        )
    assert "options changed since the run began: lr" in str(err.value)
    assert "\n" not in str(err.value)

    lines = Path(world_files["train"]).read_text().splitlines()
    smaller = tmp_path / "smaller.jsonl"
    smaller.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(UserError) as err:
        train(
            tiny_config(
                out, data=str(smaller), max_steps=STEPS, eval_every=2, save_every=2, resume=True
            ),
            quiet=True,
        )
    assert "training data differs" in str(err.value) and "\n" not in str(err.value)


def test_resume_without_checkpoint_and_rerun_without_resume_are_refused(run, tiny_config, tmp_path):
    config, _ = run
    with pytest.raises(UserError, match="no checkpoint"):
        train(tiny_config(tmp_path / "empty", resume=True), quiet=True)
    with pytest.raises(UserError, match="pass --resume"):
        train(tiny_config(config.out, max_steps=STEPS), quiet=True)


def test_decoder_trains_and_saves_a_plain_hf_model(
    tiny_llama_chat_dir, write_preferences, tmp_path
):
    """The tiny Llama (pad == eos, own chat template) trains 2 steps on chat pairs; the saved
    folder's pad differs from EOS and plain HF (rightmost non-pad token) reproduces scores."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    rows = [
        {
            "prompt": [{"role": "user", "content": f"what is {w} ?"}],
            "chosen": f"{w} is good",
            "rejected": "no",
        }
        for w in ["tea", "coffee", "water", "cats", "dogs", "fish", "red", "blue", "green", "birds"]
    ]
    data = write_preferences(rows)
    result = train(
        TrainConfig(
            data=data,
            out=str(tmp_path / "llama"),
            backbone=str(tiny_llama_chat_dir),
            max_length=64,
            batch_size=2,
            max_steps=2,
            lr=1e-3,
            threads=1,
        ),
        quiet=True,
    )
    assert result.state.step == 2
    model = RewardModel.from_pretrained(tmp_path / "llama")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "llama")
    hf = AutoModelForSequenceClassification.from_pretrained(tmp_path / "llama").eval()
    assert tokenizer.pad_token_id != tokenizer.eos_token_id == 2
    assert hf.config.pad_token_id == tokenizer.pad_token_id
    prompt = rows[0]["prompt"]
    texts = [
        tokenizer.apply_chat_template(
            prompt + [{"role": "assistant", "content": r}], tokenize=False
        )
        for r in ["tea is good", "no"]
    ]
    batch = tokenizer(texts, add_special_tokens=False, padding=True, return_tensors="pt")
    with torch.no_grad():
        plain = hf(**batch).logits[:, 0].double().numpy()
    np.testing.assert_allclose(model.score(prompt, ["tea is good", "no"]), plain, rtol=0, atol=1e-5)


def test_skipped_bad_records_are_counted_in_metrics(tiny_config, write_preferences, tmp_path):
    """--on-bad-record skip with one broken line among 10 pairs → metrics.json
    skipped_records = 1 (the key `rewardkit eval` writes too)."""
    rows = [
        {"prompt": f"question number {i}", "chosen": "a helpful answer", "rejected": "no"}
        for i in range(10)
    ]
    data = write_preferences(rows[:3] + ['{"prompt": "broken",'] + rows[3:])
    result = train(
        tiny_config(
            tmp_path / "skip",
            data=data,
            eval_data=None,
            eval_fraction=0.3,
            on_bad_record="skip",
            batch_size=2,
            max_steps=1,
        ),
        quiet=True,
    )
    assert result.metrics["skipped_records"] == 1
    assert json.loads((tmp_path / "skip" / "metrics.json").read_text())["skipped_records"] == 1
