"""Preference data: records, readers, validation, prompt-disjoint splits, fingerprints.

>>> from rewardkit.data import read_pairs, split_by_prompt        # doctest: +SKIP
>>> pairs, report = read_pairs("../shared/data/hh-rlhf-harmless-base/test.jsonl.gz")
>>> train, eval = split_by_prompt(pairs, eval_fraction=0.2)     # 1,874 / 438
"""

from rewardkit.data.fingerprint import data_fingerprint
from rewardkit.data.formats import FORMATS
from rewardkit.data.readers import LoadReport, SkippedRecord, read_items, read_pairs
from rewardkit.data.records import PreferencePair, ScoredItem, prompt_hash, prompt_text
from rewardkit.data.splits import check_disjoint, is_eval_prompt, prompt_overlap, split_by_prompt
from rewardkit.data.writers import pairs_to_jsonl, write_jsonl

__all__ = [
    "FORMATS",
    "LoadReport",
    "PreferencePair",
    "ScoredItem",
    "SkippedRecord",
    "check_disjoint",
    "data_fingerprint",
    "is_eval_prompt",
    "pairs_to_jsonl",
    "prompt_hash",
    "prompt_overlap",
    "prompt_text",
    "read_items",
    "read_pairs",
    "split_by_prompt",
    "write_jsonl",
]
