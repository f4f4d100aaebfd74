"""A fingerprint of training data, stored with a model so that results can be traced.

The fingerprint is the sha256 hex digest of one canonical JSON line per pair, in order:
``{"chosen", "margin", "prompt", "rejected", "tie", "weight"}`` with keys sorted at every
level (chat messages included), no spaces, UTF-8 (``ensure_ascii=False``), margin and
weight as floats, plus ``"label"`` (a float) only for pairs that carry a soft label, so data
without soft labels keeps its fingerprint. It depends on nothing else (not on ids, sources,
or the file the pairs came from), so the same pairs give the same fingerprint in any run or
process, and changing, adding or reordering a pair changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from rewardkit.data.records import PreferencePair


def data_fingerprint(pairs: Iterable[PreferencePair]) -> str:
    digest = hashlib.sha256()
    for pair in pairs:
        canonical = {
            "prompt": pair.prompt,
            "chosen": pair.chosen,
            "rejected": pair.rejected,
            "margin": float(pair.margin),
            "tie": bool(pair.tie),
            "weight": float(pair.weight),
        }
        if pair.label is not None:
            canonical["label"] = float(pair.label)
        line = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()
