#!/usr/bin/env bash
# The acceptance runs of the spiking XOR (issue 16, criteria 2-4): the four configurations at
# 200 neurons per population with 5 realisations each, and single-phase BurstCCN and Burstprop at
# the published 500, all with the published schedule (500 epochs of 8 s) at dt = 1 ms ("coarse").
# Two queues, one per core; each run is resumable (a killed run restarts from its last chunk in
# OUT/NAME/checkpoint) and a finished one (OUT/NAME/summary.json) is skipped. Logs: OUT/NAME.log.
# About 60 min per 200-neuron configuration and 45 min per 500-neuron run on one core.
#
#     benchmarks/xor_acceptance.sh [OUT]          # default out/xor_acceptance
#     grep -A40 "^xor " OUT/*.log                 # the tables, once finished
#     burstsim figure xor --from OUT/tp_ccn200 OUT/tp_bp200 OUT/sp_ccn200 OUT/sp_bp200 --out OUT/fig
set -euo pipefail
OUT=${1:-out/xor_acceptance}
BURSTSIM=${BURSTSIM:-.venv/bin/burstsim}
mkdir -p "$OUT"

one() {  # NAME N SCHEDULE RULE REPLICAS
    local name=$1 n=$2 schedule=$3 rule=$4 replicas=$5
    [[ -f "$OUT/$name/summary.json" ]] && return 0
    "$BURSTSIM" run xor --backend cpp --variant coarse --set n="$n" --set schedule="$schedule" \
        --set rule="$rule" --set replicas="$replicas" --seed 1 --out "$OUT/$name" >>"$OUT/$name.log" 2>&1
}

queue() { for item in "$@"; do one $item || echo "$item failed: see its log" >&2; done; }

# the single-phase pair first (the headline comparison), then two-phase, then the published size
queue "sp_ccn200 200 single_phase burstccn 5" "tp_ccn200 200 two_phase burstccn 5" \
      "sp_ccn500 500 single_phase burstccn 1" &
queue "sp_bp200 200 single_phase burstprop 5" "tp_bp200 200 two_phase burstprop 5" \
      "sp_bp500 500 single_phase burstprop 1" &
wait
