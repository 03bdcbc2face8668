"""The geoai-ref command line as users run it (in a subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def run(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geoai_ref.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def test_console_scripts_are_installed():
    bindir = Path(sys.executable).parent
    assert (bindir / "geoai-ref").exists() and (bindir / "geoai-grade").exists()


def test_help_explains_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("fixtures", "pipeline", "earthengine"):
        assert command in result.stdout
    assert "Exit codes" in result.stdout
    sub = run("pipeline", "--help")
    assert "bilinear" in sub.stdout and "--data" in sub.stdout


def test_pipeline_on_missing_data_exits_2_with_advice(tmp_path):
    result = run("pipeline", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "geoai-ref fixtures" in result.stderr and "Traceback" not in result.stderr


def test_pipeline_on_tiny_fixture_reports_problems_not_crash(tmp_path):
    """The tiny scene has no sample index: a clear message, exit 2."""
    result = run("pipeline", "--data", str(REPO / "fixtures" / "tiny"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "sample_index.csv not found" in result.stderr


def test_pipeline_demo_prints_outputs_and_checks(tmp_path):
    result = run("pipeline", "--data", "fixtures", "--out", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "X_train_fused.npy" in result.stdout and "data_pipeline_overview.png" in result.stdout
    assert "ok    MODIS_NDVI: aligned" in result.stderr
    assert "FLAG  split keras_validation_split: validation set has no samples of class Agriculture" in result.stderr


def test_earthengine_without_credentials_fails_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "EE_", "CLOUDSDK_"))}
    env["HOME"] = str(tmp_path)
    result = run("earthengine", "--out", str(tmp_path / "ee"), env=env, timeout=60)
    assert result.returncode == 3
    assert "earthengine authenticate" in result.stderr and "fixtures" in result.stderr
    assert not (tmp_path / "ee").exists()


def test_fixtures_check_reports_reproduction_without_the_model(tmp_path):
    result = run("fixtures", "--out", "fixtures", "--check", "--no-model", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fixtures reproduce" in result.stdout


def test_run_without_weights_fails_at_once_with_advice(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "KERAS_HOME": str(tmp_path / "keras")}
    env.pop("GEOAI_RESNET50_WEIGHTS", None)
    result = run("run", "--phase", "4a", "--out", str(tmp_path / "run"), env=env)
    assert result.returncode == 3
    assert "GEOAI_RESNET50_WEIGHTS" in result.stderr and "--allow-random-init" in result.stderr
    assert not (tmp_path / "run" / "models").exists()


def test_run_help_names_the_profiles_and_the_weights_limitation():
    text = " ".join(run("run", "--help").stdout.split())
    assert "--profile {fast,full}" in text and "--allow-random-init" in text and "cannot be downloaded" in text


def test_check_command_lists_failures_and_exits_1(tmp_path):
    result = run("check", "--out", str(tmp_path), "--phase", "4a")
    assert result.returncode == 1
    assert "FAIL  models/week4/phase4a_transfer_model.h5: missing" in result.stdout
    assert "0/5 checks passed" in result.stdout
