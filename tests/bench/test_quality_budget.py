"""bench/quality_budget.py: the whole flow in --tiny (TRL anchor, recipes on validation, the
eval split once, the preset line), its resumption, and the choice and paired interval from
stored results. Never timed: the figures live in BENCHMARKS.md."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "quality_budget.py"
needs_trl = pytest.mark.skipif(
    importlib.util.find_spec("trl") is None, reason="needs the [bench] extra (trl==1.16.0)"
)


def run_bench(tmp_path, *extra):
    env = {**os.environ, "REWARDKIT_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--out", str(tmp_path / "out"), *extra],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )


def stored(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.glob("results/**/*.json"))}


@needs_trl
def test_tiny_flow_then_a_stopped_run_resumes(tmp_path):
    """First run: every step stores its results and results.json holds the anchor, the
    validation table (a skipped recipe with its reason, WARM beside its members) and the eval
    comparison. Then one eval result and the WARM merge are removed (runs stopped before they
    were stored): the rerun trains that one, merges the kept members again, and reads every
    other from disk, unchanged."""
    first = run_bench(tmp_path, "--keep-models")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = tmp_path / "out"
    results = json.loads((out / "results.json").read_text())
    split = results["split"]
    assert split["fit"] + split["validation"] == split["train"] and split["validation"] > 0
    assert results["precision"]["precision"] == "fp32"
    for step in ("eval", "validation"):
        trl = results["trl"][step]
        assert trl["wall_s"] > trl["seconds"] > 0 and 0 <= trl["accuracy_all"] <= 1
    rows = {row["recipe"]: row for row in results["validation"]}
    assert list(rows) == ["default", "members2", "warm2", "adaptive-margin"]
    assert rows["adaptive-margin"]["skipped"] and rows["adaptive-margin"]["seeds_done"] == 0
    assert rows["warm2"]["wall_s_mean"] > rows["members2"]["wall_s_mean"]  # merge counted
    for name in ("default", "members2", "warm2"):
        row = rows[name]
        assert row["seeds_done"] == 1 and 0 <= row["accuracy_mean"] <= 1
        # one stretch: every run's anchor is the first TRL run
        assert row["anchors_s"] == [row["budget_s"]]
        assert row["budget_ratio_mean"] == pytest.approx(row["wall_s_mean"] / row["budget_s"])
        assert row["eligible"] == (row["budget_ratio_mean"] <= 1)
    final = results["eval"]
    assert final["chosen"] in (None, "default", "members2", "warm2")
    assert {row["recipe"] for row in final["rows"]} >= {"default"}
    assert 0 < final["rows"][0]["n_scored"] <= split["eval"]
    assert final["target"]["accuracy"] == 0.64
    assert "step 3 — the eval split, once" in first.stdout
    assert "| TRL RewardTrainer, 1 epoch (anchor, seed 0) | fp32 |" in first.stdout

    before = stored(out)
    (out / "results" / "eval" / "default" / "seed0.json").unlink()
    (out / "results" / "validation" / "warm2" / "seed0.json").unlink()
    second = run_bench(tmp_path, "--keep-models")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    redone = [line for line in second.stdout.splitlines() if ", accuracy " in line]
    assert redone[0].startswith("validation · warm2 · seed 0: ")
    assert any(line.startswith("eval · default · seed 0: ") for line in redone)
    assert "validation · default · seed 0: already done" in second.stdout
    assert "TRL on train (" in second.stdout and "trainer.train()), already done" in second.stdout
    # a new stretch with a run to do on eval times TRL on the train pairs again, and the
    # run is judged by that anchor; validation had only a merge to do: no anchor there, the
    # merge is judged by its members' anchor
    assert "TRL on train again, this stretch's anchor: " in second.stdout
    assert "TRL on fit again" not in second.stdout
    after = stored(out)
    anchors = sorted(name for name in set(after) - set(before) if "/anchors/" in name)
    assert len(anchors) == 1 and anchors[0].startswith("results/trl/anchors/eval-")
    warm = json.loads(after["results/validation/warm2/seed0.json"])
    members = json.loads(after["results/validation/members2/seed0.json"])
    assert (
        warm["accuracy_all"]
        == json.loads(before["results/validation/warm2/seed0.json"])["accuracy_all"]
    )
    assert warm["anchor_s"] == members["anchor_s"] and members["anchor_s"] > 0
    merge_s = warm["wall_s"] - members["wall_s"]
    assert warm["budget_ratio"] == pytest.approx(
        members["budget_ratio"] + merge_s / members["anchor_s"]
    )
    assert not (out / "models" / "trl" / "anchors").exists() or not any(
        (out / "models" / "trl" / "anchors").iterdir()
    )
    changed = [name for name in before if after[name] != before[name]]
    assert [name for name in changed if not name.startswith("results/eval/")] == [
        "results/validation/warm2/seed0.json"
    ]
    anchor = json.loads(after[anchors[0]])
    rerun = json.loads(after["results/eval/default/seed0.json"])
    assert rerun["anchor_s"] == anchor["wall_s"] and rerun["stretch"] == anchor["stretch"]
    assert rerun["budget_ratio"] == pytest.approx(rerun["wall_s"] / anchor["wall_s"])
    assert rerun["stretch"]["id"] != results["trl"]["eval"]["stretch"]["id"]


def test_unknown_recipe_and_other_settings_are_one_line(tmp_path):
    bad = run_bench(tmp_path, "--recipes", "default,magic")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().splitlines() == [bad.stderr.strip()]
        and "unknown recipe(s) magic; the recipes are: default, bf16" in bad.stderr
    )
    settings = tmp_path / "out" / "results" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"max_length": 64}))
    other = run_bench(tmp_path)
    assert other.returncode == 2 and "was started with other settings (data:" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------- choice and interval, no training
@pytest.fixture
def report(bench_module):
    recipes, report = bench_module("budget_recipes"), bench_module("budget_report")
    return SimpleNamespace(recipes=recipes, report=report)


def store(out: Path, step: str, recipe: str, seed: int, wall: float, correct: list) -> None:
    path = out / "results" / step / recipe / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    accuracy = sum(correct) / len(correct)
    path.write_text(
        json.dumps(
            {"seed": seed, "wall_s": wall, "accuracy_all": accuracy, "n_all": 4, "correct": correct}
        )
    )


def test_the_best_eligible_recipe_is_chosen_and_over_budget_is_not(tmp_path, report, capsys):
    """Budget 100 s. default: 50% (2 seeds, 80 s); epochs2: 75% but 120 s (over budget);
    epochs3: 62.5% in 90 s, but only 1 of 2 seeds done; lr2e-4-cosine: 62.5% in 95 s → it
    is chosen. Spread over seeds: default 0.5 and 0.5 → sd 0; lr2e-4: 0.75, 0.5 → sd 0.177."""
    table = {r.name: r for r in report.recipes.recipes("bf16", None)}
    ctx = SimpleNamespace(work=tmp_path, args=SimpleNamespace(seeds=2, n_boot=200))
    for seed in range(2):
        store(tmp_path, "validation", "default", seed, 80, [1, 0, 1, 0])
        store(tmp_path, "validation", "epochs2", seed, 120, [1, 1, 1, 0])
        store(tmp_path, "validation", "lr2e-4-cosine", seed, 95, [[1, 1, 1, 0], [1, 0, 1, 0]][seed])
    store(tmp_path, "validation", "epochs3", 0, 90, [1, 1, 1, 0])
    names = ["default", "epochs2", "epochs3", "lr2e-4-cosine"]
    rows = report.report.summarize(ctx, [table[n] for n in names], "validation", {"wall_s": 100})
    by = {row["recipe"]: row for row in rows}
    assert [by[n]["eligible"] for n in names] == [True, False, False, True]
    assert by["epochs2"]["within_budget"] is False and by["epochs3"]["seeds_done"] == 1
    assert by["default"]["accuracy_sd"] == 0
    assert by["lr2e-4-cosine"]["accuracy_sd"] == pytest.approx(0.1767767, abs=1e-6)
    ctx.data = {"fit": [None] * 10}
    chosen = report.report.print_validation(
        ctx, rows, {"wall_s": 100, "precision": "bf16", "accuracy_all": 0.5}
    )
    assert chosen == "lr2e-4-cosine"
    assert "| epochs2 | `--epochs 2 --precision bf16` | 120 | 1.20× |" in capsys.readouterr().out


def test_a_run_is_judged_by_the_anchor_of_its_own_stretch(tmp_path, report):
    """First TRL run: 100 s. A run stored with its stretch's ratio keeps it: 120 s in a
    stretch where TRL took 150 s is 0.8× (within budget); a run stored before the anchors
    existed (no ratio) is judged against the first run: 90 s → 0.9×; mean 0.85×, eligible.
    The same 120 s with no ratio of its own would have been over budget."""
    table = {r.name: r for r in report.recipes.recipes("fp32", None)}
    ctx = SimpleNamespace(work=tmp_path, args=SimpleNamespace(seeds=2, n_boot=200))
    store(tmp_path, "validation", "epochs2", 0, 120, [1, 1, 1, 0])
    path = tmp_path / "results" / "validation" / "epochs2" / "seed0.json"
    run = json.loads(path.read_text())
    path.write_text(json.dumps({**run, "anchor_s": 150, "budget_ratio": 0.8}))
    store(tmp_path, "validation", "epochs2", 1, 90, [1, 0, 1, 0])
    store(tmp_path, "validation", "epochs3", 0, 120, [1, 1, 1, 0])
    store(tmp_path, "validation", "epochs3", 1, 90, [1, 0, 1, 0])
    rows = report.report.summarize(
        ctx, [table["epochs2"], table["epochs3"]], "validation", {"wall_s": 100}
    )
    by = {row["recipe"]: row for row in rows}
    assert by["epochs2"]["budget_ratio"] == pytest.approx([0.8, 0.9])
    assert by["epochs2"]["anchors_s"] == [150, 100] and by["epochs2"]["eligible"]
    assert by["epochs3"]["budget_ratio_mean"] == pytest.approx(1.05)
    assert not by["epochs3"]["eligible"] and by["epochs3"]["wall_s_mean"] == 105


def test_the_paired_interval_averages_each_pair_over_the_seeds(tmp_path, report):
    """Per pair, over 2 seeds: default [1, 0, 0.5, 0], chosen [1, 1, 1, 0] → differences
    [0, 1, 0.5, 0], mean 0.375; the paired bootstrap never leaves [0, 1]."""
    ctx = SimpleNamespace(work=tmp_path, args=SimpleNamespace(seeds=2, n_boot=500))
    store(tmp_path, "eval", "default", 0, 1, [1, 0, 1, 0])
    store(tmp_path, "eval", "default", 1, 1, [1, 0, 0, 0])
    for seed in range(2):
        store(tmp_path, "eval", "epochs2", seed, 1, [1, 1, 1, 0])
    d = report.report.paired_difference(ctx, "default", "epochs2", "eval")
    assert d["difference"] == pytest.approx(0.375) and d["n_pairs"] == 4
    assert 0 <= d["ci95"][0] <= 0.375 <= d["ci95"][1] <= 1


def test_a_stretch_times_an_anchor_only_when_a_run_is_left_to_train(tmp_path, report):
    """Budget 100 s, 3 seeds, --stop-over 1.25 (run_seeds's rule). members3 seed 0 took 1.31×
    and warm3 (its merge) 1.32×: their missing seeds are skipped, not left. warm2 lacks seed 2
    but its members are stored: only a merge (judged by the members' anchor). epochs3 seed 0 is
    within budget and seed 1 is missing: left to train. A seed-0 run stored before the anchors
    (no ratio): 130 s over the first TRL's 100 s → 1.3×, skipped."""
    table = {r.name: r for r in report.recipes.recipes("fp32", None)}
    ctx = SimpleNamespace(work=tmp_path, args=SimpleNamespace(seeds=3, stop_over=1.25))
    for name, ratio in (("members3", 1.31), ("warm3", 1.32)):
        store(tmp_path, "validation", name, 0, 1, [1, 0, 1, 0])
        path = tmp_path / "results" / "validation" / name / "seed0.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "budget_ratio": ratio}))
    for seed in range(3):
        store(tmp_path, "validation", "members2", seed, 90, [1, 0, 1, 0])
    for seed in range(2):
        store(tmp_path, "validation", "warm2", seed, 95, [1, 0, 1, 0])
    store(tmp_path, "validation", "epochs3", 0, 90, [1, 0, 1, 0])
    store(tmp_path, "validation", "epochs2", 0, 130, [1, 0, 1, 0])

    def left(name, budget=100):
        return report.report.trains_more(ctx, table[name], "validation", budget)

    assert [left(n) for n in ("members3", "warm3", "members2", "warm2", "epochs2")] == [False] * 5
    assert left("epochs3") and left("default")
    assert left("epochs2", budget=None)  # the eval step has no stop rule: seeds 1–2 train
