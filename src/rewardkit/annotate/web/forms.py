"""Between the page and the database: what an item looks like on the page (its responses
shuffled, the shown order kept), and a posted form read back into an :class:`Answer`.

A pair form posts ``side`` = left | right | tie | both_bad | skip and ``shown`` = the
response indices left to right ("1,0"); left/right become a/b (``responses[0]``/``[1]``)
through ``shown``. A ranking form posts ``ranking`` = positions on the page, best first
("3 1": the third shown response, then the first), turned into response indices the same way.
"""

from __future__ import annotations

import random
import re
from typing import Any

from rewardkit.annotate.assignment import Answer, Refused
from rewardkit.annotate.schema import RANKING, Item

SESSION_COOKIE = "rk_session"
LOGIN_CSRF_COOKIE = "rk_login_csrf"
SIDES = ("left", "right", "tie", "both_bad", "skip")


def turns(prompt: Any) -> list[dict[str, str]]:
    """The prompt as chat turns (a plain-text prompt is one user turn)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


def item_view(item: Item, shuffle: random.Random) -> dict[str, Any]:
    order = list(range(len(item.responses)))
    shuffle.shuffle(order)
    return {
        "id": item.id,
        "turns": turns(item.prompt),
        "shown": ",".join(map(str, order)),
        "responses": [{"position": n + 1, "text": item.responses[i]} for n, i in enumerate(order)],
        "ranking": len(order) > 2,
    }


def _field(form, name: str, limit: int = 100) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise Refused(422, f"form field {name!r} is not a short text")
    return value


def _shown_order(form, k: int) -> list[int]:
    text = _field(form, "shown") or ""
    parts = text.split(",")
    if not all(part.isdigit() for part in parts) or sorted(map(int, parts)) != list(range(k)):
        raise Refused(422, f"form field 'shown' must list the {k} response indices")
    return [int(part) for part in parts]


def answer_from_form(item: Item, form) -> Answer:
    k = len(item.responses)
    shown = _shown_order(form, k)
    comment = _field(form, "comment", limit=2000)
    side = _field(form, "side")
    if side is None and k > 2:
        side = RANKING
    if side not in (*SIDES, RANKING):
        raise Refused(422, "form field 'side' must be one of " + ", ".join(SIDES))
    if side == RANKING:
        positions = re.findall(r"\d+", _field(form, "ranking") or "")
        if not positions or any(not 1 <= int(p) <= k for p in positions):
            raise Refused(422, f"give a ranking of positions 1..{k}, best first")
        ranking = [shown[int(p) - 1] for p in positions]
        return Answer(item.id, RANKING, shown, ranking=ranking, comment=comment)
    choice = side
    if side in ("left", "right"):
        choice = "ab"[shown[0 if side == "left" else 1]]
    strength = _field(form, "strength") if side in ("left", "right") else None
    return Answer(item.id, choice, shown, strength=strength, comment=comment)
