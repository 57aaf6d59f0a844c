#!/usr/bin/env bash
# The acceptance runs of the spiking XOR (issue 16, criteria 2-4): the four configurations at
# 200 neurons per population with 5 realisations each (seed 1 with 3 replicas and seed 2 with 2:
# two networks drawn independently), and single-phase BurstCCN and Burstprop at the published 500,
# all with the published schedule (500 epochs of 8 s) at dt = 1 ms ("coarse").
# Two queues, one per core; each run is resumable (a killed run restarts from its last chunk in
# OUT/NAME/checkpoint) and a finished one (OUT/NAME/summary.json) is skipped. Logs: OUT/NAME.log.
# About 17 core-min per 200-neuron realisation and 40 per 500-neuron run: about 3.5 h on 2 cores.
#
#     benchmarks/xor_acceptance.sh [OUT]          # default out/xor_acceptance
#     .venv/bin/python benchmarks/xor_progress.py OUT/*/     # verdicts, costs and rates so far
#     burstsim figure xor --from OUT/tp_ccn200 OUT/tp_bp200 OUT/sp_ccn200 OUT/sp_bp200 --out OUT/fig
set -euo pipefail
OUT=${1:-out/xor_acceptance}
BURSTSIM=${BURSTSIM:-.venv/bin/burstsim}
mkdir -p "$OUT"

one() {  # NAME N SCHEDULE RULE REPLICAS SEED
    local name=$1 n=$2 schedule=$3 rule=$4 replicas=$5 seed=$6
    [[ -f "$OUT/$name/summary.json" ]] && return 0
    "$BURSTSIM" run xor --backend cpp --variant coarse --set n="$n" --set schedule="$schedule" \
        --set rule="$rule" --set replicas="$replicas" --seed "$seed" --out "$OUT/$name" >>"$OUT/$name.log" 2>&1
}

queue() { for item in "$@"; do one $item || echo "$item failed: see its log" >&2; done; }

# the single-phase pairs first (the headline comparison), then the published size, then two-phase
queue "sp_ccn200 200 single_phase burstccn 3 1" "sp_bp200 200 single_phase burstprop 3 1" \
      "tp_ccn200 200 two_phase burstccn 3 1" "sp_bp200_s2 200 single_phase burstprop 2 2" \
      "tp_bp200_s2 200 two_phase burstprop 2 2" &
queue "sp_ccn200_s2 200 single_phase burstccn 2 2" "sp_bp500 500 single_phase burstprop 1 1" \
      "sp_ccn500 500 single_phase burstccn 1 1" "tp_ccn200_s2 200 two_phase burstccn 2 2" \
      "tp_bp200 200 two_phase burstprop 3 1" &
wait
