"""The same pairs through every way a user can score them, against the Python API's rewards.

Each path runs as a user would run it: ``rewardkit score`` and ``rewardkit eval`` as commands,
``rewardkit serve`` as a server process reached over HTTP (``/score``; ``/get_reward`` with the
prompt split given, with and without the policy's trailing ``<|im_end|>``), the TRL adapter, and
a plain transformers ``text-classification`` pipeline with ``truncation=True`` on the rendered
text (the saved tokenizer carries the over-length rule). It prints, per path, the largest reward
difference, the share of pairs whose decision (chosen > rejected) agrees, the rank correlation,
and whether the tokens each path says it removed agree.

Two ways that do *not* give rewardkit's scores are measured too, for the docs: TRL's own
scoring of ``reward_funcs="DIR"`` (reproduced from TRL 1.16's ``GRPOTrainer``: ``prompt +
completion``, no special tokens, no truncation — a text over the backbone's positions cannot be
scored at all), and ``/get_reward`` with the trailing ``<|im_end|>`` left in
(``--strip-suffix none``).

    python bench/interop_agreement.py --model runs/hh --limit 200

Pairs: the first ``--limit`` pairs of the canonical hh-rlhf eval split (all of them, over-long
ones included).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import interop_parser, machine, today  # noqa: E402
from rewardkit.data import read_pairs, split_by_prompt  # noqa: E402
from rewardkit.integrations.trl import reward_function  # noqa: E402
from rewardkit.model import load_reward_model  # noqa: E402

END_OF_TURN = "<|im_end|>"


def run(*command) -> None:
    subprocess.run([str(c) for c in command], check=True, capture_output=True, text=True)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_score_command(model, pairs_file, work) -> tuple[np.ndarray, list[int]]:
    out = work / "scores.jsonl"
    run("rewardkit", "score", "--model", model, "--data", pairs_file, "--out", out)
    rows = read_jsonl(out)
    rewards = [r["reward_chosen"] for r in rows] + [r["reward_rejected"] for r in rows]
    removed = [r["tokens_removed_chosen"] for r in rows] + [
        r["tokens_removed_rejected"] for r in rows
    ]
    return np.array(rewards), removed


def by_eval_command(model, pairs_file, work) -> tuple[np.ndarray, list[int]]:
    out = work / "eval"
    run("rewardkit", "eval", "--model", model, "--data", pairs_file, "--out", out, "--no-probes")
    rows = read_jsonl(out / "pairs.jsonl")
    rewards = [r["reward_chosen"] for r in rows] + [r["reward_rejected"] for r in rows]
    removed = [r["tokens_removed_chosen"] for r in rows] + [
        r["tokens_removed_rejected"] for r in rows
    ]
    return np.array(rewards), removed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model, *flags) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        ["rewardkit", "serve", str(model), "--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("rewardkit serve did not start in 2 minutes")


def by_get_reward(url, prompts, texts, end: str) -> tuple[np.ndarray, list[int]]:
    got, cut = [], []
    for start in range(0, len(texts), 16):
        body = {
            "query": [t + end for t in texts[start : start + 16]],
            "prompts": prompts[start : start + 16],
        }
        data = httpx.post(url + "/get_reward", json=body, timeout=120).json()
        got += data["rewards"]
        cut += [int(n) for n in data["extra_logs"]["tokens_removed"]]
    return np.array(got), cut


def by_server(url, prompts, responses, texts) -> dict:
    """/score one pair at a time; /get_reward in batches of 16, without and with END_OF_TURN."""
    rewards, removed = [], []
    half = len(prompts) // 2
    for i in range(half):
        body = {"prompt": prompts[i], "responses": [responses[i], responses[half + i]]}
        data = httpx.post(url + "/score", json=body, timeout=120).json()
        rewards.append(data["rewards"])
        removed.append(data["tokens_removed"])
    results = {
        "/score": (
            np.array([r[0] for r in rewards] + [r[1] for r in rewards]),
            [n[0] for n in removed] + [n[1] for n in removed],
        )
    }
    for end in ("", END_OF_TURN):
        name = f"/get_reward{' + ' + end if end else ''}"
        results[name] = by_get_reward(url, prompts, texts, end)
    return results


@torch.inference_mode()
def by_trl_folder_path(model, prompts, responses) -> np.ndarray:
    """TRL 1.16's GRPOTrainer on ``reward_funcs="DIR"`` (text prompts): ``prompt + completion``
    tokenized without special tokens or truncation; NaN where the text is over the backbone's
    positions (TRL raises there)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    net = AutoModelForSequenceClassification.from_pretrained(model).eval()
    out = []
    for p, c in zip(prompts, responses):
        ids = tokenizer(text=[p + c], return_tensors="pt", add_special_tokens=False)
        if ids["input_ids"].shape[1] > net.config.max_position_embeddings:
            out.append(float("nan"))
            continue
        out.append(float(net(**ids).logits[0, 0]))
    return np.array(out)


