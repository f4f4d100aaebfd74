"""``rewardkit annotate …`` as a user types it: tokens printed once and stored only as an
argon2 hash, bad input refused in one line with exit code 2, and the PandaLM round trip."""

import json
import subprocess
import sys

import pytest
from sqlalchemy import select

from rewardkit.annotate.schema import Annotator
from rewardkit.annotate.store import open_store


def rewardkit(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "rewardkit", "annotate", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_add_annotator_prints_the_token_once_and_stores_its_hash(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    done = rewardkit("add-annotator", "alice", "--admin", "--db", db)
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr  # the summary goes to rewardkit's console (stderr)
    token = said.strip().splitlines()[-1]
    assert len(token) >= 40 and "shown once" in said
    with open_store(db).transaction() as session:
        (person,) = session.scalars(select(Annotator)).all()
    assert (person.name, person.is_admin) == ("alice", True)
    assert token not in person.token_hash and person.token_hash.startswith("$argon2id$")
    again = rewardkit("add-annotator", "alice", "--db", db)
    assert again.returncode == 2 and again.stderr.count("\n") == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize(
    "args, expected",
    [
        (["import", "{dir}/missing.jsonl"], "missing.jsonl"),
        (
            ["import", "{dir}/bad.jsonl"],
            "bad.jsonl:2: field 'responses': is not a list of at least 2",
        ),
        (["import"], "give FILE, --gold FILE, or both"),
        (
            ["import-votes", "{dir}/badvotes.jsonl"],
            "badvotes.jsonl:1: field 'annotator': is missing",
        ),
        (["export"], "--out is required"),
        (["serve", "--queue", "uncertainty"], "--queue uncertainty needs --model"),
        (["stats", "--db", "nonsense"], "is not a database URL"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expected):
    (tmp_path / "bad.jsonl").write_text(
        json.dumps({"prompt": "p", "responses": ["a", "b"]})
        + "\n"
        + json.dumps({"prompt": "p", "responses": ["a"]})
        + "\n"
    )
    vote = {"item_id": 1, "prompt": "p", "response_a": "a", "response_b": "b", "choice": "a"}
    (tmp_path / "badvotes.jsonl").write_text(json.dumps(vote) + "\n")
    args = [a.format(dir=tmp_path) for a in args]
    done = (
        rewardkit(*args, "--db", f"sqlite:///{tmp_path / 'a.db'}")
        if "--db" not in args
        else rewardkit(*args)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert expected in done.stderr


def test_pandalm_import_votes_stats_export_and_reimport(shared_data, tmp_path):
    db, again = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    judgements = shared_data / "pandalm" / "judgements.jsonl"
    done = rewardkit("import-votes", str(judgements), "--db", db)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0 and "imported 2997 votes (999 new items, 3 new annotators" in said
    assert rewardkit("stats", "--db", db, "--json", str(tmp_path / "s.json")).returncode == 0
    out = tmp_path / "pairs.jsonl"
    done = rewardkit("export", "--out", str(out), "--db", db)
    assert done.returncode == 0, done.stderr
    assert (
        rewardkit("import-votes", str(tmp_path / "pairs.votes.jsonl"), "--db", again).returncode
        == 0
    )
    assert rewardkit("stats", "--db", again, "--json", str(tmp_path / "t.json")).returncode == 0
    first = json.loads((tmp_path / "s.json").read_text())
    second = json.loads((tmp_path / "t.json").read_text())
    assert first == second
    assert first["progress"]["judgements"] == sum(1 for _ in judgements.open())
