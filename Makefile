# pocketml: `make demo` and `make test` do all the set-up on a fresh machine.
#
# Set-up is stamped: a second `make test` reinstalls nothing unless pyproject.toml changed.
#   .venv/.debs    Debian packages the project needs: a C compiler and make for the generated C,
#                  the Arm cross toolchain and QEMU for the Cortex-M check, PostgreSQL (the shared
#                  model-search test), nginx, openssl and ssh-keygen (the federated deployment recipe)
#                  (one apt-get update, only when something is missing)
#   .venv/.torch   the CPU build of torch, installed explicitly before anything else
#   .venv/.project this project and its dev extras, in editable mode

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := gcc make libc6-dev binutils gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
                postgresql nginx openssl openssh-client
BENCHES := spine families deploy cortexm compress compile selection federated federated_robust federated_secagg \
           federated_scale match match_shared energy wildfire tinybert
OUT    ?= out/demo

.PHONY: all demo test lint bench bench-cmsis-nn clean cortexm-toolchain

all: test

demo: $(VENV)/.project
	$(VENV)/bin/pocketml demo --out $(OUT)

test: $(VENV)/.project
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(VENV)/.project
	$(PY) -m ruff check pocketml tests

# Every figure in BENCHMARKS.md; slow (tens of minutes). One script: .venv/bin/python bench/NAME.py --help
bench: $(VENV)/.project
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

# pocketml vs Arm's CMSIS-NN in QEMU (BENCHMARKS.md). Both inputs are yours: a checkout of
# ARM-software/CMSIS-NN and a folder of .tflite files (the MLPerf Tiny models from mlcommons/tiny).
bench-cmsis-nn: $(VENV)/.project
	@test -n "$(CMSIS_NN)" && test -n "$(MODELS)" || \
		{ echo "usage: make bench-cmsis-nn CMSIS_NN=path/to/CMSIS-NN MODELS=path/to/tflite-folder"; exit 2; }
	nice $(PY) bench/cmsis_nn.py $(MODELS) --cmsis-nn $(CMSIS_NN)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.debs: | $(VENV)/bin/python
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi
	touch $@

# Just the Debian packages (the Arm cross toolchain and QEMU among them), without the Python side.
cortexm-toolchain: $(VENV)/.debs

$(VENV)/.torch: | $(VENV)/bin/python
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	touch $@

$(VENV)/.project: pyproject.toml $(VENV)/.debs $(VENV)/.torch
	$(PIP) install -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) out build *.egg-info
