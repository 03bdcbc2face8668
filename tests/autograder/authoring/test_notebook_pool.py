"""NotebookPool: tasks run side by side, stop starting after a failure, and the real failure is the one raised."""

from __future__ import annotations

import contextlib
import threading

import nbformat
import pytest

from autograder.authoring.notebook_pool import NotebookPool, NotStarted


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


def test_an_interrupted_block_stops_the_running_notebook_and_its_kernel(tmp_path):
    """Ctrl-C while a notebook runs: the pool cancels its execution (nbclient shuts the kernel down) instead of
    waiting the ten minutes its cell would take."""
    import time

    import psutil

    from autograder.authoring.solutions import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)")])
    with pytest.raises(KeyboardInterrupt), NotebookPool(1) as pool:
        running = pool.submit(execute, nb, tmp_path)
        while not (tmp_path / "kernel.pid").exists() and not running.done():
            time.sleep(0.2)
        raise KeyboardInterrupt
    assert running.exception() is not None  # cancelled: nbclient reports it as cancelled or as a dead kernel
    kernel = int((tmp_path / "kernel.pid").read_text())
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(kernel).wait(timeout=30)
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
