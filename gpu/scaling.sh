#!/usr/bin/env bash
# On the GPU machine (carry .whl): benchmarks/scaling.py for the BurstCCN layer circuit (acceptance 3)
# at 1e4 and 1e5 neurons on cpp (1 thread, all 16 cores) and cuda, the models compiled first, 8 at a
# time (each measurement at most 150 s). Results under $OUT/scaling. Target: under 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
source gpu/env.sh || exit 1
out=${OUT:-/tmp}/scaling
python3 benchmarks/scaling.py --sizes 1e4 1e5 --configs cpp1 cpp cuda --circuits burstccn \
    --duration 1 --build-jobs 8 --limit-s 150 --out "$out"
# the multiplexing circuit at the same sizes (another ~5 min):
#   python3 benchmarks/scaling.py --sizes 1e4 1e5 --configs cpp1 cpp cuda --circuits multiplexing --build-jobs 8 --out $OUT/scaling_mux
