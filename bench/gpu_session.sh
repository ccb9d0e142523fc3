#!/bin/bash
# The GPU measurements issue 7 still lacks, in order of what they settle, each under a deadline
# so that one slow or broken benchmark leaves time for the rest of a short lent session.
# Run from the repository root on a GPU host with lenstune's dependencies importable; with
# WHEELS=DIR, the wheels in DIR are installed into /tmp/site first (for a bare host with no
# index: build DIR here with `pip download --python-version 3.12 --only-binary=:all: ...`: ray,
# optuna, lenstronomy, astropy and the packages they need that the host lacks; Ray's 79 MB wheel
# fits a 64 MiB carry only rebuilt without ray/jars, ray/rllib, ray/serve, ray/llm and
# ray/dashboard/client, and its RECORD lines for them).
# Figures go to $OUT (default bench_results/gpu); LIMIT is the whole run's seconds.
set -u
T0=$(date +%s); LIMIT=${LIMIT:-560}; OUT=${OUT:-bench_results/gpu}
mkdir -p "$OUT"
left() { echo $(( LIMIT - ($(date +%s) - T0) )); }
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 RAY_USAGE_STATS_ENABLED=0 PYTHONWARNINGS=ignore \
       LENSTUNE_CACHE=${LENSTUNE_CACHE:-/tmp/lenstune-cache}
if [ -n "${WHEELS:-}" ]; then
    mkdir -p /tmp/site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --target /tmp/site "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/site:$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
clean() { ray stop --force >/dev/null 2>&1 || pkill -9 -f raylet; sleep 1; } 2>/dev/null
run() {  # run CAP_SECONDS COMMAND...: at most CAP seconds, less if the session has less left
    local cap=$1; shift; local t; t=$(left); t=$(( t < cap ? t : cap ))
    if [ "$t" -lt 30 ]; then echo "=== SKIP (no time left) $*"; return; fi
    echo "=== $(date +%T) +$(( $(date +%s) - T0 ))s: $* (timeout ${t}s)"
    timeout -k 5 "$t" "$@"; echo "=== rc $? at +$(( $(date +%s) - T0 ))s"; clean
}
# 1 first, the one no session has yet measured whole: 8 trials of ~12.5 s (the first GPU
# run's were 5.5 s), one search between two loops: ~330 s.
run 340 python3 -m bench.search_overhead --gpus-per-trial 1 --trials 8 --repeats 1 \
    --features 64 --epochs 8 --sim-count 6000 --out "$OUT/search_overhead.json"
# 2: the loops without their per-step waits (second session: classify 1.36x, superres 1.09x).
run 130 python3 -m bench.throughput --device cuda --epochs 5 --sim-count 2000 \
    --out "$OUT/throughput.json"
# bf16 through whole searches, 1, 2 and 4 trials per GPU (fp32's figures are section 8's).
run 200 python3 -m bench.gpu_utilisation --trials 4 --epochs 6 --sim-count 1500 \
    --precision bf16 --out "$OUT/gpu_utilisation-bf16.json"
echo "all done at +$(( $(date +%s) - T0 ))s"