def by_pipeline(model, texts) -> np.ndarray:
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(model), device="cpu")
    out = [classify(t, function_to_apply="none", truncation=True)[0]["score"] for t in texts]
    return np.array(out)


def report(name, got, removed, expected, expected_removed) -> None:
    """One line: over the pairs both sides of which ``got`` scored (NaN: could not)."""
    half = len(expected) // 2
    ok = ~(np.isnan(got[:half]) | np.isnan(got[half:]))
    both = np.concatenate([ok, ok])
    gap = float(np.max(np.abs(got[both] - expected[both])))
    decided, want = got[:half] > got[half:], expected[:half] > expected[half:]
    agree = float(np.mean(decided[ok] == want[ok]))
    rank = float(spearmanr(got[both], expected[both]).statistic)
    flags = "n/a" if removed is None else ("equal" if removed == expected_removed else "DIFFER")
    unscored = f"   {int((~ok).sum())} pairs not scored" if not ok.all() else ""
    print(
        f"{name:34s} max |Δ| {gap:.1e}   decisions agree {100 * agree:5.1f}%   "
        f"rank corr {rank:.4f}   tokens removed: {flags}{unscored}",
        flush=True,
    )


def main() -> None:
    parser = interop_parser(__doc__)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pairs = split_by_prompt(read_pairs(args.data)[0], 0.2)[1][: args.limit]
    work = Path(tempfile.mkdtemp(prefix="rk-interop-"))
    pairs_file = work / "pairs.jsonl"
    pairs_file.write_text(
        "".join(
            json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}) + "\n"
            for p in pairs
        )
    )
    prompts = [p.prompt for p in pairs] * 2
    responses = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    scorer = load_reward_model(args.model)
    expected = scorer.score(prompts, responses)
    removed = expected.tokens_removed.tolist()
    template = scorer.primary.template
    texts = [template.render(scorer.primary.tokenizer, p, r)[0] for p, r in zip(prompts, responses)]
    print(
        f"machine: {machine()}\ndate: {today()}\nmodel: {args.model} (max length "
        f"{scorer.max_length})\n{len(pairs)} hh-rlhf eval pairs, {len(texts)} texts, "
        f"{sum(n > 0 for n in removed)} over-long (cut by the rule)",
        flush=True,
    )
    report(
        "rewardkit score",
        *by_score_command(args.model, pairs_file, work),
        expected.rewards,
        removed,
    )
    report(
        "rewardkit eval", *by_eval_command(args.model, pairs_file, work), expected.rewards, removed
    )
    server, url = start_server(args.model)
    try:
        for name, (got, cut) in by_server(url, prompts, responses, texts).items():
            report(name, got, cut, expected.rewards, removed)
    finally:
        server.terminate()
        server.wait(30)
    adapter = np.array(reward_function(args.model)(prompts=prompts, completions=responses))
    report("TRL reward_function(DIR)", adapter, None, expected.rewards, removed)
    pipe = by_pipeline(args.model, texts)
    report("pipeline truncation=True", pipe, None, expected.rewards, removed)
    print("-- not rewardkit's scores (for the docs):", flush=True)
    trl_path = by_trl_folder_path(args.model, prompts, responses)
    report('TRL reward_funcs="DIR"', trl_path, None, expected.rewards, removed)
    server, url = start_server(args.model, "--strip-suffix", "none")
    try:
        got, cut = by_get_reward(url, prompts, texts, END_OF_TURN)
    finally:
        server.terminate()
        server.wait(30)
    report(f"/get_reward + {END_OF_TURN}, --strip-suffix none", got, cut, expected.rewards, removed)
    print(f"reward std over these texts: {float(np.std(expected.rewards)):.3f}", flush=True)


if __name__ == "__main__":
    main()
