"""A few notebooks at a time, on threads, stopping at the first failure or interruption.

Executing a notebook is mostly waiting for its kernel (a process of its own), so threads are enough; one notebook at
a time leaves a third of 2 cores idle. :class:`NotebookPool` runs the worked solutions (:mod:`.solutions`) and the
sample class's builds (:mod:`autograder.demo.sample_class`).

A kernel runs in a session of its own, so Ctrl-C reaches only this process, whose main thread waits for the pool.
The pool then stops the notebooks itself: nbclient executes them on the asyncio loop of their thread (jupyter_core's
``ensure_event_loop``), and cancelling that loop's tasks ends the execution and shuts the kernel down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from jupyter_core.utils import ensure_event_loop


class NotStarted(RuntimeError):
    """What a task's future holds when an earlier task failed before it started (it never ran)."""


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel nbclient's execution on ``loop`` (its clean-up then shuts the kernel down), or every task of the loop
    if none is nbclient's ``async_execute``."""
    tasks = asyncio.all_tasks(loop)
    executions = [t for t in tasks if getattr(t.get_coro(), "__name__", "") == "async_execute"]
    for task in executions or tasks:
        task.cancel()


class NotebookPool:
    """A thread pool that stops at the first failure; use it as a context manager.

    Once a task raised, or the block raised (Ctrl-C included), no task starts any more and the notebooks running are
    stopped (their kernels shut down). Leaving the block waits for the threads, then raises the task failure that
    happened first (the cause), unless the block raised something of its own (Ctrl-C, an error of the caller).
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, workers))
        self._failed = threading.Event()
        self._lock = threading.Lock()
        self._loops: set[asyncio.AbstractEventLoop] = set()
        self._failures: list[BaseException] = []  # as they happened: the first is the cause, later ones were stopped

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the pool, unless a task has failed before it starts (then: :class:`NotStarted`)."""
        return self._pool.submit(self._run, fn, *args)

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._failed.is_set():
            raise NotStarted(f"{getattr(fn, '__name__', fn)} was not started: an earlier task failed")
        loop = ensure_event_loop()  # the loop nbclient runs this thread's notebooks on
        with self._lock:
            self._loops.add(loop)
        try:
            return fn(*args)
        except BaseException as failure:
            with self._lock:
                self._loops.discard(loop)
                self._failures.append(failure)
            self.stop()
            raise
        finally:
            with self._lock:
                self._loops.discard(loop)

    def stop(self) -> None:
        """Start no more tasks and cancel the notebooks running (nbclient shuts their kernels down)."""
        self._failed.set()
        with self._lock:
            loops = list(self._loops)
        for loop in loops:
            try:
                loop.call_soon_threadsafe(_cancel_tasks, loop)
            except RuntimeError:  # the loop closed meanwhile: nothing runs on it
                pass

    def __enter__(self) -> NotebookPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        try:
            if exc is not None:
                self.stop()
            self._pool.shutdown(wait=True, cancel_futures=exc is not None)
        except BaseException:  # interrupted while waiting (Ctrl-C): stop what runs, then go
            self.stop()
            self._pool.shutdown(wait=True, cancel_futures=True)
            raise
        with self._lock:
            failures = list(self._failures)
        if failures and (exc is None or isinstance(exc, NotStarted) or any(exc is f for f in failures)):
            raise failures[0]  # the cause: the tasks stopped after it failed with errors of their own
        return False
