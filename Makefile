# The two commands: `make demo` runs the demo on the shipped sample week; `make test` runs every
# check CI runs. Both install missing system packages first (scripts/ensure-deps.sh); `make test`
# also installs headless Chromium and a font for the HTML report's browser test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: deps test-deps demo test lint bench fmt

deps:
	@bash scripts/ensure-deps.sh

test-deps:
	@bash scripts/ensure-deps.sh chromium fonts-liberation

demo: deps
	$(CARGO) run --quiet -- demo

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

test: test-deps lint
	$(CARGO) test --all-targets

# Release-mode benchmark run: writes BENCHMARKS.md (takes several minutes).
bench: deps
	$(CARGO) run --release --quiet -- bench --write BENCHMARKS.md

fmt:
	$(CARGO) fmt --all

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
