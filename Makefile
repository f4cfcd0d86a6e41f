# Keygate's two everyday commands are `make run` and `make test`; both do their own set-up on a
# fresh machine (only a Rust toolchain is assumed).

CARGO ?= cargo

.PHONY: run test build lint fmt check mongodb bench microbench fuzz


## run: start Keygate on the embedded store at http://127.0.0.1:8080 (data in ./data)
run:
	$(CARGO) run -p keygate-server --bin keygate -- serve

## build: build the keygate binary the black-box tests start
build:
	$(CARGO) build -p keygate-server --bin keygate

## test: formatting, lints, then every test of the workspace on both stores. Starts its own
## MongoDB-compatible server (SecantusDB, installed into .mongo/) unless MONGODB_URI is set,
## installs Debian's chromium for the /docs browser test when it is absent, and PyJWT (into
## .pytools/) for the JWKS, mail and import tests, and a PostgreSQL from Debian's package
## (installed when absent, run unprivileged in a temporary directory) for the import tests. The tests that time /health while the
## server is attacked (`*_while_attacked`) run last, alone.
test: lint build
	./scripts/with-chromium.sh ./scripts/with-python-tools.sh ./scripts/with-postgres.sh ./scripts/with-mongodb.sh sh -c '\
	  $(CARGO) test --workspace -- --skip while_attacked && \
	  $(CARGO) test -p keygate-tests --test api while_attacked -- --test-threads=1'

## bench: throughput, latency and memory of the release build on this machine: starts it on a
## fresh data directory and drives every path at 1 and 32 connections (docs/performance.md).
## Installs nothing; `./scripts/with-mongodb.sh make bench` measures MongoDB instead.
bench:
	$(CARGO) build --release -p keygate-server --bin keygate
	$(CARGO) build --release -p keygate-bench
	KEYGATE_BIN=target/release/keygate target/release/keygate-bench

## fuzz: Schemathesis, driven by /openapi.json, against the release build on both stores,
## authenticated; fails on any 5xx or any response the document does not allow. Bounded
## (FUZZ_EXAMPLES per operation, FUZZ_SECONDS, FUZZ_ENDING_SECONDS; ~12 min); not in `make test`.
fuzz:
	$(CARGO) build --release -p keygate-server --bin keygate
	./scripts/fuzz.sh

## microbench: Criterion micro-benchmarks of the hot path (token, caches, schema, JSON)
microbench:
	$(CARGO) bench -p keygate-bench --bench hot_path

## lint: rustfmt and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 scripts/check-module-cycles.py crates/* examples/* tests

## fmt: format the code
fmt:
	$(CARGO) fmt --all

## check: type-check everything quickly
check:
	$(CARGO) check --workspace --all-targets

## mongodb: a shell with MONGODB_URI set to a fresh in-memory SecantusDB
mongodb:
	./scripts/with-mongodb.sh $$SHELL
