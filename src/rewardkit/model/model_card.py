"""The model card (``README.md``) every saved reward model carries: what it is, and how to get
rewardkit's scores from it in other tools — or where those tools give other numbers and why.

The facts it states are the saved model's own (``rewardkit.json``): backbone, max length, the
text template, the scoring rule, and the left-padding check of
:mod:`rewardkit.model.portability`.
"""

from __future__ import annotations

from rewardkit.model.sidecar import RewardKitInfo

FRONT_MATTER = """---
library_name: transformers
pipeline_tag: text-classification
tags:
- reward-model
- rewardkit
---
"""


def model_card(info: RewardKitInfo) -> str:
    """The card's Markdown."""
    sections = [
        FRONT_MATTER,
        _summary(info),
        _exact_scores(info),
        _trl(info),
        _reward_bench(info),
        _openrlhf(),
    ]
    return "\n".join(section.strip() + "\n" for section in sections)


def _summary(info: RewardKitInfo) -> str:
    rule = info.scoring.get("description", info.scoring.get("rule", ""))
    template = info.template or {}
    text_rule = (
        'prompt + " " + response (no space when the prompt ends in whitespace)'
        if template.get("text_joiner", " ") == " "
        else "prompt + response"
    )
    return f"""# Reward model

A Bradley–Terry reward model saved by rewardkit (version
{info.rewardkit_version}): a standard `AutoModelForSequenceClassification` with one output,
the reward (higher = preferred). Backbone: `{info.backbone}`. Max length: {info.max_length}
tokens. Scored token: {rule}. A text prompt is rendered as {text_rule}; chat prompts through the
saved chat template{", and EOS is appended" if template.get("append_eos") else ""}.
"""


def _exact_scores(info: RewardKitInfo) -> str:
    return f"""## rewardkit's scores, anywhere

* Python: `rewardkit.load_reward_model(DIR).score(prompts, responses).rewards`; the command
  line: `rewardkit score --model DIR --data FILE --out scores.jsonl`.
* Plain transformers: render the text as above, then `tokenizer(text, truncation=True)`. The
  saved tokenizer has `model_max_length={info.max_length}` and `truncation_side="left"`, which
  is rewardkit's rule for an over-long text: tokens are cut from the left (the prompt first),
  never the end the reward is read from.
* A `text-classification` pipeline on the rendered text with `function_to_apply="none"` and
  `truncation=True` gives the same rewards (one text per call, or any batch for decoders).
"""


def _trl(info: RewardKitInfo) -> str:
    return """## TRL

* GRPO / RLOO / Online DPO: `reward_funcs=rewardkit.integrations.trl.reward_function(DIR)`.
  Passing the folder path itself (`reward_funcs="DIR"`) makes TRL score
  `prompt + completion` without the tokenizer's special tokens and without truncation, which
  gives other rewards (an encoder loses its [CLS]; a text over the backbone's positions
  cannot be scored at all); the adapter scores exactly as rewardkit does.
* Continuing training in TRL's `RewardTrainer`: build the dataset with
  `rewardkit.integrations.trl.preference_dataset(DIR, pairs)` — `chosen_ids`/`rejected_ids`
  tokenized exactly as rewardkit scores them, which TRL takes as they are — and pass
  `RewardConfig(max_length=None, ...)` with `model=DIR` and `processing_class` the saved
  tokenizer. (From plain-text pairs TRL appends the EOS *text* and joins `prompt + chosen`
  without rewardkit's space; an encoder without an EOS token cannot take them at all.)
"""


def _reward_bench(info: RewardKitInfo) -> str:
    check = info.scoring.get("left_padding") or {}
    if not check:
        return """## RewardBench

This model was saved without the left-padding check; run RewardBench with `--batch_size 1`
to be safe, or evaluate with `rewardkit eval`, which reads RewardBench's files.
"""
    delta = check.get("max_abs_delta", 0.0)
    if check.get("changes_scores"):
        verdict = (
            f"**its scores change under left padding** (max |Δ| = {delta:.3g} on "
            f"{check.get('texts')} texts, measured when saved: the backbone's position "
            "embeddings are absolute). Run RewardBench with `--batch_size 1`"
        )
    else:
        verdict = (
            f"its scores do not change under left padding (max |Δ| = {delta:.2g} on "
            f"{check.get('texts')} texts, measured when saved), so any batch size gives "
            "rewardkit's scores"
        )
    return f"""## RewardBench

RewardBench pads its batches on the left without position ids; {verdict}. (rewardkit's
`docs/interop.md` has RewardBench 0.1.4 measured against rewardkit on a MiniLM model, at its
default batch size and at 1.) Or evaluate with
`rewardkit eval --model DIR --data FILE`, which reads RewardBench's files (`prompt`, `chosen`,
`rejected`, `subset`, or the chat-messages form) and reports per-subset accuracy.
"""


def _openrlhf() -> str:
    return """## OpenRLHF

`rewardkit serve DIR --port 8000`, then point OpenRLHF at `http://127.0.0.1:8000/get_reward`
(`--remote_rm_url`). The server removes the policy's end-of-turn text (`<|im_end|>`,
`<|eot_id|>`, …) from each query's end before scoring (`--strip-suffix`).
"""
