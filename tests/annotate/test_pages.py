"""The annotation server over real HTTP (uvicorn on loopback): logins, answers stored as the
page showed them, CSRF, roles, escaping, size limits, expiring sessions, overlap, undo, gold
items and rankings."""

import json
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from rewardkit.annotate.accounts import add_annotator
from rewardkit.annotate.items import import_items
from rewardkit.annotate.schema import Annotator, Item, Judgement
from rewardkit.annotate.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_helpers import LiveServer, hidden, log_in, pair_items, settings, write_items  # noqa: E402


@pytest.fixture
def served(sqlite_store, tmp_path):
    """``served(items, **settings)`` → (base URL, tokens {name: token}); alice and bob are
    annotators, root an admin."""
    servers = []

    def start(items, **changes):
        import_items(sqlite_store, write_items(tmp_path / f"items{len(servers)}.jsonl", items))
        tokens = {name: add_annotator(sqlite_store, name) for name in ("alice", "bob")}
        tokens["root"] = add_annotator(sqlite_store, "root", admin=True)
        server = LiveServer(create_app(sqlite_store, settings(**changes)))
        servers.append(server)
        return server.__enter__(), tokens

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def judgements(store):
    with store.transaction() as session:
        rows = session.execute(
            select(Judgement, Annotator.name, Item.key).join(Annotator).join(Item)
        ).all()
    return [(key, name, j.choice, j.shown_order, j.strength, j.comment) for j, name, key in rows]


def post_answer(client, html, **fields):
    data = {
        "csrf": hidden(html, "csrf"),
        "item_id": hidden(html, "item_id"),
        "shown": hidden(html, "shown"),
        **fields,
    }
    return client.post("/judge", data=data, follow_redirects=True)


def test_left_and_right_are_stored_as_the_responses_they_showed(served, sqlite_store):
    url, tokens = served(pair_items(6))
    with httpx.Client(base_url=url) as client:
        html = log_in(client, "alice", tokens["alice"])
        expected = []
        for side in ("left", "right", "left", "right"):
            shown = [int(i) for i in hidden(html, "shown").split(",")]
            key = "q" + hidden(html, "item_id")  # ids follow the import order from 1
            choice = "ab"[shown[0 if side == "left" else 1]]
            expected.append((f"q{int(key[1:]) - 1}", "alice", choice, shown, "clear", "ok"))
            html = post_answer(client, html, side=side, strength="clear", comment="ok").text
    assert sorted(judgements(sqlite_store)) == sorted(expected)
    assert {row[3][0] for row in expected} == {0, 1}  # the seed shows both orders


def test_csrf_roles_and_login_failures(served, sqlite_store):
    url, tokens = served(pair_items(2))
    with httpx.Client(base_url=url) as client:
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"
        form = client.get("/login")
        bad = client.post(
            "/login", data={"name": "alice", "token": "wrong", "csrf": hidden(form.text, "csrf")}
        )
        assert bad.headers["location"] == "/login?failed=1"
        no_csrf = client.post("/login", data={"name": "alice", "token": tokens["alice"]})
        assert no_csrf.status_code == 403
        html = log_in(client, "alice", tokens["alice"])
        forged = client.post(
            "/judge",
            data={"item_id": hidden(html, "item_id"), "shown": "0,1", "side": "left"},
        )
        assert forged.status_code == 403 and "CSRF" in forged.text
        assert client.get("/admin").status_code == 403
        votes = client.get("/admin/votes.jsonl")
        assert votes.status_code == 403 and "error" in votes.json()
    with httpx.Client(base_url=url) as admin:
        log_in(admin, "root", tokens["root"])
        assert admin.get("/admin").status_code == 200
    assert judgements(sqlite_store) == []


def test_model_text_is_escaped_and_no_inline_script_may_run(served):
    payload = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'
    url, tokens = served([{"id": "x", "prompt": "<b>hi</b>", "responses": [payload, "fine"]}])
    with httpx.Client(base_url=url) as client:
        page = client.get("/", follow_redirects=True)
        html = log_in(client, "alice", tokens["alice"])
        assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in html
        assert "<script>document" not in html and "<img src=x" not in html
        assert "&lt;b&gt;hi&lt;/b&gt;" in html
        csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.status_code == 200


