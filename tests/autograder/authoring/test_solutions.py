"""Executing a notebook for the worked solutions: a failing, a stderr-writing and a hanging cell each end in a
SolutionRunError that says what happened (never a raw nbclient exception)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import nbformat
import pytest

from autograder.authoring import solutions
from autograder.authoring.solutions import SolutionRunError, build_solutions, execute
from geoai_ref.phase import Phase


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


def test_the_two_longest_solutions_run_at_once_and_the_seconds_come_back_per_phase(tmp_path, monkeypatch):
    started, both_running = [], threading.Barrier(2, timeout=30)

    def run_solution(phase, folder, epochs, data):
        started.append(phase)
        if phase in (Phase.A, Phase.B):
            both_running.wait()  # broken (an error) if 4B and 4A did not run side by side
        return SimpleNamespace(seconds={Phase.A: 1.0, Phase.B: 2.0, Phase.C: 3.0}[phase])

    monkeypatch.setattr(solutions, "run_solution", run_solution)
    seconds = build_solutions(tmp_path, epochs=1)
    assert set(started[:2]) == {Phase.A, Phase.B} and started[2:] == [Phase.C]
    assert list(seconds.items()) == [(Phase.A, 1.0), (Phase.B, 2.0), (Phase.C, 3.0)]


def test_a_failing_solution_is_raised_and_the_waiting_ones_never_start(tmp_path, monkeypatch):
    started = []

    def run_solution(phase, folder, epochs, data):
        started.append(phase)
        raise SolutionRunError(f"{phase}: a cell failed")

    monkeypatch.setattr(solutions, "run_solution", run_solution)
    with pytest.raises(SolutionRunError, match="phase4b: a cell failed"):
        build_solutions(tmp_path, at_once=1)
    assert started == [Phase.B]
