# The two commands: `make run` and `make test`. Everything else is set-up they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FHIR_PACKAGE := .cache/fhir/hl7.fhir.r4.examples-4.0.1.tgz
VENDOR := countyhealth/web/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install assets lint typecheck pytest migrate fhir-package lock bench clean

$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Front-end packages from the npm registry, pinned by package-lock.json, copied next to the
# pages' own scripts (served from /static; never a CDN: county intranets are offline).
$(VENDOR)/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx.LICENSE
	cp node_modules/echarts/LICENSE $(VENDOR)/echarts.LICENSE
	touch $@

assets: $(VENDOR)/.installed

install: $(BIN)/.installed assets

# The official R4 package: test data (examples) and the source of the derived definitions.
$(FHIR_PACKAGE):
	mkdir -p $(dir $@)
	-cd $(dir $@) && npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null

fhir-package: $(FHIR_PACKAGE)

migrate: install
	$(BIN)/countyhealth migrate

run: install migrate
	$(BIN)/countyhealth seed --residents 20000 --seed 1 --if-empty
	$(BIN)/countyhealth users demo --if-missing
	$(BIN)/countyhealth schedule generate
	$(BIN)/countyhealth demo cases --if-missing
	$(BIN)/countyhealth linkage dedupe
	$(BIN)/countyhealth serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check countyhealth tests bench tools
	$(BIN)/ruff format --check countyhealth tests bench tools

typecheck: install
	$(BIN)/mypy

pytest: install fhir-package
	$(BIN)/pytest -q

test: lint typecheck pytest

# Re-pin the dependencies after changing pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^countyhealth' > requirements.lock

bench: install
	$(BIN)/python bench/read.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
