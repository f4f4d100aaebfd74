#!/usr/bin/env bash
# Install everything, then run the offline demo (`rewardkit demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
rewardkit demo --out "${1:-demo-out}"
