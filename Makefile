# Two commands do all the set-up:  `make lab` (open the course)  and  `make test` (run every test).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch first, from the pin in pyproject.toml: the CPU build; anything looser may pull a CUDA build.
TORCH  := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install models lab test test-fast notebooks bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# the classroom models (continued-pretraining MiniLM, five fine-tuned task models) the notebooks demonstrate
# with: built once into data/cache/models/ (two at a time, one core each: about 15 min on 2 cores); later runs
# skip what is current
models: install
	$(PY) -m bertcourse prepare

# root (a container, a classroom VM) needs --allow-root, which JupyterLab refuses to assume
lab: install models
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The unit tests run on 2 workers, one core each (most are single-threaded Python); then, one at a time,
# every notebook is executed once (tests/notebook_checks.py): those the browser test drives in JupyterLab,
# the others with nbclient; no error, the cells tagged nbval-check-output print what is committed (nbval-lax's
# rules, tests/nbval_sanitize.cfg), at most 90 s each; times in tests/artifacts/ (ignored).
test: install models  ## unit tests, every notebook executed once (checked and timed), the browser test
	$(PY) -m pytest tests -n 2 -m "not notebook and not browser" --durations=10
	$(PY) -m pytest tests -m "notebook or browser" --durations=15

test-fast: install  ## unit tests only: the inner loop
	$(PY) -m pytest -m "not slow and not notebook and not browser"

notebooks: install  ## re-execute every notebook in place, light outputs (see benchmarks/run_notebooks.py)
	$(PY) benchmarks/run_notebooks.py

bench: install
	$(PY) benchmarks/model_throughput.py
	$(PY) benchmarks/pretrain_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache
