"""geoai-grade: the hidden evaluation data it manages."""

import subprocess
import sys

from conftest import HIDDEN, REPO


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout)


def test_help():
    result = run("--help")
    assert result.returncode == 0 and "hidden-data" in result.stdout


def test_hidden_data_reproduces():
    result = run("hidden-data", "--out", str(HIDDEN), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hidden data reproduce" in result.stdout


def test_check_of_missing_folder_exits_2(tmp_path):
    result = run("hidden-data", "--out", str(tmp_path / "none"), "--check")
    assert result.returncode == 2 and "manifest.json not found" in result.stderr
