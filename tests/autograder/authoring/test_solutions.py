"""Executing a notebook for the worked solutions: a failing, a stderr-writing and a hanging cell each end in a
SolutionRunError that says what happened (never a raw nbclient exception)."""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring.solutions import SolutionRunError, execute


def _notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


@pytest.mark.parametrize("source, words", [
    ("raise ValueError('boom')", "a cell failed"),
    ("import sys; print('noise', file=sys.stderr)", "wrote to stderr"),
    ("import time; time.sleep(30)", "ran past 3 s"),
])
def test_a_bad_cell_is_a_solution_run_error(tmp_path, source, words):
    with pytest.raises(SolutionRunError, match=words):
        execute(_notebook("x = 1", source), tmp_path, timeout=3)


def test_a_clean_notebook_runs_in_its_folder(tmp_path):
    done = execute(_notebook("open('here.txt', 'w').write('ok')"), tmp_path, timeout=60)
    assert (tmp_path / "here.txt").read_text() == "ok" and done.seconds > 0


def test_the_solution_namespace_leaves_keras_models_of_this_process_alone():
    import keras

    from autograder.authoring.solutions import solution_namespace

    before = {name: getattr(keras.Model, name) for name in ("fit", "evaluate", "predict")}
    namespace = solution_namespace("phase4c")
    assert "SEED" in namespace and callable(namespace["output_path"])  # the setup cell ran
    assert {name: getattr(keras.Model, name) for name in before} == before
