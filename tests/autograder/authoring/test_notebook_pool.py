"""NotebookPool: tasks run side by side, stop starting after a failure, and the real failure is the one raised."""

from __future__ import annotations

import threading

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
