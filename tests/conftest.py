"""Shared paths and helpers for the test-suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
TINY = FIXTURES / "tiny"
HIDDEN = REPO / "autograder" / "hidden_data"


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_root() -> Path:
    return TINY
