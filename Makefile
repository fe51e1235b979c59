# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# Local runs use the development key; production must set HAZARD_SECRET_KEY (and HAZARD_ENV).
export HAZARD_ENV ?= development

.PHONY: run serve test bench lint migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

## run: install, create or upgrade the SQLite database, load the demo data, serve on :5000
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) run --host 127.0.0.1 --port 5000

## serve: the same with gunicorn (several workers), as in production
serve: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed
	$(BIN)/gunicorn --workers 2 --bind 127.0.0.1:5000 wsgi:app

## test: the whole suite
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest

## bench: every benchmark table of the README's Benchmarks section, one after another (needs Redis,
## and PostgreSQL at BENCH_POSTGRES; about 20 minutes on 2 cores)
BENCH_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/test
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/derivatives.py --clock cpu
	$(BIN)/python bench/queries.py --postgres $(BENCH_POSTGRES)
	$(BIN)/python bench/upload_rss.py
	$(BIN)/python bench/duplicates_lookup.py --reports 1000000 --postgres $(BENCH_POSTGRES)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

## migrate: write a new migration after changing models (MESSAGE="...")
migrate: $(VENV)/.dev-installed
	$(FLASK) db migrate -m "$(MESSAGE)"

clean:
	rm -rf $(VENV) .pytest_cache
