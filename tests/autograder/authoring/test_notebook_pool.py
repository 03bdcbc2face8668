"""NotebookPool: tasks run side by side, stop starting after a failure, and the real failure is the one raised."""

from __future__ import annotations

import contextlib
import threading
import time

import nbformat
import psutil
import pytest

from autograder.authoring.notebook_pool import NotebookPool, NotStarted
from autograder.authoring.solutions import execute


def test_two_tasks_run_side_by_side_and_return_their_results():
    both_running = threading.Barrier(2, timeout=30)

    def task(value):
        both_running.wait()  # broken (an error) if the two did not run at once
        return value * 2

    with NotebookPool(2) as pool:
        futures = [pool.submit(task, 1), pool.submit(task, 2)]
    assert [f.result() for f in futures] == [2, 4]


def test_after_a_failure_the_waiting_tasks_never_start_and_the_failure_is_raised():
    ran = []

    def fail():
        ran.append("fail")
        raise ValueError("the first task failed")

    with pytest.raises(ValueError, match="the first task failed"), NotebookPool(1) as pool:
        before = pool.submit(ran.append, "before")
        pool.submit(fail)  # nobody asks for its result: leaving the block raises its failure
    assert ran == ["before", "fail"] and before.result() is None

    ran.clear()
    with pytest.raises(ValueError, match="the first task failed"), NotebookPool(1) as pool:
        pool.submit(fail)
        skipped = pool.submit(ran.append, "skipped")
    assert ran == ["fail"] and isinstance(skipped.exception(), NotStarted)


def test_a_block_stopped_by_a_task_that_never_started_raises_the_real_failure():
    def fail():
        raise ValueError("the real failure")

    with pytest.raises(ValueError, match="the real failure"), NotebookPool(1) as pool:
        pool.submit(fail)
        skipped = pool.submit(int, "1")
        skipped.result()  # raises NotStarted in the block


def _sleeping_notebook() -> nbformat.NotebookNode:
    """A notebook whose kernel writes its pid to kernel.pid, then sleeps ten minutes."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)")])


def _wait_for(path, seconds=120):
    for _ in range(seconds * 5):
        if path.exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} never appeared: the kernel did not start")


def _assert_gone(pid_file):
    kernel = int(pid_file.read_text())
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(kernel).wait(timeout=30)
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE


def test_an_interrupted_block_stops_the_running_notebook_and_its_kernel(tmp_path):
    """Ctrl-C while a notebook runs: the pool cancels its execution (nbclient shuts the kernel down) instead of
    waiting the ten minutes its cell would take."""
    with pytest.raises(KeyboardInterrupt), NotebookPool(1) as pool:
        running = pool.submit(execute, _sleeping_notebook(), tmp_path)
        _wait_for(tmp_path / "kernel.pid")
        raise KeyboardInterrupt
    assert running.exception() is not None  # cancelled: nbclient reports it as cancelled or as a dead kernel
    _assert_gone(tmp_path / "kernel.pid")


def test_a_failure_stops_the_notebook_beside_it_and_is_the_error_raised(tmp_path):
    def fail_once_the_kernel_runs():
        _wait_for(tmp_path / "kernel.pid")
        raise ValueError("the cause")

    with pytest.raises(ValueError, match="the cause"), NotebookPool(2) as pool:
        stopped = pool.submit(execute, _sleeping_notebook(), tmp_path)  # submitted first, fails second
        pool.submit(fail_once_the_kernel_runs)
    assert stopped.exception() is not None
    _assert_gone(tmp_path / "kernel.pid")
