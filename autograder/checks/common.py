"""Helpers shared by the hidden checks: calling student code (or a probe's stand-in for it), failing clearly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A hidden check failed; the message is shown to the student in the rubric report."""


def expect(condition: bool, message: str) -> None:
    """Raise CheckFailed(message) unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def call(fn: Callable[..., Any], *args: Any, what: str | None = None, **kwargs: Any) -> Any:
    """Call student function ``fn``; an exception becomes a CheckFailed that names the call.

    Raises:
        CheckFailed: if ``fn`` is not callable, is not implemented yet, or raises.
    """
    name = what or getattr(fn, "__name__", "your function")
    if not callable(fn):
        raise CheckFailed(f"{name} is not a function: run the cell that defines it")
    try:
        return fn(*args, **kwargs)
    except CheckFailed:  # a probe's stand-in saying why there is no answer (the probe was stopped, ...)
        raise
    except NotImplementedError:
        raise CheckFailed(f"{name} is not implemented yet: replace `raise NotImplementedError()` "
                          "with your code") from None
    except Exception as exc:  # noqa: BLE001 - any student error becomes a readable failure
        raise CheckFailed(f"{name} raised {type(exc).__name__}: {exc}") from None


def fail_on(report: object) -> None:
    """Raise CheckFailed listing every failed entry of a :class:`geoai_ref.deliverables.DeliverablesReport`."""
    failures = getattr(report, "failures", [])
    expect(not failures, "; ".join(f"{c.path}: {c.message}" for c in failures))


def as_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array, or CheckFailed saying what came back instead."""
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001
        raise CheckFailed(f"{name} returned {type(value).__name__}, not an array ({exc})") from None
