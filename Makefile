# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv, install what they need, and are quick the second time.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS_STAMP := tools/bin/.installed
PROTO_STAMP := gateway/generated/.built

.PHONY: venv tools proto demo demo-check test lint format bench-triton bench-gateway bench-runtimes bench-served gpu-check gpu-bench soak soak-short clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(PROTO_STAMP): $(STAMP) $(wildcard protos/asen/v1/*.proto) scripts/build_protos.sh
	bash scripts/build_protos.sh

$(TOOLS_STAMP): scripts/install_tools.sh
	bash scripts/install_tools.sh

venv: $(STAMP) $(PROTO_STAMP)

tools: $(TOOLS_STAMP)

proto: $(PROTO_STAMP)

demo: venv
	$(PY) -m asen.demo

# The demo with its model-quality targets as a gate: exits 1 when any attribute misses them.
demo-check: venv
	ASEN_DEMO_STRICT=1 $(PY) -m asen.demo

test: venv tools
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench-triton: venv
	$(PY) loadtests/bench_triton.py

bench-gateway: venv
	$(PY) loadtests/bench_gateway.py

# The soak (loadtests/soak): 30 minutes of load with faults; rewrites loadtests/reports/soak.md.
soak: venv tools
	$(PY) -m loadtests.soak --schedule full --capacity-seconds 10 --workdir build/soak \
		--report loadtests/reports/soak.md

# Its 3-minute version (the test suite runs it too); report under build/soak-short.
soak-short: venv tools
	$(PY) -m loadtests.soak --schedule short --workdir build/soak-short \
		--report build/soak-short/soak.md

bench-runtimes: venv
	$(PY) loadtests/bench_runtimes.py --out runs/bench-runtimes

# The served ensemble against the bare runtime's limit, alternating rounds in one run.
bench-served: venv
	$(PY) loadtests/bench_served_vs_bare.py --out runs/served-vs-bare

# GPU machines (official Triton at /opt/tritonserver or TRITONSERVER=...); DRY_RUN=1 runs them
# on a CPU with the cpu target. Each stops after 8 minutes.
GPU_FLAGS = $(if $(TRITONSERVER),--tritonserver $(TRITONSERVER)) $(if $(DRY_RUN),--dry-run)

gpu-check: venv
	bash scripts/gpu_check.sh $(GPU_FLAGS) --out runs/gpu-check

gpu-bench: venv
	timeout --signal=INT --kill-after=30 480 $(PY) loadtests/gpu_bench.py $(GPU_FLAGS) --out runs/gpu-bench

clean:
	rm -rf $(VENV) tools/bin gateway/generated build runs
