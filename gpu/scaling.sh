#!/usr/bin/env bash
# On the GPU machine (carry .whl): benchmarks/scaling.py at 1e4 and 1e5 neurons on cpp (1 thread,
# all 16 cores) and cuda, the models compiled first, 8 at a time; then the replica comparison of
# acceptance 4 if time is left. Results under $OUT/scaling. Target: under 5 minutes for the scaling.
set -uo pipefail
cd "$(dirname "$0")/.."
source gpu/env.sh || exit 1
out=${OUT:-/tmp}/scaling
python3 benchmarks/scaling.py --sizes 1e4 1e5 --configs cpp1 cpp cuda --circuits burstccn multiplexing \
    --duration 1 --build-jobs 8 --limit-s 150 --out "$out"
