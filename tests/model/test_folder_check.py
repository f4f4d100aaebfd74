"""Model folders are checked on load: every broken, incomplete or refused folder stops every
command (score, eval, serve, bon, label-pairs, train --backbone) with exit code 2 and one
line naming the file and what to do — never a traceback, never code from the folder run,
never a model that loads and scores garbage (issue 18, reproducers 1, 2 and 6)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from one_line_refusals import refusal, run_cli  # noqa: E402
from rewardkit.errors import UserError  # noqa: E402
from rewardkit.model import RewardModel  # noqa: E402
from rewardkit.model.folder_check import check_safetensors, is_model_file  # noqa: E402
from tiny_reward_models import tiny_bert_dir  # noqa: E402

PAIRS = [
    {"prompt": f"what is {w} ?", "chosen": f"{w} is good", "rejected": "no"}
    for w in ("tea", "coffee", "water", "cats")
]
CUSTOM_CODE = """
from pathlib import Path
Path({marker!r}).write_text("the folder's code ran")
"""


# ---------------------------------------------------------------------------- ways to break one
def cut(name, keep=0.5):
    """The first ``keep`` of file ``name`` (a write stopped part-way)."""

    def apply(folder: Path):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * keep)])

    return apply


def set_json(name, **changes):
    def apply(folder: Path):
        value = json.loads((folder / name).read_text())
        value.update(changes)
        (folder / name).write_text(json.dumps(value))

    return apply


def replace_text(name, text):
    def apply(folder: Path):
        (folder / name).write_text(text)

    return apply


def custom_code(folder: Path):
    """A config whose model type exists only in the folder's own Python file, which would
    leave a marker file if it ever ran."""
    (folder / "modeling_custom.py").write_text(CUSTOM_CODE.format(marker=str(marker(folder))))
    (folder / "configuration_custom.py").write_text(CUSTOM_CODE.format(marker=str(marker(folder))))
    set_json(
        "config.json",
        model_type="rewardkit-test-custom",
        auto_map={
            "AutoConfig": "configuration_custom.CustomConfig",
            "AutoModelForSequenceClassification": "modeling_custom.CustomModel",
        },
    )(folder)


class Payload:
    """Unpickling this would run code (it writes the marker file)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled"))


def pickled_weights_only(folder: Path):
    (folder / "model.safetensors").unlink()
    torch.save({"weights": Payload(marker(folder))}, folder / "pytorch_model.bin")


def no_tokenizer_files(folder: Path):
    """What a save killed after the weights but before the tokenizer left (reproducer 1)."""
    for path in folder.iterdir():
        if (
            path.name.startswith(("tokenizer", "vocab", "special_tokens"))
            or path.suffix == ".jinja"
        ):
            path.unlink()


def truncated_heads(folder: Path):
    from rewardkit.model.ensemble import HEADS_FILE

    shutil.copy(HEADS_SOURCE[0] / HEADS_FILE, folder / HEADS_FILE)
    cut(HEADS_FILE, 0.7)(folder)


HEADS_SOURCE: list[Path] = []


def marker(folder: Path) -> Path:
    return folder.parent / "CODE_RAN"


# case: (command, how the folder is broken, what the line must say after the file's path)
# fmt: off
CASES = {
    "rewardkit.json broken": ("score", cut("rewardkit.json"), "rewardkit.json: broken JSON"),
    "rewardkit.json max_length a string":
        ("score", set_json("rewardkit.json", max_length="512"), "\"max_length\" is '512'"),
    "rewardkit.json a list": ("score", replace_text("rewardkit.json", "[1]"), "a JSON object"),
    "rewardkit.json calibration exponent negative": (
        "score", set_json("rewardkit.json", calibration_exponent=-0.5),
        '"calibration_exponent" is -0.5, not a positive number'),
    "rewardkit.json scoring rule unknown":
        ("score", set_json("rewardkit.json", scoring={"rule": "mean"}), '"scoring.rule" is'),
    "config.json broken": ("score", cut("config.json"), "config.json: broken JSON"),
    "config.json sizes a string":
        ("score", set_json("config.json", hidden_size="32"), "\"hidden_size\" is '32'"),
    "model.safetensors truncated": ("score", cut("model.safetensors"), "safetensors: truncated"),
    "model.safetensors empty": ("score", cut("model.safetensors", 0), "safetensors: empty"),
    "custom code: score": ("score", custom_code, "--trust-remote-code"),
    "custom code: eval": ("eval", custom_code, "--trust-remote-code"),
    "custom code: serve": ("serve", custom_code, "--trust-remote-code"),
    "custom code: bon": ("bon", custom_code, "--trust-remote-code"),
    "custom code: label-pairs": ("label-pairs", custom_code, "--trust-remote-code"),
    "custom code: train --backbone": ("train", custom_code, "--trust-remote-code"),
    "pickled weights only: train --backbone": ("train", pickled_weights_only, "pickled PyTorch"),
    "pickled weights only: score": ("score", pickled_weights_only, "bin: pickled PyTorch"),
    "no tokenizer files": ("score", no_tokenizer_files, "no tokenizer files"),
    "tokenizer.json truncated": ("score", cut("tokenizer.json"), "tokenizer.json: broken JSON"),
    "ensemble heads truncated": ("score", truncated_heads, "heads.safetensors: truncated"),
}
# fmt: on


