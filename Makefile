# news-archiver: `make test` runs every test, `make crawl` the live crawl, `make demo` its offline twin.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SPIDER ?= vietnamplus

.PHONY: test crawl demo bench bench-extraction system-deps clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# Debian/Ubuntu programs the product and its tests need (installed when root).
system-deps:
	@missing=""; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "Missing system packages:$$missing (install them, e.g. sudo apt-get install$$missing)"; exit 1; fi; \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest

crawl: $(STAMP)
	@$(BIN)/python -m crawler.netcheck https://www.vietnamplus.vn/
	$(BIN)/scrapy crawl $(SPIDER)

demo: $(STAMP)
	$(BIN)/python -m crawler.demo --replay tests/fixtures

# The benchmark harness (bench/README.md); DEVSET=path names the development set of real pages.
bench: bench-extraction

bench-extraction: $(STAMP)
	$(BIN)/python -m bench.extraction $(if $(DEVSET),--devset $(DEVSET))

clean:
	rm -rf $(VENV) build *.egg-info
