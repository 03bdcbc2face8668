# The kit's two commands. Both set up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo

.PHONY: demo test lint fixtures bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/geoai-ref pipeline --data fixtures --out $(DEMO_OUT)
	@echo
	@echo "Demo outputs are under $(DEMO_OUT)/ (open $(DEMO_OUT)/figures/data_pipeline_overview.png)"

# pytest exits 5 when it collects no tests: a broken suite, reported as a failure.
test: $(STAMP)
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check geoai_ref autograder tests bench

fixtures: $(STAMP)
	$(BIN)/geoai-ref fixtures --out fixtures
	$(BIN)/geoai-grade hidden-data --out autograder/hidden_data

bench: $(STAMP)
	$(BIN)/python bench/align.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
