# make start: run the server with defaults. make test: install what the tests need, run them all.
SHELL := /bin/bash
.DEFAULT_GOAL := start
NODE_BIN := node_modules/.bin
SOURCES := $(shell find src bench test/support -name '*.ts' 2>/dev/null) tsconfig.json src/client/tsconfig.json
SHARDS_MATRIX ?= 0 1 4

.PHONY: start test test-unit test-integration bench bench-c100k bench-sweep bench-compression bench-stores profile clean deps test-deps

# npm ci when node_modules is missing or older than the lockfile
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# the server, then the browser client (its own tsconfig: DOM types, no Node types) to dist/client/
dist/.built: node_modules/.installed $(SOURCES)
	$(NODE_BIN)/tsc -p tsconfig.json
	$(NODE_BIN)/tsc -p src/client/tsconfig.json
	@touch $@

deps: node_modules/.installed

start: dist/.built
	node dist/src/server.js

test-deps: node_modules/.installed
	bash scripts/install-test-deps.sh

# Unit tests, the bench smoke and the browser tests (they prove the client and the console, whatever SHARDS) run
# once, the browsers against SHARDS=1 and apart from the bench smoke (both load the two cores); the integration
# suite against SHARDS=0, 1 and 4 (every test starts its own server).
test: test-deps dist/.built
	$(NODE_BIN)/vitest run test/unit test/bench
	TEST_SHARDS=1 $(NODE_BIN)/vitest run test/browser
	@for s in $(SHARDS_MATRIX); do echo "== integration suite, SHARDS=$$s =="; TEST_SHARDS=$$s $(NODE_BIN)/vitest run test/integration || exit 1; done

bench: dist/.built
	node dist/bench/run.js

bench-sweep: dist/.built
	node dist/bench/sweep.js

# Wire bytes and CPU per delivery, in-process: identity vs encode-once gzip vs one deflate context per connection
# (docs/compression.md; end to end, with sockets, it is the compression scenario of make bench)
bench-compression: dist/.built
	node dist/bench/compression.js

# Our event log (src/eventlog) against SQLite, LMDB and LevelDB on the same workload: append cost, group
# commit, disk per event, open + recovery, quiet-topic read, retention; BENCH_QUICK=1 for 100,000 events
# (docs/durability.md "Stores measured"; results/eventlog-stores.md)
# better-sqlite3 compiles from source here (about 4 minutes), so only this target installs it, outside node_modules/
.deps/sqlite/node_modules/better-sqlite3/package.json:
	npm install --no-save --no-audit --no-fund --prefix .deps/sqlite better-sqlite3@12.11.1

bench-stores: dist/.built .deps/sqlite/node_modules/better-sqlite3/package.json
	node dist/bench/eventlog-stores.js

profile: dist/.built
	bash bench/profile.sh

clean:
	rm -rf dist .clinic results/profile

# 100,000 subscribers on this machine (and 10,000 beside them), over as many server processes on one
# port as the open-files limit forces, in cluster mode; BENCH_QUICK=1 for 2,000 in a few seconds.
# Too heavy for `make bench`: results/c100k-latest.md, docs/benchmarks.md "100,000 subscribers"
bench-c100k: dist/.built
	node dist/bench/c100k.js
