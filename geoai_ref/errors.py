"""The kit's error types: each carries the exit code a command line ends with when it reaches the user.

Libraries raise these with a message that says what to do; the two command lines (``geoai-ref`` and
``geoai-grade``) turn them into that message on stderr and ``exit_code``, at their boundary only.
Anything else that reaches a command line is a bug of the kit, reported as such (exit 70).

==========  =====================================================================
exit code   meaning
==========  =====================================================================
0           success
1           a check found problems (:class:`ProblemsFound`)
2           bad usage, or input that is missing or unreadable (:class:`UsageError`, :class:`MissingInput`)
3           an outside resource is unavailable (:class:`Unavailable`)
4           an outside tool failed, e.g. nbgrader (:class:`ToolFailed`)
70          a bug of the kit (any other exception): please report it with the traceback
130         interrupted (Ctrl-C or SIGTERM)
==========  =====================================================================
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

EXIT_OK = 0
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class KitError(Exception):
    """Base of every error a user can act on; ``exit_code`` is the command line's exit status for it."""

    exit_code = 1


class ProblemsFound(KitError):
    """A check ran and found problems (a leak in a release, a failing solution, a bad data set)."""

    exit_code = 1


class UsageError(KitError, ValueError):
    """Bad usage, or input that is missing or unreadable: the message names it and says what to pass instead."""

    exit_code = 2


class MissingInput(KitError, FileNotFoundError):
    """A file or folder the user named (or the kit's own generated data) does not exist; the message says how to
    make it. A FileNotFoundError, so code that catches those keeps working."""

    exit_code = 2


class Unavailable(KitError, RuntimeError):
    """An outside resource is unavailable (Earth Engine credentials, ImageNet weights, a browser)."""

    exit_code = 3


class ToolFailed(KitError, RuntimeError):
    """An outside tool the kit drives (nbgrader, a Jupyter kernel) failed; the message holds the end of its log."""

    exit_code = 4


def run_command(prog: str, work: Callable[[], int]) -> int:
    """Run a command line's ``work`` and turn what it raises into an exit status (the only place that does).

    A :class:`KitError` prints ``prog: message`` on stderr and returns its ``exit_code``; any other exception
    is a bug of the kit: its traceback and a request to report it go to stderr, and the status is 70.
    KeyboardInterrupt passes through (each command line stops its own work first).
    """
    try:
        return work()
    except KitError as exc:
        print(f"{prog}: {str(exc).strip(chr(39))}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the boundary: a bug must still end with a clear status
        traceback.print_exc()
        print(f"{prog}: internal error ({type(exc).__name__}: {exc}). This is a bug of the kit, not of your input: "
              "please report it with the traceback above.", file=sys.stderr, flush=True)
        return EXIT_INTERNAL
