#!/usr/bin/env bash
# Prepare the GPU machine's runs here, on a CPU-only build host with nvcc (issue 19, Build 4):
#   .whl/        brian2 2.10.1 (cp312 manylinux), brian2cuda 1.0b1 and burstsim (--no-deps), the
#                pure dependencies the GPU image lacks (see gpu/README.md)
#   .gpu/cache.tar.gz  the cuda builds of transfer and multiplexing (two of the three protocols that
#                gpu/tests.sh runs; single_phase is compiled there), for sm_90 with a portable host
#                target (BURSTSIM_MARCH=x86-64-v3), packed with their file times; the object files are
#                emptied (their times kept: make only compares times, and the binary is already linked),
#                so that the two fit the device's 64 MiB with the wheels (about 50 MB)
# Both are git-ignored; name them in the device call's carry: [".whl", ".gpu"]. About 20 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
rm -rf .whl .gpu && mkdir -p .whl .gpu
plat="--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
$PY -m pip download -q --no-deps $plat -d .whl brian2==2.10.1
$PY -m pip download -q --no-deps -d .whl brian2cuda==1.0b1
$PY -m pip wheel -q --no-deps --no-build-isolation -w .whl .
export BURSTSIM_CACHE=$PWD/.gpu/cache BURSTSIM_MARCH=x86-64-v3 BURSTSIM_CUDA_COMPUTE_CAPABILITY=9.0
$PY gpu/builds.py transfer multiplexing
find .gpu/cache -name '*.o' -exec sh -c 'for f; do touch -r "$f" "$f.t"; : > "$f"; touch -r "$f.t" "$f"; rm "$f.t"; done' sh {} +
tar -C .gpu -czf .gpu/cache.tar.gz cache && rm -rf .gpu/cache
du -sh .whl .gpu
