#!/usr/bin/env bash
# rewardkit audit on hh-rlhf's canonical train split, and what cleaning it does to eval accuracy.
#
# 1. the canonical prompt-hash split of ../shared/data/hh-rlhf-harmless-base/test.jsonl.gz
#    (1,874 train / 438 eval), written as two files;
# 2. audit the train split only (the eval split is never touched) with --fix soft --top 0: the
#    likely-flipped pairs get the out-of-fold soft label (the same texts, so the frozen
#    features are reused from the cache);
# 3. train frozen-feature heads on the raw and the soft-labelled train split, evaluate both on
#    the eval split, and put them side by side with `rewardkit compare` (paired bootstrap).
# Usage: bash bench/audit_hh.sh [OUT]   (OUT defaults to a temporary folder)
set -euo pipefail
OUT=${1:-$(mktemp -d -t rk-audit-hh-XXXX)}
DATA=${DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/hh-rlhf-harmless-base/test.jsonl.gz}
mkdir -p "$OUT"
python - "$DATA" "$OUT" <<'PY'
import sys
from rewardkit.data import pairs_to_jsonl, read_pairs, split_by_prompt
pairs, _ = read_pairs(sys.argv[1])
train, held_out = split_by_prompt(pairs, 0.2)
pairs_to_jsonl(f"{sys.argv[2]}/train.jsonl", train)
pairs_to_jsonl(f"{sys.argv[2]}/eval.jsonl", held_out)
print(f"canonical split: {len(train)} train, {len(held_out)} eval pairs")
PY
rewardkit audit --data "$OUT/train.jsonl" --out "$OUT/audit" --overlong truncate-prompt \
  --fix soft --top 0 --out-data "$OUT/train.soft.jsonl" --no-progress
for name in train train.soft; do
  rewardkit train --data "$OUT/$name.jsonl" --eval-data "$OUT/eval.jsonl" --out "$OUT/rm-$name" \
    --freeze-backbone
  rewardkit eval --model "$OUT/rm-$name" --data "$OUT/eval.jsonl" --out "$OUT/eval-$name" --no-probes
done
rewardkit compare "$OUT/eval-train" "$OUT/eval-train.soft" --out "$OUT/compare"
echo "results in $OUT (audit/audit.json, compare/compare.json)"
