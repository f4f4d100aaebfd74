#!/usr/bin/env bash
# One prepared GPU check (see bench/gpu_train_check.py): run from the repo root on a CUDA
# machine. Needs the canonical hh-rlhf file and a tokenizer folder; with no network there,
# the device tool carries them in .gpu/ and trl/datasets wheels in .whl/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/hh-rlhf-harmless-base/test.jsonl.gz}
TOKENIZER=${TOKENIZER:-.gpu/tokenizer}
if [ -d .whl ] && [ -n "${INSTALL_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
${PYTHON:-python3} bench/gpu_train_check.py --data "$DATA" --tokenizer "$TOKENIZER" --steps "${STEPS:-300}" \
  --out "${WORK:-/tmp/rk-gpu}" "$@"
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then cp "${WORK:-/tmp/rk-gpu}/gpu_results.json" "$OUT/"; fi