def command(kind: str, model: Path, work: Path, pairs: str, candidates: str) -> list:
    """The command line of ``kind`` on ``model``, writing under ``work``."""
    cands = ["--model", model, "--data", candidates, "--out"]
    return {
        "score": ["score", "--model", model, "--data", pairs, "--out", work / "scores.jsonl"],
        "eval": ["eval", "--model", model, "--data", pairs, "--out", work / "eval"],
        "serve": ["serve", model, "--port", "0"],
        "bon": ["bon", *cands, work / "bon.jsonl"],
        "label-pairs": ["label-pairs", *cands, work / "dpo.jsonl"],
        "train": [
            "train",
            "--data",
            pairs,
            "--out",
            work / "run",
            "--backbone",
            model,
            "--max-length",
            "64",
            "--threads",
            "1",
        ],  # fmt: skip
    }[kind]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, heads_source):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAIRS))
    rows = [{"prompt": p["prompt"], "responses": [p["chosen"], p["rejected"]]} for p in PAIRS]
    (folder / "cands.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(folder / "pairs.jsonl"), str(folder / "cands.jsonl")


@pytest.fixture(scope="module")
def heads_source(tmp_path_factory, tiny_bert_rm_dir):
    """A heads-ensemble copy of the tiny model, whose heads file the heads case cuts."""
    import numpy as np

    from rewardkit.model.ensemble import LinearHeads, save_ensemble_heads

    folder = tmp_path_factory.mktemp("heads") / "model"
    shutil.copytree(tiny_bert_rm_dir, folder)
    save_ensemble_heads(folder, LinearHeads(np.ones((3, 32)), np.zeros(3)))
    HEADS_SOURCE[:] = [folder]
    return folder


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_folder_is_one_line_and_exit_2(case, tiny_bert_rm_dir, inputs, tmp_path):
    """Each broken folder, through its command: exit 2, one line on stderr that names the
    file and says what is wrong; the folder's code never ran (no marker file), and `train`
    wrote no --out folder."""
    kind, breaks, expected = CASES[case]
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    breaks(model)
    line = refusal(command(kind, model, tmp_path, *inputs))
    assert expected in line, line
    assert str(model) in line, line
    assert not marker(model).exists(), "code from the folder ran"
    assert not (tmp_path / "run").exists()


def test_a_broken_members_manifest_is_one_line(tiny_bert_rm_dir, inputs, tmp_path):
    """A members folder whose ensemble.json is cut short, or lists a member folder that is not
    there: one line each through `rewardkit score`, naming ensemble.json."""
    ensemble = tmp_path / "ensemble"
    shutil.copytree(tiny_bert_rm_dir, ensemble / "member-0")
    manifest = ensemble / "ensemble.json"
    manifest.write_text('{"form": "members", "members": ["member-0", "memb')
    line = refusal(command("score", ensemble, tmp_path, *inputs))
    assert f"{manifest}: broken JSON" in line
    manifest.write_text(json.dumps({"form": "members", "members": ["member-0", "member-1"]}))
    line = refusal(command("score", ensemble, tmp_path, *inputs))
    assert f"{manifest}: lists member-1, which is missing" in line


def test_the_intact_folder_passes_the_same_commands(tiny_bert_rm_dir, inputs, tmp_path):
    """The control: the unbroken copy scores with exit 0 (so each case above fails for the
    reason it names)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    result = run_cli(command("score", model, tmp_path, *inputs))
    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "scores.jsonl").read_text().splitlines()) == len(PAIRS)


def test_a_folder_without_tokenizer_files_is_one_line_from_a_real_process(
    tiny_bert_rm_dir, inputs, tmp_path
):
    """Reproducer 1 as a user meets it: `python -m rewardkit score` on a folder whose save was
    stopped before the tokenizer files prints exactly one line (no warning, no traceback)
    and exits 2, where it used to score every word as [UNK] and exit 0."""
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    no_tokenizer_files(model)
    result = subprocess.run(
        [sys.executable, "-m", "rewardkit", *map(str, command("score", model, tmp_path, *inputs))],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert "no tokenizer files" in result.stderr and not (tmp_path / "scores.jsonl").exists()


def test_remote_code_runs_only_with_the_flag(tiny_bert_rm_dir, inputs, tmp_path):
    """With --trust-remote-code the check lets the folder through and transformers runs its
    code: the marker appears (the fake code defines no model, so loading then fails)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_rm_dir, model)
    custom_code(model)
    result = run_cli(command("score", model, tmp_path, *inputs) + ["--trust-remote-code"])
    assert result.exit_code != 0 and marker(model).exists()


