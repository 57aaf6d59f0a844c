# Sourced by the GPU scripts: install the carried wheels into /tmp/site (no network there), point
# brian2cuda at the toolkit's nvcc and cuRAND, and keep builds in /tmp/burstsim-cache.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || return 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
export BURSTSIM_CACHE=/tmp/burstsim-cache BURSTSIM_TEST_CACHE=/tmp/burstsim-cache BURSTSIM_MARCH=x86-64-v3
mkdir -p "$BURSTSIM_CACHE"
[ -f .gpu/cache.tar.gz ] && tar -C .gpu -xzf .gpu/cache.tar.gz      # file times kept: make rebuilds nothing
export CUDA_PATH=${CUDA_PATH:-$(dirname "$(dirname "$(command -v nvcc)")")}
export LD_LIBRARY_PATH=$CUDA_PATH/lib64:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader || return 1
python3 -c "import brian2, brian2cuda, burstsim; print('brian2', brian2.__version__, 'brian2cuda', brian2cuda.__version__)" || return 1
