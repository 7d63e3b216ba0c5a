# make test: set everything up from nothing (Debian packages, a virtualenv, the
# Python packages, the Cython fast path) and run the whole suite.
# make run: set up and run the main job (the simulator on a dense host).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
PYTEST := $(PY) -m pytest

.PHONY: setup build test run bench clean realstack test-realstack realstack-clean daemon fuzz soak

setup: $(STAMPS)/venv

# libvirt-dev: headers for libvirt-python (its in-process test driver runs the tests)
# qemu-guest-agent: a real qemu-ga (on a UNIX socket) for the GuestQemuAgent collector tests
SYSTEM_PACKAGES := libvirt-dev pkg-config qemu-guest-agent

$(STAMPS)/system: scripts/setup-system.sh Makefile
	sh scripts/setup-system.sh $(SYSTEM_PACKAGES)
	@mkdir -p $(STAMPS) && touch $@

# order-only (after |): the system stamp follows every Makefile edit (it holds the
# package list) and its script only installs what is missing; that must not rerun pip
$(STAMPS)/venv: pyproject.toml setup.py | $(STAMPS)/system
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "cython>=3.0" "numpy>=1.26" setuptools wheel
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'
	@touch $@

# rebuild the extension in place after editing mom/_fastpath
build: setup
	$(PY) setup.py -q build_ext --inplace

# The suite twice: once requiring the compiled fast path (both implementations run
# side by side, with the differential tests), once forced to pure Python (the
# fallback a host without a compiler gets); then the benchmarks once each, untimed,
# so that they cannot rot.
test: build realstack
	MOM_REQUIRE_FASTPATH=1 $(PYTEST) -q -rs
	MOM_PUREPYTHON=1 $(PYTEST) -q --ignore=tests/integration --ignore=tests/differential
	MOM_REQUIRE_FASTPATH=1 $(PYTEST) -q bench --benchmark-disable

# Real QEMU guests under libvirtd for tests/integration (README: "Real guests in the test
# suite"). Idempotent; status 77 means they cannot run here, and those tests then skip
# with the reason. The tests start and stop libvirtd themselves.
realstack:
	bash scripts/realstack/provision.sh || [ $$? -eq 77 ]

test-realstack: build realstack
	$(PYTEST) -q -rs tests/integration

realstack-clean:
	bash scripts/realstack/libvirtd.sh stop
	rm -rf .realstack

# make run: the shipped vdsm policy set (mom-sim's default; add -P NAME for another set, or
# -P DIR), through momd's own code on a simulated clock, manages a
# dense host (scenarios/dense-host.toml) for a minute of wall-clock time, while the
# simulated daemon answers momctl on out/dense-host/momd.sock; summary, data and plots go
# to out/dense-host/ (README: "Simulator")
run: build
	$(VENV)/bin/mom-sim scenarios/dense-host.toml --out out/dense-host --pace 60 --rpc out/dense-host/momd.sock
	@# the SLA host with vdsm's policies and with the SLA set, then both summaries side by side
	$(VENV)/bin/mom-sim -q -P vdsm scenarios/sla-host.toml --out out/sla-host-vdsm
	$(VENV)/bin/mom-sim -q -P sla scenarios/sla-host.toml --out out/sla-host-sla
	$(VENV)/bin/python -m mom.sim.compare out/sla-host-vdsm/summary.json out/sla-host-sla/summary.json vdsm sla
	@# the SLA host with the Lifecycle controller on: vapor guests powered off and started again
	$(VENV)/bin/mom-sim -q -P sla scenarios/sla-lifecycle-host.toml --out out/sla-lifecycle-host
	@echo "momctl actions at the end of the run (out/sla-lifecycle-host/actions.txt):"
	@grep -v '^#' out/sla-lifecycle-host/actions.txt | grep -v ' refused: one power-off per ' | head -30

# make fuzz FUZZ_SECONDS=300: the fuzz targets in tests/fuzz (policy text on both
# implementations, requests on the RPC servers) share that time, random and with
# Hypothesis' example database; `make test` runs them once, short and deterministic
FUZZ_SECONDS ?= 300
fuzz: build
	MOM_FUZZ_SECONDS=$(FUZZ_SECONDS) MOM_REQUIRE_FASTPATH=1 $(PYTEST) -q -rx tests/fuzz

# make soak: a simulated day at 1,000 guests (scenarios/soak-1000.toml, seeded) through
# momd's code, invariants checked every tick, the daemon's memory sampled (README:
# "Soak"); `make test` runs its first hour (tests/soak)
soak: build
	$(PY) -m tests.soak.soak scenarios/soak-1000.toml

bench: build
	$(PYTEST) bench --benchmark-only --benchmark-columns=min,median,mean,rounds -q

clean:
	rm -rf build $(STAMPS) mom/_fastpath/*.c mom/_fastpath/*.so

# make daemon: momd in the foreground on libvirt's test driver (examples/momd.conf);
# query it from another terminal with `.venv/bin/momctl -c examples/momd.conf stats`
daemon: setup
	mkdir -p run
	$(VENV)/bin/momd -c examples/momd.conf