# ---------------------------------------------------------------------------- max length
@pytest.fixture(scope="module")
def plain_128_positions(tmp_path_factory):
    """A plain HF folder (no rewardkit.json): BERT with 128 positions, a tokenizer that says
    512."""
    return tiny_bert_dir(tmp_path_factory.mktemp("plain-128") / "model")


def test_max_length_is_the_smallest_limit(plain_128_positions, tmp_path):
    """Without rewardkit.json: min(tokenizer 512, positions 128, 4096) = 128; a saved 512 is
    cut to 128 too; asking for more than 128 is one line naming the positions."""
    assert RewardModel.from_pretrained(plain_128_positions).info.max_length == 128
    saved = tmp_path / "saved"
    shutil.copytree(plain_128_positions, saved)
    model = RewardModel.from_pretrained(plain_128_positions)
    model.info.max_length = 512
    model.write_files(saved)
    assert RewardModel.from_pretrained(saved).info.max_length == 128
    assert RewardModel.from_pretrained(saved, max_length=100).info.max_length == 100
    with pytest.raises(UserError, match="more than this model reads .its 128 position"):
        RewardModel.from_pretrained(saved, max_length=129)


def test_a_300_word_text_on_a_128_position_model(plain_128_positions, write_preferences, tmp_path):
    """Reproducer 2 through `rewardkit score`: a 300-word prompt is cut from the left, a
    300-word response from its end (exit 0, counted as cut); with `--overlong error` the
    response is one line naming its file:line, exit 2 — where both used to end in a
    RuntimeError traceback."""
    long = " ".join(["tea"] * 300)
    data = write_preferences([{"prompt": long, "chosen": "tea is good", "rejected": "no"}])
    result = run_cli(
        ["score", "--model", plain_128_positions, "--data", data, "--out", tmp_path / "a.jsonl"]
    )
    assert result.exit_code == 0, result.stderr
    assert "(2 cut to the max length, 0 bad records skipped)" in result.stderr, result.stderr
    data = write_preferences([{"prompt": "hi", "chosen": long, "rejected": "no"}], "long.jsonl")
    args = ["score", "--model", plain_128_positions, "--data", data, "--out", tmp_path / "b.jsonl"]
    result = run_cli(args)
    assert result.exit_code == 0, result.stderr
    row = json.loads((tmp_path / "b.jsonl").read_text())
    assert row["tokens_removed_chosen"] > 0 and row["tokens_removed_rejected"] == 0
    line = refusal([*args, "--overlong", "error"])
    assert "longer than max_length 128" in line


def test_a_backbone_is_not_a_reward_model(tmp_path, tiny_llama_dir):
    """A folder whose weights lack the reward head (a causal LM backbone) would get a random
    head and score garbage: one line saying to train one on it."""
    with pytest.raises(UserError, match=r"lack .* tensor.*a backbone\? train one"):
        RewardModel.from_pretrained(tiny_llama_dir)


def test_a_tokenizer_larger_than_the_embeddings_is_refused(
    tiny_bert_rm_dir, tiny_llama_rm_dir, tmp_path
):
    """Another model's tokenizer files (MiniLM's 30,522 words on the tiny Llama's 70-row
    embedding) would index past the embeddings: one line."""
    model = tmp_path / "model"
    shutil.copytree(tiny_llama_rm_dir, model)
    no_tokenizer_files(model)
    for path in tiny_bert_rm_dir.iterdir():
        if path.name.startswith(("tokenizer", "vocab", "special_tokens")):
            shutil.copy(path, model / path.name)
    with pytest.raises(UserError, match="do not belong to this model"):
        RewardModel.from_pretrained(model)


# ---------------------------------------------------------------------------- the checks
def test_safetensors_check_reads_the_header_offsets(tiny_bert_rm_dir, tmp_path):
    """A complete file passes; one extra byte, one byte short, a header length past the end
    and a non-JSON header are each refused with the sizes."""
    source = tiny_bert_rm_dir / "model.safetensors"
    check_safetensors(source, "fix it")
    data = source.read_bytes()
    for name, content, says in [
        ("long", data + b"\0", "longer than its tensors"),
        ("short", data[:-1], f"truncated: {len(data) - 1} bytes of {len(data)}"),
        ("header", (10**9).to_bytes(8, "little") + data[8:], "header claims"),
        ("json", (4).to_bytes(8, "little") + b"nope" + data[12:], "header is not JSON"),
    ]:
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(content)
        with pytest.raises(UserError, match=says):
            check_safetensors(path, "fix it")


def test_model_files_are_told_apart_from_what_lives_beside_them():
    for name in (
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "rewardkit.json",
        "ensemble_heads.safetensors",
        "metrics.json",
        "vocab.txt",
    ):
        assert is_model_file(name), name
    for name in ("metrics.jsonl", "train_config.json", "checkpoints", "eval", "notes.txt"):
        assert not is_model_file(name), name
