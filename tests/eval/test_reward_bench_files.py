"""`rewardkit eval` reads RewardBench's own files as they are — the flat form (prompt, chosen,
rejected, subset, an integer id, the models' names) as JSON lines or parquet, and the
chat-messages form (chosen/rejected as whole conversations) — so a model whose scores change
under left padding can be evaluated on them without RewardBench's batching."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.model import load_reward_model

FLAT = [
    {
        "prompt": "What is tea?",
        "chosen": "A drink made from leaves.",
        "chosen_model": "gpt-4",
        "rejected": "A car.",
        "rejected_model": "llama-2",
        "subset": "alpacaeval-easy",
        "id": 3,
    },
    {
        "prompt": "Say hi.",
        "chosen": "Hello!",
        "chosen_model": "gpt-4",
        "rejected": "Go away.",
        "rejected_model": "llama-2",
        "subset": "mt-bench-hard",
        "id": 17,
    },
    {
        "prompt": "2 + 2?",
        "chosen": "4",
        "chosen_model": "gpt-4",
        "rejected": "5",
        "rejected_model": "llama-2",
        "subset": "math-prm",
        "id": 40,
    },
]


def _conversation(prompt: str, response: str) -> list[dict]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def _eval(model, data, out):
    result = CliRunner().invoke(
        app, ["eval", "--model", str(model), "--data", str(data), "--out", str(out), "--no-probes"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    return json.loads((out / "metrics.json").read_text()), rows


def _expected(model, prompts, responses):
    return load_reward_model(model).score(prompts, responses).rewards.tolist()


def test_flat_reward_bench_jsonl_and_parquet(tiny_bert_rm_dir, tmp_path):
    """Both files give the same per-pair rewards (rewardkit's own), the integer ids as ids, one
    accuracy block per subset and RewardBench's section scores."""
    jsonl = tmp_path / "rb.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in FLAT))
    parquet = tmp_path / "rb.parquet"
    pq.write_table(pa.Table.from_pylist(FLAT), parquet)
    want_chosen = _expected(
        tiny_bert_rm_dir, [r["prompt"] for r in FLAT], [r["chosen"] for r in FLAT]
    )
    for data in (jsonl, parquet):
        metrics, rows = _eval(tiny_bert_rm_dir, data, tmp_path / data.suffix[1:])
        assert [row["id"] for row in rows] == ["3", "17", "40"]
        assert [round(row["reward_chosen"], 5) for row in rows] == [
            round(r, 5) for r in want_chosen
        ]
        assert metrics["per_subset"].keys() == {"alpacaeval-easy", "mt-bench-hard", "math-prm"}
        assert metrics["section_scores"]["sections"].keys() == {"Chat", "Chat Hard", "Reasoning"}


def test_messages_form(tiny_llama_chat_rm_dir, tmp_path):
    """chosen/rejected as conversations sharing the user turn: the pair is that prompt with each
    last assistant turn, scored as the chat template renders it."""
    data = tmp_path / "messages.jsonl"
    data.write_text(
        "".join(
            json.dumps(
                {
                    "chosen": _conversation(row["prompt"], row["chosen"]),
                    "rejected": _conversation(row["prompt"], row["rejected"]),
                    "subset": row["subset"],
                }
            )
            + "\n"
            for row in FLAT
        )
    )
    metrics, rows = _eval(tiny_llama_chat_rm_dir, data, tmp_path / "out")
    prompts = [[{"role": "user", "content": row["prompt"]}] for row in FLAT]
    want = _expected(tiny_llama_chat_rm_dir, prompts, [row["rejected"] for row in FLAT])
    assert np.allclose([row["reward_rejected"] for row in rows], want, atol=1e-5)
    assert metrics["n"] == 3 and metrics["per_subset"].keys() == {
        "alpacaeval-easy",
        "mt-bench-hard",
        "math-prm",
    }
