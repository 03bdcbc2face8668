"""Shared paths and helpers for the test-suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.paths import FIXTURES, HIDDEN_DATA, REPO

TINY = FIXTURES / "tiny"
HIDDEN = HIDDEN_DATA
__all__ = ["FIXTURES", "HIDDEN", "REPO", "TINY", "assert_plain_json"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full-e2e", action="store_true",
                     help="also autograde the wrong-answer submissions of every phase (make test-all)")


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_root() -> Path:
    return TINY


def assert_plain_json(value: object, allow_none: bool = False) -> None:
    """Fail on any numpy scalar / array hiding in a to_dict() result (and on None unless allowed)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str
            assert_plain_json(v, allow_none)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v, allow_none)
    elif not (allow_none and value is None):
        assert type(value) in (int, float, str, bool), f"{value!r} is {type(value)}"
