# news-archiver: `make test` runs every test, `make crawl` the live crawl, `make demo` its offline twin.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pywb in a virtualenv of its own: it pins redis<3, scrapy-redis needs redis>=4.2 (requirements-pywb.in).
PYWB_VENV  := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed
SPIDER ?= vietnamplus

.PHONY: test test-fast crawl demo browse bench bench-extraction bench-memory bench-crawl system-deps clean lock audit

# Exactly the versions of requirements.lock (hash-checked, pip itself included), then the project
# without its dependencies; pip check catches a lock that lags behind pyproject.toml. --no-deps: the
# lock is whole, so pip resolves nothing (resolving, the venv's first pip took "lxml[html_clean]>=4.4.2"
# from justext as an unpinned requirement once PyPI had a newer lxml, and refused the install).
$(STAMP): pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "requirements.lock does not match pyproject.toml: run make lock"; exit 1; }
	@touch $@

$(PYWB_STAMP): requirements-pywb.lock
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/pip install --quiet --require-hashes --no-deps -r requirements-pywb.lock
	@$(PYWB_VENV)/bin/pip check >/dev/null || { $(PYWB_VENV)/bin/pip check; echo "requirements-pywb.lock is not whole: run make lock"; exit 1; }
	@touch $@

# requirements.lock: every dependency of '.[test]' pinned with hashes, for CPython $(LOCK_PYTHON) on Linux
# (what make test and a server install); requirements-pywb.lock the same for requirements-pywb.in.
# Keeps existing pins; UPGRADE=1 takes the newest versions.
# uv comes from PyPI into a throw-away virtualenv.
UV_VERSION  ?= 0.13.9
LOCK_PYTHON ?= 3.11
lock:
	@tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && "$$tools/bin/pip" install --quiet uv==$(UV_VERSION) && \
	"$$tools/bin/uv" pip compile pyproject.toml --extra test --generate-hashes --python-version $(LOCK_PYTHON) \
	  $(if $(UPGRADE),--upgrade) --custom-compile-command 'make lock' --quiet -o requirements.lock && \
	"$$tools/bin/uv" pip compile requirements-pywb.in --generate-hashes --python-version $(LOCK_PYTHON) \
	  $(if $(UPGRADE),--upgrade) --custom-compile-command 'make lock' --quiet -o requirements-pywb.lock

# Known vulnerabilities of the pins in requirements.lock (PyPI's advisories; needs the network, so not part
# of make test). pip-audit comes from PyPI into a throw-away virtualenv; the lock is read, not installed.
PIP_AUDIT_VERSION ?= 2.10.1
audit:
	@tools=$$(mktemp -d) && trap 'rm -rf "$$tools"' EXIT && \
	$(PYTHON) -m venv "$$tools" && "$$tools/bin/pip" install --quiet pip-audit==$(PIP_AUDIT_VERSION) && \
	for lock in requirements.lock requirements-pywb.lock; do \
	  "$$tools/bin/pip-audit" --requirement $$lock --disable-pip --vulnerability-service pypi --strict --progress-spinner off || exit 1; \
	done

# Debian/Ubuntu programs the product and its tests need (installed when root): nginx serves the
# incremental-crawl tests' site on loopback (ETag, Last-Modified, 304); redis-server is the shared
# crawl of the distributed tests (docs/distributed.md); chromium renders scrapy browse's pages in its test.
system-deps:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Missing system packages:$$missing (install them, e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

test: system-deps $(STAMP) $(PYWB_STAMP)
	$(BIN)/python -m pytest

# Every test but the crawls (scrapy subprocesses, the demo, nginx, moto, Scrapyd: marked crawl), in seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not crawl"

crawl: $(STAMP)
	$(BIN)/scrapy crawl $(SPIDER)

demo: $(STAMP)
	$(BIN)/python -m crawler.demo --replay tests/fixtures

# The archive (ARCHIVE_URI, default ./archive) in a browser on 127.0.0.1; PORT=8640 by default.
browse: $(STAMP) $(PYWB_STAMP)
	$(BIN)/scrapy browse $(if $(PORT),-p $(PORT))

# The benchmark harness (bench/README.md); DEVSET=path names the development set of real pages,
# ARTICLES="1000 10000" the crawl bench's site sizes, BASELINE=<git ref> a revision measured alongside.
bench: bench-extraction bench-memory bench-crawl

bench-extraction: $(STAMP)
	$(BIN)/python -m bench.extraction $(if $(DEVSET),--devset $(DEVSET))

bench-memory: $(STAMP)
	$(BIN)/python -m bench.memory

bench-crawl: system-deps $(STAMP)
	@command -v wget >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wget; \
	  else echo "Missing system package: wget (install it, e.g. sudo apt-get install wget)"; exit 1; fi; }
	$(BIN)/python -m bench.crawl $(if $(ARTICLES),--articles $(ARTICLES)) $(if $(BASELINE),--baseline $(BASELINE)) $(if $(REPEAT),--repeat $(REPEAT))

clean:
	rm -rf $(VENV) $(PYWB_VENV) build *.egg-info
