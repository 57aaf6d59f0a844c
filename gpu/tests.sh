#!/usr/bin/env bash
# On the GPU machine (after gpu/prepare.sh here; carry .whl and .gpu): the gpu tests of three
# representative protocols (transfer: single neurons and STP-free currents; multiplexing: a 10^4-scale
# network with STP and event monitors; single_phase: BurstCCN plasticity on custom events), cuda
# against 5 cpp seeds each. Fails if any gpu test is skipped. Target: under 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
source gpu/env.sh || exit 1
python3 - <<'PY'
from burstsim import builds
print("adopted:", [p.name for p in builds.adopt_builds(".gpu/cache")])
PY
log=${OUT:-/tmp}/gpu_tests.log
python3 -m pytest -q -m gpu -rs -p no:cacheprovider -n 3 tests/test_gpu.py \
    -k "transfer or multiplexing or single_phase" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if grep -q "skipped" "$log"; then echo "gpu/tests.sh: a gpu test was skipped on the GPU machine"; exit 1; fi
exit $status
