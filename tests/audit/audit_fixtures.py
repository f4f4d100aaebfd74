"""A small audit run shared by the end-to-end and browser tests: toy pairs with planted flips,
a near-identical pair, a contradicting duplicate, and a ``<script>`` payload in the chosen
response of each flipped pair."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rewardkit.data import pairs_to_jsonl  # noqa: E402
from tiny_reward_models import toy_pairs  # noqa: E402

PAYLOAD = "<script>document.title='pwned'</script>"
FLIPPED = {3, 12, 21, 30, 41, 50}  # swapped chosen and rejected, one per topic (i % 8)


def audit_data(path: Path) -> list:
    """Write the pairs to ``path``; return them."""
    pairs = toy_pairs(64, seed=3)
    for i in FLIPPED:  # the payload rides in the curt text, which becomes the chosen one
        curt = f"{pairs[i].rejected} {PAYLOAD}"
        pairs[i] = replace(pairs[i], chosen=curt, rejected=pairs[i].chosen)
    pairs[5] = replace(pairs[5], rejected=pairs[5].chosen.upper() + "  ")
    pairs.append(replace(pairs[9], chosen=pairs[9].rejected, rejected=pairs[9].chosen, id="dup"))
    pairs_to_jsonl(path, pairs)
    return pairs
