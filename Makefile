# callbot: `make demo` runs the lifecycle end to end on the smoke profile; `make test` runs every test.
# Both install what they need into .venv first (torch==2.13.0 first and alone: see ../shared/notes/stack.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export DVC_NO_ANALYTICS := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export BENTOML_DO_NOT_TRACK := true
export TOKENIZERS_PARALLELISM := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo test test-fast lint bench clean review-install review-server browser baresip

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The lifecycle flow end to end on the smoke profile: dvc.yaml's graph (sample -> ingest -> prepare ->
# validate, version -> train/evaluate STT and LLMs -> select -> package: a Bento), one line per stage
# and the final summary. Stages that `dvc repro` (or an earlier demo) already built finish as Cached.
demo: setup
	$(BIN)/python flows/lifecycle.py

test: setup review-install browser baresip
	$(BIN)/python -m pytest -q

# $(call apt-install,TARGET,PACKAGE,PRESENT,FOR,ADVICE): an idempotent install of a test tool. Nothing
# when PRESENT (a shell test) holds; otherwise Debian's PACKAGE through apt-get, as root or with
# password-less sudo. When it cannot, it says so with ADVICE (a variable's name: the text may hold
# commas) and exits 0: the test that needs the tool fails with the same advice, the others still run.
define apt-install
	@if $(3); then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make $(1): no $(2) and no apt-get; $($(5))" >&2; \
	else \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "make $(1): $(2) is missing; run: sudo apt-get install -y $(2)" >&2; exit 0; fi; \
	  echo "make $(1): installing Debian's $(2) (apt-get) for $(4)"; \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	      --no-install-recommends $(2) >/dev/null; } \
	    || echo "make $(1): apt-get install $(2) failed; $($(5))" >&2; \
	fi
endef

# Headless Chromium for tests/data/test_data_docs_offline.py (the HTML reports open without internet):
# nothing when a browser is on PATH or CALLBOT_CHROMIUM is set.
BROWSER_ADVICE := install Chromium, or set CALLBOT_CHROMIUM
browser:
	$(call apt-install,browser,chromium,[ -n "$$CALLBOT_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 \
	  || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1,the offline report test,BROWSER_ADVICE)

# baresip (Debian's SIP client) for tests/phone/test_calls.py: it calls the bot's SIP agent from a
# network namespace and presses 0. Nothing when baresip is on PATH.
BARESIP_ADVICE := install baresip by hand (the SIP test needs it)
baresip:
	$(call apt-install,baresip,baresip,command -v baresip >/dev/null 2>&1,the SIP call test,BARESIP_ADVICE)

# Label Studio (issue 18) in its own venv, .venv-labelstudio: its pins clash with ours. Idempotent:
# a no-op when label-studio is installed at the version in params.yaml (review.server.version).
review-install: setup
	$(BIN)/callbot review server --install-only

# The review server on loopback (review.server.url), until Ctrl-C. Set LABEL_STUDIO_USERNAME and
# LABEL_STUDIO_PASSWORD first: they create the owner account on a fresh review.server.data_dir.
review-server: setup
	$(BIN)/callbot review server

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	for b in benchmarks/*_bench.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data/download data/raw data/prepared reports models/stt models/llm
