#!/usr/bin/env bash
# Fill what the device tool carries to a GPU machine that has no network: .gpu/ (the hh-rlhf
# file and the MiniLM tokenizer folder) and .whl/ (the wheels its image lacks: trl, datasets
# and theirs, transformers at our version, and DeepSpeed — built here, since PyPI has only its
# source — with its pure-Python dependencies). Run from the repo root with the venv active,
# then make the device call with carry [".gpu", ".whl"] (both are git-ignored), e.g.
#   pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && \
#     PYTHONPATH=/tmp/site:src python3 bench/gpu_scale_check.py --data .gpu/hh.jsonl.gz \
#       --tokenizer .gpu/tokenizer --steps 100 --batch-size 16
# or INSTALL_WHEELS=1 DATA=.gpu/hh.jsonl.gz TOKENIZER=.gpu/tokenizer bash bench/gpu_check.sh.
# The device tool carries 64 MiB at most: the script prints the total.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu .whl
cp ../shared/data/hh-rlhf-harmless-base/test.jsonl.gz .gpu/hh.jsonl.gz
python - <<'PY'
from transformers import AutoTokenizer

from rewardkit.model.backbone import resolve_backbone

AutoTokenizer.from_pretrained(resolve_backbone(None)).save_pretrained(".gpu/tokenizer")
PY
wheels=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0
  transformers==5.24.0 hjson msgpack ninja py-cpuinfo einops)
# the GPU image's python3 is CPython 3.12 (/work/.library/device/KINDS.md)
platforms=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)
python -m pip download --quiet --no-deps --only-binary :all: --python-version 3.12 \
  --implementation cp "${platforms[@]/#/--platform=}" -d .whl "${wheels[@]}"
DS_BUILD_OPS=0 python -m pip wheel --quiet --no-deps --no-build-isolation -w .whl deepspeed==0.19.8
ls .whl
du -sh .gpu .whl
du -cb .gpu .whl | tail -1 | awk '{printf "carried: %.1f MiB of 64\n", $1 / 1048576}'
