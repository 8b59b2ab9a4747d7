# One task file. `make run` and `make test` are the two commands of the README.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: take the first interpreter that really is 3.10.
PY310 := $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
export PYTHONHASHSEED := 0
# TensorFlow is chatty and slow to start with oneDNN notices; keep logs readable.
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
# Python keeps its compiled modules (and pytest its rewritten test modules) in __pycache__.
# Some machines set PYTHONDONTWRITEBYTECODE; then every process and every test worker compiles
# the ~330 modules it imports again: 10 s instead of 5 s to collect the tests, per worker.
unexport PYTHONDONTWRITEBYTECODE

LEXICON := knowledge/lexicon.yml
SOURCES := $(wildcard knowledge/sources/*.md)
# The code that decides what goes into the knowledge base (answer wording does not).
KB_CODE := $(addprefix knowledge/,parser.py build.py schema.py records.py store.py search.py normalized.py lexicon.py sound_alike.py segment.py jieba_tokenizer.py nlp.py)
KB := build/knowledge.db
NLP_STAMP := build/nlp.stamp
MODEL := models/assistant.tar.gz
# Everything the trained model depends on; its hash names the cached model.
# Questions labelled by hotline staff (`python -m bot reviewed export`, outside git): trained
# on when the file exists (bot/cli/retrain.py hashes the inputs the same way).
REVIEWED := $(wildcard var/training/reviewed.yml)
# ... and the decision is fitted on them too (with the development set).
REVIEWED_FIT := $(wildcard var/training/reviewed_fit.yml)
MODEL_INPUTS = config.yml domain.yml $(shell find data -type f -name "*.yml" 2>/dev/null | sort) $(LEXICON) knowledge/nlp.py knowledge/lexicon.py knowledge/segment.py knowledge/jieba_tokenizer.py rasa_plugins/words_classifier.py $(REVIEWED)
MODEL_CACHE := $(HOME)/.cache/zhucan-assistant/models
# The pinned packages a trained model depends on (a new test tool does not retrain it).
MODEL_PACKAGES := ^(rasa|rasa-sdk|tensorflow[a-z_-]*|keras|spacy|jieba|numpy|scipy|scikit-learn)==
# The answer decision is fitted on the development set with the trained model's parses.
DECISION := models/decision.json
DECISION_INPUTS = $(MODEL) $(KB) $(wildcard tests/eval/dev*.yml) tests/eval/__main__.py \
	$(wildcard knowledge/answering/*.py) knowledge/ranking.py knowledge/relevance.py knowledge/topics.yml \
	$(REVIEWED_FIT)

.PHONY: help setup run test check lint eval eval-floor bench soak test-stories validate browser-deps clean FORCE
.PHONY: services run-scaled stop-services test-scaled

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PY310)" || { echo "Python 3.10 not found (Rasa 3.6 needs it); install it, e.g. 'pyenv install 3.10'"; exit 1; }
	test -x $(PY) || $(PY310) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[dev]'
	@# Compile the project and pytest's rewritten test modules now, as pip compiled the packages;
	@# otherwise the first `make check` compiles them again in every worker (about 10 s).
	$(VENV)/bin/pytest --collect-only -q -p no:cacheprovider > /dev/null 2>&1 || true
	touch $@

$(NLP_STAMP): $(VENV)/.installed $(LEXICON) knowledge/nlp.py knowledge/lexicon.py knowledge/segment.py knowledge/jieba_tokenizer.py
	$(PY) -m knowledge nlp
	touch $@

$(KB): $(VENV)/.installed $(NLP_STAMP) $(SOURCES) $(LEXICON) $(KB_CODE) knowledge/easy_read.yml knowledge/easy_read.py \
	knowledge/situations.yml knowledge/situation/mapping.py
	$(PY) -m knowledge build

# The model's inputs by content, not by date: rewritten only when their hash changes, so a file
# edited while a model was training still makes the next `make` train again.
MODEL_HASH := models/inputs.sha
$(MODEL_HASH): FORCE
	@mkdir -p models
	@hash=$$({ cat $(MODEL_INPUTS); grep -iE "$(MODEL_PACKAGES)" requirements.lock; } | sha256sum | cut -c1-16); \
	[ "$$(cat $@ 2>/dev/null)" = "$$hash" ] || echo "$$hash" > $@

# Train only when the inputs changed; a model trained on the same inputs before (here or in an
# earlier clone on this machine) is reused from the cache.
$(MODEL): $(VENV)/.installed $(NLP_STAMP) $(MODEL_HASH)
	@mkdir -p models $(MODEL_CACHE)
	@set -e; hash=$$(cat $(MODEL_HASH)); \
	if [ -f $(MODEL_CACHE)/$$hash.tar.gz ]; then \
		echo "reusing the model trained on these inputs ($$hash)"; cp $(MODEL_CACHE)/$$hash.tar.gz $@; \
		cp $(MODEL_CACHE)/$$hash.json models/training.json 2>/dev/null || rm -f models/training.json; \
	else \
		echo "training the model ($$hash)"; \
		started=$$(date +%s); \
		$(RASA) train --data data $(REVIEWED) --fixed-model-name assistant --out models --num-threads 2; \
		printf '{"seconds": %d, "inputs": "%s", "finished": "%s"}\n' \
			"$$(( $$(date +%s) - started ))" "$$hash" "$$(date -Iseconds)" > models/training.json; \
		cp $@ $(MODEL_CACHE)/$$hash.tar.gz; cp models/training.json $(MODEL_CACHE)/$$hash.json; \
		ls -1t $(MODEL_CACHE)/*.tar.gz | tail -n +6 | sed 's/\.tar\.gz$$//' | xargs -r -I{} rm -f {}.tar.gz {}.json; \
	fi
	@touch $@

# Fitted in about a minute; parses of the development set are cached by model under build/parses.
$(DECISION): $(DECISION_INPUTS)
	$(PY) -m tests.eval fit $(if $(REVIEWED_FIT),--fit-extra $(REVIEWED_FIT))

setup: $(VENV)/.installed $(NLP_STAMP) $(KB) $(MODEL) $(DECISION) ## venv, dependencies, knowledge base, trained model, fitted decision

run: setup ## set up everything and start the whole assistant (Ctrl-C stops it)
	$(PY) -m bot run

browser-deps: ## Chromium and axe-core for the real-browser tests
	bash tests/browser/install.sh

validate: setup ## rasa data validate
	$(RASA) data validate --fail-on-warnings

test-stories: setup ## Rasa test stories, failing on any prediction error
	$(RASA) test core --stories tests/test_stories.yml --fail-on-prediction-errors --out results/stories

eval: setup ## the frozen test set: accuracy by kind, keyword baseline, ablation (fails below 0.95)
	$(PY) -m tests.eval

# `make test` guards against regressions: it fails when the frozen test score falls below what
# was measured when these floors were last set (docs/design.md); `make eval` holds the target.
EVAL_FLOOR := 0.935
EVAL_MARGIN_FLOOR := 0.075
eval-floor: setup ## the evaluation with the regression floors that make test enforces
	$(PY) -m tests.eval --pass-mark $(EVAL_FLOOR) --margin $(EVAL_MARGIN_FLOOR)

bench: setup ## latency, throughput, CPU, memory and start-up of the whole stack (about 7 min)
	$(PY) -m tests.bench

soak: setup ## kill -9 each part under load: restarts, no lost log rows, context kept (about 4 min)
	$(VENV)/bin/pytest -o addopts="-ra" tests/soak -q -s -p no:warnings

# Beyond one machine, on this one (docs/deploy.md): Debian's Redis and PostgreSQL on loopback,
# installed and started by the project's own script, data under var/services; they keep
# running after the assistant stops (`make stop-services`).
SERVICES := bash scripts/local-services.sh
# make test-scaled may take this long at most (CI: make test and make test-scaled under 60 min).
SCALED_TIMEOUT := 1500

services: ## install and start Redis and PostgreSQL on loopback (data under var/services)
	$(SERVICES) install
	$(SERVICES) start

run-scaled: setup services ## Redis, PostgreSQL, 2 Rasa, 2 action servers, 2 gateway workers (Ctrl-C stops the assistant)
	@urls="$$($(SERVICES) urls)" || exit 1; set -a; eval "$$urls"; set +a; \
	RASA_PROCESSES=2 ACTION_SERVERS=2 GATEWAY_WORKERS=2 exec $(PY) -m bot run

stop-services: ## stop the Redis and PostgreSQL of make run-scaled
	$(SERVICES) stop

# The tests start Redis and PostgreSQL of their own (tests/scaled/services.py) on their own
# ports and stop them; SIGINT on time-out, so pytest still stops what it started.
test-scaled: setup ## the scale tests on real Redis and PostgreSQL: failover, 100 people, kill -9 (bounded)
	$(SERVICES) install
	timeout -s INT -k 60 $(SCALED_TIMEOUT) $(VENV)/bin/pytest -o addopts="-ra" tests/scaled -m scaled -q -p no:warnings

lint: $(VENV)/.installed ## ruff
	$(VENV)/bin/ruff check bot actions knowledge rasa_plugins tests

# The quick tier for the inner loop: needs only the venv (the tests build their own knowledge
# base and fit their own decision in tmp). Tests of the live stack, the trained model, the
# browser and the slow fuzzing are deselected by marker; `make test` runs them all.
# One worker more than cores: about a fifth of the suite waits (slow fakes, subprocesses), and
# the extra worker fills that (2 cores: 36 s with 3 workers, 41 s with 2, measured in a row).
CHECK_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
check: $(VENV)/.installed ## ruff and the unit tests: no model, browser or live stack (about 40 s on 2 cores)
	$(VENV)/bin/ruff check bot actions knowledge rasa_plugins tests
	$(VENV)/bin/pytest -m "not e2e and not model and not browser and not slow" -n $(CHECK_WORKERS) --dist worksteal -q -p no:warnings

test: setup browser-deps ## set up and run every test
	$(MAKE) --no-print-directory validate test-stories eval-floor
	$(VENV)/bin/pytest

clean: ## remove what make built (keeps the venv and the model cache)
	rm -rf build models results .pytest_cache
