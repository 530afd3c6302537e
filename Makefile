# Two commands do all the set-up: `make lab` starts the course, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: lab test test-colab site benchmarks clean

# The install step (.ci/run runs it through `make test`): tools/torch_index.py picks torch's build
# (CPU-only on Linux without an NVIDIA driver) and says so in one line; pip shows its own progress.
# Once .venv is up to date this prints nothing. TORCH_INDEX=cpu|cuda|default|URL forces a build.
$(BIN)/.installed: requirements.txt pyproject.toml
	@torch=$$($(PYTHON) tools/torch_index.py $(if $(wildcard $(BIN)/python),,--first-run)) && \
	  { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } && \
	  $(BIN)/python -m pip install --progress-bar on $$torch -r requirements.txt
	@touch $@

# JupyterLab on this machine only (127.0.0.1), with a token, at lesson 00, run by the course's
# server configuration (jupyter/jupyter_server_config.py: TCP_NODELAY on the kernel websocket,
# kernels on IPC, kernelShutdown; Binder loads the same file).
# (Jupyter refuses to run as root unless told; containers often run as root.)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(BIN)/.installed
	$(BIN)/jupyter lab --config=jupyter/jupyter_server_config.py --ServerApp.ip=127.0.0.1 \
	  --notebook-dir=. $(ROOT_FLAG) notebooks/00_start_here.ipynb

# Every test: vaelib, the notebooks executed top to bottom (nbval), the browser, the linter.
# Two processes (pytest-xdist), each taking whole files: the browser suite in one, the rest in the
# other, on the two cores a course machine has. `python -m pytest` alone runs them one by one.
# The two environments are built side by side (pip uses one core each), then Colab's run,
# the linter and the course's run, one after the other.
test:
	@$(MAKE) --no-print-directory -j2 $(BIN)/.installed $(COLAB)/bin/.installed
	$(BIN)/ruff check vaelib harness tests benchmarks tools jupyter site conftest.py
	@$(MAKE) --no-print-directory test-colab
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder

# Colab's libraries (colab/requirements.txt: ipywidgets 7.7.1, numpy 2.1.3, matplotlib 3.10.0, ...) in
# .venv-colab, vaelib installed as the lessons' Colab cell installs it (--no-deps), torch, nbval and
# zlib-ng at the course's pins; then every notebook top to bottom (nbval) and the display test under them,
# in two processes, a notebook to each (pytest-xdist: test machinery, not a library the lessons see).
# Not reproduced here: Colab's front end, its Python 3.13 and its torch 2.11 (colab/requirements.txt).
COLAB := .venv-colab
$(COLAB)/bin/.installed: colab/requirements.txt requirements.txt pyproject.toml
	@torch=$$($(PYTHON) tools/torch_index.py 2>/dev/null) && \
	  { test -x $(COLAB)/bin/python || $(PYTHON) -m venv $(COLAB); } && \
	  $(COLAB)/bin/python -m pip install -q $$torch -r colab/requirements.txt \
	    $$(grep -E '^(torch|nbval|zlib-ng|pytest-xdist|execnet)==' requirements.txt) && \
	  $(COLAB)/bin/python -m pip install -q --no-deps -e .
	@touch $@

test-colab: $(COLAB)/bin/.installed
	OMP_NUM_THREADS=1 PYDEVD_DISABLE_FILE_VALIDATION=1 $(COLAB)/bin/python -m pytest -q --disable-warnings --noconftest -o addopts= \
	  -n 2 --dist loadfile --nbval-lax --nbval-current-env -p no:cacheprovider tests/test_display.py notebooks

# The course as a static website in build/site/ (tools/site.py): the notebooks as `make test` executed
# them (build/executed/; any missing is executed now), MathJax from npm (site/package-lock.json), offline.
site: $(BIN)/.installed
	cd site && { test -d node_modules/mathjax || npm ci --no-audit --no-fund --silent; }
	$(BIN)/python tools/site.py

# Every benchmark in benchmarks/ (INSTRUCTORS.md lists them), each printing its table; each also takes --json.
benchmarks: $(BIN)/.installed
	for b in benchmarks/*.py; do \
	  if [ $$b = benchmarks/browser_latency.py ] && [ ! -x /usr/bin/chromium ]; then \
	    echo "skipping $$b: no /usr/bin/chromium"; continue; fi; \
	  $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(COLAB) .cache tests/screenshots build site/node_modules
