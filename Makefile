# The two quick-start commands. Each creates .venv and installs the project when missing.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/crackinspector resources/samples

# The test command checks the code first (ruff, import contracts, mypy), then runs the suite.
test: lint
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
