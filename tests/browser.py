"""The headless browser of the browser tests: Debian's Chromium, driven by Playwright.

Needs /usr/bin/chromium (`sudo apt-get install -y chromium`, or `make browser`) and the `playwright` Python package
(in the `test` extra; `playwright install` is NOT needed). Without Chromium the tests skip, unless
GEOAI_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def need_browser() -> None:
    """Skip the calling test without Chromium or Playwright (fail under GEOAI_REQUIRE_BROWSER=1)."""
    required = os.environ.get("GEOAI_REQUIRE_BROWSER") == "1"
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium chromium-driver`"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = ("the playwright package is missing: `.venv/bin/pip install -e '.[test]'` "
                       "(no `playwright install` needed)")
    if problem and required:
        pytest.fail(f"GEOAI_REQUIRE_BROWSER=1 but {problem}")
    if problem:
        pytest.skip(problem)


def launch(pw):
    """A headless Chromium from a running ``sync_playwright()``."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
