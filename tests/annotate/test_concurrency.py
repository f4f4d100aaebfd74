"""50 annotators at once over HTTP on loopback submit 1,000 judgements to ``rewardkit annotate
serve`` (its own process): the database then holds exactly 1,000, none twice for one (item,
annotator), and no item more than its overlap — on SQLite (WAL, immediate transactions) and on
a real PostgreSQL server (row locks)."""

import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from rewardkit.annotate.accounts import add_annotator
from rewardkit.annotate.items import import_items
from rewardkit.annotate.schema import Judgement
from rewardkit.annotate.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotate_helpers import CliServer, hidden, log_in, pair_items, write_items  # noqa: E402

ANNOTATORS, EACH, ITEMS, OVERLAP = 50, 20, 400, 3


def annotate(url: str, name: str, token: str, accepted: Counter, errors: list) -> None:
    try:
        # a refused connect (a full accept queue on a loaded machine) never reached the server:
        # retrying it cannot duplicate a judgement; anything after the connect is not retried
        transport = httpx.HTTPTransport(retries=5)
        with httpx.Client(base_url=url, timeout=120, transport=transport) as client:
            html = log_in(client, name, token)
            while accepted[name] < EACH:
                data = {
                    "csrf": hidden(html, "csrf"),
                    "item_id": hidden(html, "item_id"),
                    "shown": hidden(html, "shown"),
                    "side": "left",
                }
                answer = client.post("/judge", data=data, follow_redirects=True)
                assert answer.status_code == 200, answer.text[:200]
                if "note" not in answer.url.params:  # not refused as taken
                    accepted[name] += 1
                html = answer.text
    except Exception as err:  # reported by the test, not lost in a thread
        errors.append(f"{name}: {err!r}")


def test_fifty_annotators_thousand_judgements(db_url, tmp_path):
    store = open_store(db_url)
    import_items(store, write_items(tmp_path / "items.jsonl", pair_items(ITEMS)))
    tokens = {f"a{n:02d}": add_annotator(store, f"a{n:02d}") for n in range(ANNOTATORS)}
    accepted, errors = Counter(), []
    with CliServer("--db", db_url, "--overlap", str(OVERLAP), "--seed", "0") as url:
        threads = [
            threading.Thread(target=annotate, args=(url, name, token, accepted, errors))
            for name, token in tokens.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert errors == []
    assert sum(accepted.values()) == ANNOTATORS * EACH
    with store.transaction() as session:
        rows = session.execute(select(Judgement.item_id, Judgement.annotator_id)).all()
    assert len(rows) == ANNOTATORS * EACH == 1000
    assert len(set(rows)) == len(rows)  # no (item, annotator) twice
    per_item = Counter(item for item, _ in rows)
    assert max(per_item.values()) <= OVERLAP
    store.engine.dispose()
