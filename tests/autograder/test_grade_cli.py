"""geoai-grade: its commands, their help and errors, and the hidden evaluation data it manages."""

import subprocess
import sys

import pytest
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


def test_every_grading_command_explains_itself(capsys):
    from autograder.cli import build_parser

    parser = build_parser()
    for command, words in (("grade", "--workers"), ("report", "rubric store"), ("export", "canvas"),
                           ("feedback", "tracebacks"), ("override", "--history"), ("demo", "--build-epochs")):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([command, "--help"])
        out = capsys.readouterr().out
        assert exit_info.value.code == 0 and words in out, (command, out)


def test_grading_commands_fail_clearly_on_missing_input(tmp_path, capsys):
    from autograder.cli import main

    code = main(["grade", "--submissions", str(tmp_path / "none"), "--out", str(tmp_path / "out"),
                 "--course", str(tmp_path)])
    assert code == 2 and "neither a folder of submissions nor a .zip" in capsys.readouterr().err
    for command in (("report", "--out", str(tmp_path / "r")), ("export", "--out", str(tmp_path / "g.csv")),
                    ("override", "ada", "4a_analysis", "1", "--grader", "ta", "--reason", "r")):
        assert main([*command, "--course", str(tmp_path)]) == 2, command
        assert "grade the class first" in capsys.readouterr().err, command
