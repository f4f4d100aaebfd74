"""A served reward carries its trust signals, and they are `rewardkit eval`'s figures.

The acceptance check of issue 15 (item 4), as a new user would make it: train a model with
bootstrap heads, run `rewardkit eval` on a small file, serve the model over real HTTP, send
each eval pair's two responses to ``/score`` and compare the pair's distance, spread,
uncertainty, P(a ≻ b) and OOD flag with eval's ``pairs.jsonl``; then the per-text signals in
``/get_reward``'s ``extra_logs``, ``rewardkit score``'s rows and ``/info``; and a model whose
feature_stats file predates the per-text reference (distances, no percentile) or has none.
"""

import json
import shutil

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from rewardkit.cli import app as cli_app
from rewardkit.data import read_pairs
from rewardkit.eval.ood import STATS_FILE, FeatureStatistics
from rewardkit.eval.trust import NO_REFERENCE, NO_STATISTICS
from rewardkit.serve import ScoringModel

# (atol, rtol): the server encodes (prompt, response) texts, eval pairs; both are the one
# scorer's forward, equal to 1e-5 in fp32
CLOSE = {"rtol": 1e-4, "atol": 1e-5}
ODD_RESPONSE = "@@@@ ~~~~ #### %%%% ^^^^ " * 8  # nothing like the world's sentences


