#!/usr/bin/env bash
# The prepared GPU check, run from the repo root on a CUDA machine, in three parts (PARTS picks
# and orders them; default "score train serve"):
#   score: `rewardkit score` against a transformers pipeline (bench/score_vs_pipeline.py), every
#          pair of DATA, rewardkit at batch 32, 128 and the device's default (0);
#   train: rewardkit against TRL's RewardTrainer (bench/gpu_train_check.py), each in a fresh
#          process;
#   serve: `rewardkit serve` batching on vs off (bench/serve_load.py); SERVE_RUNS lists
#          "precision max-chars" runs (default fp32 2000, bf16 2000, bf16 256).
# score and serve use a randomly initialised reward model of all-MiniLM-L6-v2's shape (speed does not
# depend on the weights' values). Needs the canonical hh-rlhf file and a tokenizer folder; with
# no network there, the device tool carries them in .gpu/ and the missing wheels (trl,
# datasets, fastapi, uvicorn, pydantic, ...) in .whl/. TINY=1: a few seconds' smoke run on CPU.
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/hh-rlhf-harmless-base/test.jsonl.gz}
TOKENIZER=${TOKENIZER:-.gpu/tokenizer}
WORK=${WORK:-/tmp/rk-gpu}
LOGS=${OUT:-$WORK}
mkdir -p "$WORK" "$LOGS"
if [ -d .whl ] && [ -n "${INSTALL_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
if [ -n "${TINY:-}" ]; then
  train_args=(--tiny --steps 4) serve_args=(--requests 32 --rounds 2 --clients 4) score_args=(--limit 8)
else
  train_args=(--steps "${STEPS:-200}") serve_args=(--requests "${SERVE_REQUESTS:-1920}" --rounds 4)
  score_args=(--rounds 3 --pairs all)
fi
status=0
model=$($PY bench/tiny.py minilm-shaped "$WORK/minilm" "$TOKENIZER") || exit 1
for part in ${PARTS:-score train serve}; do
  case $part in
    score)
      $PY bench/score_vs_pipeline.py --model "$model" --data "$DATA" --batch-sizes 32,128,0 \
        "${score_args[@]}" 2>&1 | tee "$LOGS/score.log" || status=1 ;;
    train)
      TOKENIZERS_PARALLELISM=false $PY bench/gpu_train_check.py --data "$DATA" \
        --tokenizer "$TOKENIZER" --out "$WORK/train" "${train_args[@]}" 2>&1 \
        | tee "$LOGS/train.log" || status=1
      cp "$WORK/train/gpu_results.json" "$LOGS/" 2>/dev/null || true ;;
    serve)
      while read -r precision chars; do
        [ -n "$precision" ] || continue
        $PY bench/serve_load.py --model "$model" --texts "$DATA" --precision "$precision" \
          --max-chars "$chars" --min-fill 0.5 --max-batch-tokens 32768 "${serve_args[@]}" \
          --json "$LOGS/serve_${precision}_$chars.json" 2>&1 | tail -6 | tee -a "$LOGS/serve.log" \
          || status=1
      done <<< "${SERVE_RUNS:-fp32 2000
bf16 2000
bf16 256}" ;;
    *) echo "unknown part: $part (score, train, serve)" >&2; status=1 ;;
  esac
done
exit $status
