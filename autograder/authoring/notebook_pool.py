"""A few notebooks at a time, on threads, stopping at the first failure.

Executing a notebook is mostly waiting for its kernel (a process of its own), so threads are enough; one notebook at
a time leaves a third of 2 cores idle. :class:`NotebookPool` runs the worked solutions (:mod:`.solutions`) and the
sample class's builds (:mod:`autograder.demo.sample_class`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any


class NotStarted(RuntimeError):
    """What a task's future holds when an earlier task failed before it started (it never ran)."""


class NotebookPool:
    """A thread pool whose tasks stop starting once one of them raised; use it as a context manager.

    Leaving the block waits for the tasks that run, then raises the first failure (in the order the tasks were
    submitted) if the block itself raised nothing but a :class:`NotStarted`, so the error shown is the real one.
    """

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max(1, workers))
        self._failed = threading.Event()
        self._futures: list[Future] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on the pool, unless a task has failed before it starts (then: :class:`NotStarted`)."""
        future = self._pool.submit(self._run, fn, *args)
        self._futures.append(future)
        return future

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._failed.is_set():
            raise NotStarted(f"{getattr(fn, '__name__', fn)} was not started: an earlier task failed")
        try:
            return fn(*args)
        except BaseException:
            self._failed.set()
            raise

    def __enter__(self) -> NotebookPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc is not None:
            self._failed.set()
        self._pool.shutdown(wait=True, cancel_futures=exc is not None)
        if exc is not None and not isinstance(exc, NotStarted):
            return False
        for future in self._futures:
            if not future.cancelled():
                failure = future.exception()
                if failure is not None and not isinstance(failure, NotStarted):
                    raise failure
        return False