def cli(*args):
    result = CliRunner().invoke(cli_app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def eval_rows(trained_heads_dir, world_files, tmp_path_factory):
    """`rewardkit eval --out` on the world's eval file: pairs.jsonl by pair id."""
    out = tmp_path_factory.mktemp("eval-trust")
    cli(
        "eval",
        "--model",
        trained_heads_dir,
        "--data",
        world_files["eval"],
        "--no-probes",
        "--out",
        out,
    )
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def stats(trained_heads_dir):
    return FeatureStatistics.load(trained_heads_dir)


def ecdf_percent(reference: np.ndarray, distance: float) -> float:
    """The percentile written out: the share of reference distances at most ``distance``."""
    return 100.0 * float(np.mean(np.asarray(reference) <= distance))


def test_two_response_score_is_evals_pair(start_server, trained_heads_dir, world_files, eval_rows):
    """Every eval pair sent as {"prompt", "responses": [chosen, rejected]}: the served
    preference holds eval's P(chosen ≻ rejected), uncertainty, spread, distance and flag."""
    server = start_server(ScoringModel.load(str(trained_heads_dir)))
    pairs, _ = read_pairs(world_files["eval"])
    assert len(pairs) == len(eval_rows) > 5
    spreads = []
    for pair in pairs:
        row = eval_rows[pair.id]
        body = {"prompt": pair.prompt, "responses": [pair.chosen, pair.rejected]}
        served = httpx.post(server.url + "/score", json=body).json()
        preference = served["preference"]
        np.testing.assert_allclose(preference["p_a_over_b"], row["p_chosen"], **CLOSE)
        np.testing.assert_allclose(preference["uncertainty"], row["uncertainty"], **CLOSE)
        np.testing.assert_allclose(preference["spread"], row["spread"], **CLOSE)
        np.testing.assert_allclose(preference["distance"], row["distance"], **CLOSE)
        assert preference["flagged"] is row["flagged"]
        assert preference["uncertainty_kind"] == "margin"
        # the pair's distance is the larger of the two texts' served distances
        assert preference["distance"] == max(served["ood"]["distance"])
        spreads.append(preference["spread"])
    assert min(spreads) > 0  # the heads disagree: the comparison has something to compare


def test_per_text_signals_in_get_reward_score_and_info(
    start_server, trained_heads_dir, world_files, stats, tmp_path
):
    """Per text: /score's ood block, /get_reward's extra_logs and `rewardkit score`'s rows give
    the same distance; its percentile is the share of the stored training distances at most
    as far; the flag is that percentile over 95; a text unlike the training texts is flagged.
    /info says which signals the model has and their thresholds."""
    pairs, _ = read_pairs(world_files["eval"])
    prompts = [p.prompt for p in pairs[:4]] * 2 + [pairs[0].prompt]
    responses = [p.chosen for p in pairs[:4]] + [p.rejected for p in pairs[:4]] + [ODD_RESPONSE]
    server = start_server(ScoringModel.load(str(trained_heads_dir)))
    items = [{"prompt": p, "response": r} for p, r in zip(prompts, responses)]
    ood = httpx.post(server.url + "/score", json={"items": items}).json()["ood"]
    expected = [ecdf_percent(stats.text_distances, d) for d in ood["distance"]]
    np.testing.assert_allclose(ood["percentile"], expected, rtol=0, atol=1e-9)
    assert ood["flagged"] == [p > 95 for p in ood["percentile"]]
    assert ood["flagged"][-1] is True and not all(ood["flagged"])

    queries = [p + " " + r for p, r in zip(prompts, responses)]
    logs = httpx.post(
        server.url + "/get_reward", json={"query": queries, "prompts": prompts}
    ).json()["extra_logs"]
    np.testing.assert_allclose(logs["ood_distance"], ood["distance"], **CLOSE)
    assert logs["ood_percentile"] == pytest.approx(ood["percentile"])
    assert logs["ood_flag"] == [float(f) for f in ood["flagged"]]
    assert len(logs["ensemble_spread"]) == len(queries)

    data = tmp_path / "singles.jsonl"
    data.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    done = cli("score", "--model", trained_heads_dir, "--data", data, "--out", tmp_path / "s.jsonl")
    said = " ".join(done.output.split())  # the console wraps lines
    assert f"{sum(ood['flagged'])} texts flagged out of distribution" in said
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    np.testing.assert_allclose([r["ood_distance"] for r in rows], ood["distance"], **CLOSE)
    assert [r["ood_flag"] for r in rows] == ood["flagged"]
    assert all(r["spread"] > 0 for r in rows)

    trust = httpx.get(server.url + "/info").json()["trust"]
    assert trust["ood"]["distance_available"] and trust["ood"]["percentile_available"]
    assert trust["ood"]["flag_above_percentile"] == 95.0
    assert trust["ood"]["reference_texts"] == stats.text_distances.size
    assert trust["pair_flag"]["distance_threshold"] == stats.distance_threshold
    assert stats.spread_threshold is not None
    assert trust["pair_flag"]["spread_threshold"] == stats.spread_threshold
    assert trust["spread"]["available"] and trust["pair_uncertainty"]["kind"] == "margin"


def test_score_pairs_rows_carry_both_sides(trained_heads_dir, world_files, eval_rows, tmp_path):
    """`rewardkit score` on the eval pairs: per side distance, percentile, flag and spread; the
    larger distance of a pair is eval's pair distance."""
    out = tmp_path / "scores.jsonl"
    cli("score", "--model", trained_heads_dir, "--data", world_files["eval"], "--out", out)
    for row in map(json.loads, out.read_text().splitlines()):
        for side in ("chosen", "rejected"):
            assert {f"ood_percentile_{side}", f"ood_flag_{side}", f"spread_{side}"} <= set(row)
        pair_distance = max(row["ood_distance_chosen"], row["ood_distance_rejected"])
        np.testing.assert_allclose(pair_distance, eval_rows[row["id"]]["distance"], **CLOSE)


def test_an_older_statistics_file_is_served_without_percentiles(
    start_server, trained_heads_dir, tmp_path
):
    """feature_stats.safetensors as saved before the reference distances: the server starts,
    serves distances, no percentile or flag, and /info says why."""
    old = tmp_path / "old"
    shutil.copytree(trained_heads_dir, old)
    stats = FeatureStatistics.load(old)
    stats.text_distances = None
    stats.save(old)
    server = start_server(ScoringModel.load(str(old)))
    body = {"prompt": "what is a good tea ?", "responses": ["green tea .", "no"]}
    served = httpx.post(server.url + "/score", json=body).json()
    assert served["ood"]["percentile"] is None and served["ood"]["flagged"] is None
    assert len(served["ood"]["distance"]) == 2 and served["preference"]["distance"] is not None
    logs = httpx.post(server.url + "/get_reward", json={"query": ["hello"]}).json()["extra_logs"]
    assert "ood_distance" in logs and "ood_percentile" not in logs and "ood_flag" not in logs
    info = httpx.get(server.url + "/info").json()["trust"]["ood"]
    assert info["percentile_available"] is False and info["note"] == NO_REFERENCE


def test_a_model_without_statistics_keeps_no_features(start_server, trained_heads_dir, tmp_path):
    """No feature_stats.safetensors (a foreign model): no OOD signal anywhere, no features
    kept by the forward pass; the margin uncertainty and the spread are still served."""
    bare = tmp_path / "bare"
    shutil.copytree(trained_heads_dir, bare)
    (bare / STATS_FILE).unlink()
    served_model = ScoringModel.load(str(bare))
    assert served_model.trust.needs_features is False
    server = start_server(served_model)
    body = {"prompt": "what is a good tea ?", "responses": ["green tea .", "no"]}
    served = httpx.post(server.url + "/score", json=body).json()
    assert served["ood"] is None and served["preference"]["distance"] is None
    assert served["preference"]["uncertainty"] is not None
    assert served["preference"]["spread"] > 0 and served["preference"]["flagged"] is None
    logs = httpx.post(server.url + "/get_reward", json={"query": ["hello"]}).json()["extra_logs"]
    assert not any(key.startswith("ood_") for key in logs) and "ensemble_spread" in logs
    info = httpx.get(server.url + "/info").json()["trust"]
    assert info["ood"]["distance_available"] is False and info["ood"]["note"] == NO_STATISTICS


def test_score_measures_pass_by_pass_what_the_whole_file_gives(
    trained_heads_dir, world_files, tmp_path, monkeypatch
):
    """`rewardkit score` measures each pass as it reaches the host (a copy every pass of 2
    texts: the distances and the heads' rewards are taken 2 rows at a time, no (N, H) features
    kept) and writes, to the last bit, what the whole-matrix path gives: every text's features
    kept, then the heads' rewards and the distances computed on all of them at once."""
    import rewardkit.model.inference as inference_module
    from rewardkit.eval.trust import Trust
    from rewardkit.model.loading import load_reward_model
    from rewardkit.score_file import ScoreConfig, score_file

    pairs, _ = read_pairs(world_files["eval"])
    prompts = [p.prompt for p in pairs for _ in range(2)] + [pairs[0].prompt]
    responses = [r for p in pairs for r in (p.chosen, p.rejected)] + [ODD_RESPONSE]
    data, out = tmp_path / "texts.jsonl", tmp_path / "scored.jsonl"
    data.write_text(
        "".join(json.dumps({"prompt": p, "response": r}) + "\n" for p, r in zip(prompts, responses))
    )
    trust = Trust(load_reward_model(str(trained_heads_dir)))
    whole = trust.scorer.score(prompts, responses, batch_size=2, features=True)
    expected = trust.texts(whole)

    measured = []
    distances = Trust.feature_distances
    monkeypatch.setattr(
        Trust,
        "feature_distances",
        lambda self, rows: measured.append(len(rows)) or distances(self, rows),
    )
    monkeypatch.setattr(inference_module, "FLUSH_EVERY", 1)
    score_file(
        ScoreConfig(model=str(trained_heads_dir), data=str(data), out=str(out), batch_size=2)
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert max(measured) == 2 and sum(measured) == len(responses)
    assert [r["reward"] for r in rows] == whole.rewards.tolist()
    assert [r["spread"] for r in rows] == expected.spread.tolist()
    assert [r["ood_distance"] for r in rows] == expected.distance.tolist()
    assert [r["ood_percentile"] for r in rows] == expected.percentile.tolist()
    assert [r["ood_flag"] for r in rows] == expected.flagged.tolist()
    assert rows[-1]["ood_flag"] is True and not all(r["ood_flag"] for r in rows)
