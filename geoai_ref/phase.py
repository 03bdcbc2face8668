"""The exercise's three phases, named once, here.

A phase is written three ways by the tools around the kit, and :meth:`Phase.parse` accepts all of
them: ``4a`` (command lines), ``4A`` (the exercise, ``rubric.yaml``, the metrics JSON) and
``phase4a`` (nbgrader's assignment id, the key of every stored result). Its value is the nbgrader
id, so a ``Phase`` is equal to, hashes like and serialises as ``"phase4a"``.
"""

from __future__ import annotations

import argparse
from enum import StrEnum


class Phase(StrEnum):
    """One phase of the exercise: 4A (ResNet-50 transfer), 4B (multi-sensor fusion), 4C (SimpleCNN ablation)."""

    A = "phase4a"
    B = "phase4b"
    C = "phase4c"

    @property
    def label(self) -> str:
        """The exercise's spelling: ``4A``."""
        return self.value.removeprefix("phase").upper()

    @property
    def short(self) -> str:
        """The command-line spelling: ``4a``."""
        return self.value.removeprefix("phase")

    @classmethod
    def parse(cls, text: str) -> Phase:
        """The phase called ``text``: ``4a``, ``4A``, ``phase4a`` or ``Phase4A``.

        Raises:
            ValueError: for any other text (the message lists the spellings).
        """
        key = str(text).strip().lower().removeprefix("phase").strip("_ -")
        for phase in cls:
            if phase.short == key:
                return phase
        raise ValueError(f"unknown phase {text!r}; use 4a, 4b or 4c (or 4A / phase4a)")

    @classmethod
    def parse_many(cls, text: str | None) -> tuple[Phase, ...]:
        """Phases from a command-line value: ``all`` (or None) for every phase, or a comma-separated list.

        Raises:
            ValueError: if a name is not a phase.
        """
        if text is None or str(text).strip().lower() in ("", "all"):
            return tuple(cls)
        return tuple(dict.fromkeys(cls.parse(part) for part in str(text).split(",")))


PHASE_HELP = "4a, 4b, 4c, a comma-separated list, or all (default: %(default)s)"


def phase_argument(text: str) -> tuple[Phase, ...]:
    """argparse ``type=`` for the ``--phase`` option of both command lines (see :data:`PHASE_HELP`)."""
    try:
        return Phase.parse_many(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def one_phase_argument(text: str) -> Phase:
    """argparse ``type=`` for an argument that names exactly one phase."""
    try:
        return Phase.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
