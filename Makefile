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