def test_bodies_over_the_limit_get_413_declared_or_streamed(served, sqlite_store):
    url, tokens = served(pair_items(2), max_body_kb=4)
    with httpx.Client(base_url=url) as client:
        html = log_in(client, "alice", tokens["alice"])
        big = post_answer(client, html, side="left", comment="x" * 5000)
        assert big.status_code == 413

        def chunks():
            yield b"csrf=" + hidden(html, "csrf").encode() + b"&comment="
            for _ in range(10):
                yield b"y" * 1000

        streamed = client.post(
            "/judge",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert streamed.status_code == 413
    assert judgements(sqlite_store) == []


def test_sessions_expire(served):
    url, tokens = served(pair_items(2), session_hours=1.5 / 3600)
    with httpx.Client(base_url=url) as client:
        log_in(client, "alice", tokens["alice"])
        assert client.get("/").status_code == 200
        time.sleep(2.0)
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_overlap_and_one_judgement_per_annotator(served, sqlite_store):
    url, tokens = served(pair_items(1), overlap=1)
    with httpx.Client(base_url=url) as alice, httpx.Client(base_url=url) as bob:
        alice_page = log_in(alice, "alice", tokens["alice"])
        bob_page = log_in(bob, "bob", tokens["bob"])
        assert hidden(alice_page, "item_id") == hidden(bob_page, "item_id")
        assert 'id="done"' in post_answer(alice, alice_page, side="left").text
        again = post_answer(alice, alice_page, side="right")  # the same form, sent twice
        late = post_answer(bob, bob_page, side="right")
        assert "completed by others" in late.text and 'id="done"' in late.text
        assert "completed by others" in again.text
    assert [(row[0], row[1]) for row in judgements(sqlite_store)] == [("q0", "alice")]


def test_undo_removes_the_last_judgement_and_shows_its_item_again(served, sqlite_store):
    url, tokens = served(pair_items(3))
    with httpx.Client(base_url=url) as client:
        html = log_in(client, "alice", tokens["alice"])
        html = post_answer(client, html, side="tie").text
        first_item = hidden(html, "item_id")
        html = post_answer(client, html, side="both_bad").text
        assert len(judgements(sqlite_store)) == 2
        undone = client.post("/undo", data={"csrf": hidden(html, "csrf")}, follow_redirects=True)
        assert hidden(undone.text, "item_id") == first_item
    assert [row[2] for row in judgements(sqlite_store)] == ["tie"]


def test_gold_items_come_at_the_set_rate(served, tmp_path, sqlite_store):
    gold = [{"prompt": "2+2?", "chosen": "4", "rejected": "5"}]
    import_items(sqlite_store, write_items(tmp_path / "gold.jsonl", gold), gold=True)
    url, tokens = served(pair_items(4), gold_rate=0.5)
    with httpx.Client(base_url=url) as client:
        html = log_in(client, "alice", tokens["alice"])
        shown = []
        for _ in range(3):
            shown.append("2+2?" in html)
            html = post_answer(client, html, side="left").text
    assert shown == [False, True, False]  # every 2nd judgement while gold is unseen


def test_a_partial_ranking_is_saved_in_the_order_given(served, sqlite_store):
    item = {"id": "k4", "prompt": "rank", "responses": ["r0", "r1", "r2", "r3"]}
    url, tokens = served([item])
    with httpx.Client(base_url=url) as client:
        html = log_in(client, "alice", tokens["alice"])
        shown = [int(i) for i in hidden(html, "shown").split(",")]
        bad = post_answer(client, html, ranking="9")
        assert bad.status_code == 422 and "positions 1..4" in bad.text
        post_answer(client, html, ranking="4 2")
    with sqlite_store.transaction() as session:
        (stored,) = session.scalars(select(Judgement)).all()
    assert (stored.choice, stored.ranking) == ("ranking", [shown[3], shown[1]])


def test_admin_votes_are_raw_rows(served):
    url, tokens = served(pair_items(2))
    with httpx.Client(base_url=url) as alice, httpx.Client(base_url=url) as admin:
        html = log_in(alice, "alice", tokens["alice"])
        post_answer(alice, html, side="tie", strength="strong")
        log_in(admin, "root", tokens["root"])
        rows = [json.loads(line) for line in admin.get("/admin/votes.jsonl").text.splitlines()]
    assert [(r["annotator"], r["choice"], r["both_bad"]) for r in rows] == [("alice", "tie", False)]
