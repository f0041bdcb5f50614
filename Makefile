# The two commands: `make dev` runs the worker locally, `make test` runs every test.
.PHONY: dev test build setup bench fuzz keys clean

dev:            ## install what is missing (the AWS CLI in .venv too), generate dev keys, build (skipped when nothing changed), serve on 127.0.0.1:8787; restart it to pick up a code change
	scripts/dev.sh

test:           ## fmt, clippy, native tests, release + e2e wasm builds, tooling tests, end-to-end suite in workerd
	scripts/test.sh

build:          ## the release worker bundle in build/ (no /.test routes)
	scripts/setup.sh
	scripts/build.sh

setup:          ## install the pinned tools only
	scripts/setup.sh --e2e

bench:          ## measure size, cold start, latency and signing cost (prints numbers)
	scripts/setup.sh --e2e
	scripts/build.sh
	scripts/build.sh --e2e
	.venv/bin/python tests/e2e/bench.py

fuzz:           ## run every cargo-fuzz target FUZZ_SECONDS each (default 180; nightly), print runs and runs/s
	scripts/fuzz.sh

keys:           ## print a new OIDC key, kid and session key for GitHub secrets (ENVIRONMENT=production); writes nothing
	@scripts/keys.sh $(if $(ENVIRONMENT),"$(ENVIRONMENT)")

clean:
	rm -rf build target .venv node_modules .wrangler
