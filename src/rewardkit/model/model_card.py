"""The model card (``README.md``) every saved reward model carries: what it scores and how to
load it (plain transformers, rewardkit, TRL, RewardBench, OpenRLHF, serving), what data it
learned from, and how well it ranks, how it is calibrated and biased, and where it should not
be trusted — each figure taken from ``metrics.json`` (:mod:`rewardkit.model.card_sections`).

The interop facts are the saved model's own (``rewardkit.json``): backbone, max length, the
text template, the scoring rule, and the left-padding check of
:mod:`rewardkit.model.portability`. Sections sit between generated markers
(:mod:`rewardkit.model.card_file`); ``rewardkit eval --update-card`` adds one section per
evaluation data fingerprint and keeps what a person wrote outside them.
"""

from __future__ import annotations

from rewardkit.model import card_sections
from rewardkit.model.card_file import front_matter, generated
from rewardkit.model.sidecar import RewardKitInfo

TAGS = ["reward-model", "rewardkit"]


def card_metadata(info: RewardKitInfo, metrics: dict | None = None) -> dict:
    """The YAML metadata the hub reads: library, pipeline, tags, datasets when the training
    data is a hub dataset (``hf:NAME``), and the held-out accuracy as a ``model-index``."""
    metadata: dict = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": list(TAGS),
    }
    source = str((info.data or {}).get("source") or "")
    if source.startswith("hf:"):
        metadata["datasets"] = [source[3:].split(":")[0]]
    accuracy = (metrics or {}).get("accuracy")
    if accuracy is not None:
        metadata["metrics"] = ["accuracy"]
        metadata["model-index"] = [
            {
                "name": "reward-model",
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "preference ranking"},
                        "dataset": {"name": source or "training data", "type": source or "local"},
                        "metrics": [
                            {
                                "type": "accuracy",
                                "value": float(accuracy),
                                "name": "pairwise accuracy, held-out split",
                            }
                        ],
                    }
                ],
            }
        ]
    return metadata


def model_card(info: RewardKitInfo, metrics: dict | None = None) -> str:
    """The card's Markdown; ``metrics``: the run's ``metrics.json`` (None: not trained by
    ``rewardkit train``, so the measured sections say how to measure them)."""
    usage = [_summary(info), _exact_scores(info), _trl(info), _reward_bench(info), _openrlhf()]
    return "\n".join(
        [
            front_matter(card_metadata(info, metrics)),
            generated("usage", "\n".join(part.strip() + "\n" for part in usage)),
            generated("training", training_section(info, metrics or {})),
        ]
    )


def training_section(info: RewardKitInfo, metrics: dict) -> str:
    """Training data (fingerprint, counts, splits, over-long handling) and the held-out
    evaluation at the end of training."""
    data, run = info.data or {}, metrics.get("training") or {}
    if not data:
        return f"## Training data\n\n{card_sections.NOT_MEASURED}.\n"
    lines = [
        f"* source: `{data.get('source')}`; eval split: {data.get('eval_source')}",
        f"* fingerprint (sha256 of the training pairs): `{data.get('fingerprint')}`",
        f"* pairs: {data.get('train_pairs')} train, {data.get('eval_pairs')} eval "
        f"(disjoint by prompt); ties dropped: {run.get('ties_dropped', 0)}",
    ]
    for split in ("train", "eval"):
        o = run.get(f"{split}_overlong")
        if o:
            lines.append(
                f"* over-long ({split}, max {info.max_length} tokens, cut from the left): "
                f"{o.get('truncated')} truncated ({o.get('response_truncated')} in a response), "
                f"{o.get('dropped_overlong', 0) + o.get('dropped_response_too_long', 0)} "
                f"dropped, {o.get('kept')} kept"
            )
    measured = card_sections.measured_sections(metrics)
    return (
        "## Training data\n\n" + "\n".join(lines) + "\n\n## Held-out evaluation at the "
        f"end of training\n\nOn the eval split ({metrics.get('n')} pairs).\n\n{measured}"
    )


def evaluation_section_name(metrics: dict) -> str:
    """One section per evaluation data fingerprint (and split)."""
    split = metrics.get("split") or "all"
    return f"eval-{str(metrics.get('data_fingerprint', 'unknown'))[:16]}-{split}"


def evaluation_section(metrics: dict) -> str:
    """What ``rewardkit eval --update-card`` writes for one data file."""
    return (
        f"## Evaluation on `{metrics.get('data')}` (split {metrics.get('split') or 'all'})\n\n"
        f"Data fingerprint `{metrics.get('data_fingerprint')}`; {metrics.get('n')} pairs "
        f"scored by `rewardkit eval`.\n\n{card_sections.measured_sections(metrics)}"
    )


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
