#!/usr/bin/env bash
# Prepare the GPU machine's runs here, on a CPU-only build host with nvcc (issue 19, Build 4):
#   .whl/        brian2 2.10.1 (cp312 manylinux), brian2cuda 1.0b1 and burstsim (--no-deps), the
#                pure dependencies the GPU image lacks (see gpu/README.md)
#   .gpu/cache/  the cuda builds of the three protocols that gpu/tests.sh runs, compiled for sm_90
#                with a portable host target (BURSTSIM_MARCH=x86-64-v3), packed with their file times
# Both are git-ignored; name them in the device call's carry: [".whl", ".gpu"]. About 15 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
rm -rf .whl .gpu && mkdir -p .whl .gpu
plat="--only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64"
$PY -m pip download -q --no-deps $plat -d .whl brian2==2.10.1
$PY -m pip download -q --no-deps -d .whl brian2cuda==1.0b1
$PY -m pip wheel -q --no-deps --no-build-isolation -w .whl .
export BURSTSIM_CACHE=$PWD/.gpu/cache BURSTSIM_MARCH=x86-64-v3 BURSTSIM_CUDA_COMPUTE_CAPABILITY=9.0
$PY gpu/builds.py transfer multiplexing single_phase
tar -C .gpu -czf .gpu/cache.tar.gz cache && rm -rf .gpu/cache
du -sh .whl .gpu
