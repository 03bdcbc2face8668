# The kit's two commands. Both set up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo
GRADING_OUT ?= runs/demo_grading

.PHONY: demo test test-all lint fixtures bench clean release solutions notebooks browser jail grade-ui

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The reference run trains ResNet-50 from random initialisation: ImageNet weights cannot be downloaded
# here (see README). Set DEMO_RUN_ARGS="--weights /path/to/notop.h5" to use local weights instead.
DEMO_RUN_ARGS ?= --allow-random-init

# The grading jail (bubblewrap): installed when missing and possible (root, apt); otherwise grading says what to do.
JAIL_TRY = command -v bwrap >/dev/null || apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1 \
	|| { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends bubblewrap >/dev/null 2>&1; } \
	|| echo "note: bubblewrap (the grading jail) is not installed; grading refuses to run without it unless told \
	--allow-unjailed (make demo DEMO_GRADE_ARGS=--allow-unjailed)"
DEMO_GRADE_ARGS ?=

demo: $(STAMP)
	@$(JAIL_TRY)
	$(BIN)/geoai-grade release
	$(BIN)/geoai-ref pipeline --data fixtures --out $(DEMO_OUT)
	$(BIN)/geoai-ref run --phase all --profile fast --data fixtures --out $(DEMO_OUT) $(DEMO_RUN_ARGS)
	$(BIN)/geoai-grade demo --out $(GRADING_OUT) $(DEMO_GRADE_ARGS)
	@echo
	@echo "Student release (nbgrader generate_assignment + data, audited): release/phase4a, phase4b, phase4c"
	@echo "Reference outputs are under $(DEMO_OUT)/:"
	@echo "  figures/data_pipeline_overview.png      the aligned sensors and the split checks"
	@echo "  reports/phase4a_comparison.md           Phase 4A vs Week 3"
	@echo "  reports/baseline_report.md              Phase 4B methods, results, failures, next steps"
	@echo "  reports/phase4c_report.md               Phase 4C SimpleCNN ablation"
	@echo "  config.yaml                             every parameter of the run"
	@echo "The graded sample class is under $(GRADING_OUT)/:"
	@echo "  index.html                              the class dashboard (open it in a browser)"
	@echo "  <student>/rubric.html                   the rubric report with the evidence for every point"
	@echo "  summary.csv, grades.csv, feedback/      the class table, LMS grades, student feedback"
	@echo "Grade the written answers in formgrader: make grade-ui GRADER=yourname (then geoai-grade report, see README)"

# nbgrader's formgrader on the class `make demo` graded, for a TA (GRADER=name; stop with Ctrl-C). Then
# `geoai-grade report --course $(GRADING_OUT)/course --out $(GRADING_OUT)` shows the TA's points in the reports.
GRADER ?= $(USER)
grade-ui: $(STAMP)
	$(BIN)/geoai-grade grade-ui --course $(GRADING_OUT)/course $(if $(GRADER),--grader $(GRADER))

# pytest exits 5 when it collects no tests: a broken suite, reported as a failure. The tests run in
# TEST_PROCESSES processes (pytest-xdist; most of the suite's time is single-threaded TensorFlow tracing), a module's
# tests in one process (tests/conftest.py); TEST_PROCESSES=0 runs them in this one.
TEST_PROCESSES ?= 2
PYTEST_PROCESSES = $(if $(filter 0,$(TEST_PROCESSES)),,-n $(TEST_PROCESSES) --dist loadfile)
test: $(STAMP)
	@$(JAIL_TRY)
	$(BIN)/python -m pytest $(PYTEST_PROCESSES) --durations=25; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

# Everything in `make test`, plus the slow end-to-end tests (about 40 more minutes on 2 cores): wrong-answer
# submissions of 4B and 4C, the whole sample class against its recorded grades, and a plain `pip install`
# without extras into a fresh virtual environment grading the 4B solution with full points.
test-all: $(STAMP)
	@$(JAIL_TRY)
	$(BIN)/python -m pytest $(PYTEST_PROCESSES) --full-e2e; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-all: pytest collected no tests" >&2; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check geoai_ref autograder tests bench

fixtures: $(STAMP)
	$(BIN)/geoai-ref fixtures --out fixtures
	$(BIN)/geoai-grade hidden-data --out autograder/hidden_data

bench: $(STAMP)
	$(BIN)/python bench/align.py
	$(BIN)/python bench/reference.py
	$(BIN)/python bench/grading.py --phase 4a
	$(BIN)/python bench/solutions.py

# The student release (nbgrader), the worked solutions (executed, full budget) and the notebooks from their sources.
release: $(STAMP)
	$(BIN)/geoai-grade release

solutions: $(STAMP)
	$(BIN)/geoai-grade solutions

notebooks: $(STAMP)
	$(BIN)/geoai-grade notebooks

# The headless browser of the dashboard test (Debian's Chromium; .ci/run installs it too).
browser:
	test -x /usr/bin/chromium || apt-get install -y --no-install-recommends chromium

# The jail of the model sandbox (bubblewrap; see autograder/jail.py).
jail:
	command -v bwrap >/dev/null || apt-get install -y --no-install-recommends bubblewrap

clean:
	rm -rf $(VENV) runs release .pytest_cache .hypothesis
