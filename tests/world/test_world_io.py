"""write_world files are JSON lines with the required fields, and read back with their truth."""

import json

import pytest

from rewardkit.errors import UserError
from rewardkit.world import WorldConfig, build_world, load_world_split, noise_ceiling, write_world


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    world = build_world(WorldConfig(n_train_pairs=60, n_eval_pairs=30, seed=1))
    out = tmp_path_factory.mktemp("world")
    return world, out, write_world(world, out)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_files_are_json_lines_with_required_fields(written):
    world, out, paths = written
    assert set(paths) == {"train", "eval", "gold", "world"}
    for split, pairs in (("train", world.train), ("eval", world.eval)):
        records = _jsonl(paths[split])
        assert len(records) == len(pairs)
        for record in records:
            assert {"prompt", "chosen", "rejected", "subset", "annotator", "id"} <= set(record)
            assert isinstance(record["prompt"], str) and record["id"].startswith(split)
    gold = _jsonl(paths["gold"])
    assert {g["id"] for g in gold} == {p.id for p in world.train + world.eval}
    for g in gold:
        for key in (
            "gold_chosen",
            "gold_rejected",
            "attributes_chosen",
            "attributes_rejected",
            "flattered_chosen",
            "flattered_rejected",
            "annotator",
            "split",
        ):
            assert key in g
    meta = json.loads(paths["world"].read_text(encoding="utf-8"))
    assert meta["config"]["seed"] == 1
    assert [a["tau"] for a in meta["annotators"]] == [a.tau for a in world.annotators]
    assert (
        meta["bias"]["flattery_bias"] == world.config.flattery_bias
        and meta["bias"]["flattery_sentences"]
    )
    assert meta["noise_ceiling"]["eval"] == pytest.approx(noise_ceiling(world.eval))
    assert "g = " in meta["gold_formula"]


def test_load_world_split_round_trips(written):
    world, out, _ = written
    back = load_world_split(out, "eval")
    assert [(p.prompt, p.chosen, p.rejected, p.subset, p.annotator, p.id) for p in back] == [
        (p.prompt, p.chosen, p.rejected, p.subset, p.annotator, p.id) for p in world.eval
    ]
    assert [p.extra for p in back] == [p.extra for p in world.eval]
    with pytest.raises(UserError, match="split"):
        load_world_split(out, "test")
    with pytest.raises(UserError, match="not found"):
        load_world_split(out / "missing", "train")
