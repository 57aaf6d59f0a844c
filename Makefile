# The two commands of the README:  make demo  and  make test.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-all test-cuda-build venv clean

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "burstsim needs Python >= 3.12 (found " + sys.version.split()[0] + "); install it, e.g. pyenv install 3.12, and run make again")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@if command -v nvcc >/dev/null; then $(PY) -m pip install -q -e '.[cuda,dev]'; fi
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/burstsim run transfer --backend cpp --out out/transfer

test: $(STAMP)
	$(PY) -m pytest -q --durations=20

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

# three representative protocols' cuda builds and spiking_digits', compiled with nvcc (no GPU needed): CI's second step
# (every protocol: the slow cuda_build test, in make test-all)
test-cuda-build: $(STAMP)
	$(PY) -m pytest -q -s -m "cuda_build and not slow"

clean:
	rm -rf $(VENV) out build *.egg-info
