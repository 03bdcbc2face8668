"""The model sandbox: one subprocess per call, per-model failures as values, limits that really kill.

Models here are tiny (8x8 inputs, a 1x1 convolution, global pooling, a 5-class softmax) so that the
cost of a sandbox call is the worker's TensorFlow import (about 3 s). The timeout and memory tests
need no test hook in the worker: its own TensorFlow import takes seconds and hundreds of MB, so
limits of 0.5 s and 80 MB are crossed by the real worker doing its real job.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from autograder.trusted.sandbox import (
    WORKER,
    SandboxError,
    SandboxLimits,
    network_isolation,
    predict_in_sandbox,
    stage_job,
)


def _tiny_model(path: Path, bands: int, nan: bool = False) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, bands))
    x = keras.layers.Conv2D(4, 1, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(5, activation="softmax")
    model = keras.Model(inp, dense(x))
    if nan:
        kernel, bias = dense.get_weights()
        dense.set_weights([np.full_like(kernel, np.nan), bias])
    model.save(path)
    return path


def _sandbox_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if str(WORKER) in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    corrupt = root / "corrupt.h5"
    corrupt.write_bytes(np.random.default_rng(1).bytes(4096))
    link = root / "link.h5"
    link.symlink_to(root / "six.h5")
    return {"six": _tiny_model(root / "six.h5", 6), "corrupt": corrupt, "nan": _tiny_model(root / "nan.h5", 6, True),
            "eight": _tiny_model(root / "eight.h5", 8), "link": link}


def test_one_call_returns_probabilities_and_per_model_failures(models):
    import keras

    rng = np.random.default_rng(0)
    x6, x6b, x8 = rng.random((10, 8, 8, 6)), rng.random((3, 8, 8, 6)), rng.random((7, 8, 8, 8))
    out = predict_in_sandbox(models, {"six": {"a": x6, "b": x6b}, "corrupt": {"a": x6}, "nan": {"a": x6},
                                      "eight": {"a": x8}, "link": {"a": x6}})
    assert list(out) == list(models)
    # the good models, including one listed AFTER the corrupt one, were evaluated
    six, eight = out["six"].predictions, out["eight"].predictions
    assert out["six"].ok and set(six) == {"a", "b"} and six["a"].shape == (10, 5) and six["b"].shape == (3, 5)
    assert out["eight"].ok and eight["a"].shape == (7, 5)
    np.testing.assert_allclose(six["a"].sum(axis=1), 1.0, rtol=1e-5)
    expected = keras.models.load_model(models["six"], compile=False).predict(x6.astype(np.float32), verbose=0)
    np.testing.assert_allclose(six["a"], expected, rtol=1e-4, atol=1e-6)
    # each failure is a typed outcome of that model alone, saying what happened
    corrupt, nan, link = out["corrupt"].failure, out["nan"].failure, out["link"].failure
    assert corrupt is not None and corrupt.kind == "unloadable" and "corrupt.h5 could not be loaded" in str(corrupt)
    assert nan is not None and nan.kind == "output" and "NaN" in str(nan) and not out["nan"].predictions
    assert link is not None and "symbolic link" in str(link)
    assert not _sandbox_children()


def test_timeout_kills_the_worker(models):
    start = time.monotonic()
    with pytest.raises(SandboxError) as info:
        predict_in_sandbox({"six": models["six"]}, {"six": {"a": np.zeros((2, 8, 8, 6))}},
                           SandboxLimits(seconds=0.5))
    assert info.value.kind == "timeout"
    assert "0.5 s limit" in str(info.value)
    assert time.monotonic() - start < 8  # killed, not waited for
    assert not _sandbox_children()


def test_memory_limit_kills_the_worker(models):
    with pytest.raises(SandboxError) as info:
        predict_in_sandbox({"six": models["six"]}, {"six": {"a": np.zeros((2, 8, 8, 6))}},
                           SandboxLimits(seconds=60, memory_mb=80))
    assert info.value.kind == "memory"
    assert "80 MB limit" in str(info.value)
    assert not _sandbox_children()


def test_staged_folder_holds_only_models_and_inputs(models, tmp_path):
    x = np.arange(2 * 8 * 8 * 6, dtype=np.float64).reshape(2, 8, 8, 6)
    job, refused = stage_job({"six": models["six"], "link": models["link"]}, {"six": {"hidden": x}}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.json", "m0.h5", "m0_s0.npy"]
    assert json.loads((tmp_path / "job.json").read_text()) == job == {"models": {"m0": "m0.h5"},
                                                                      "inputs": {"m0": {"s0": "m0_s0.npy"}}}
    staged = np.load(tmp_path / "m0_s0.npy")
    assert staged.dtype == np.float32 and np.array_equal(staged, x.astype(np.float32))
    assert set(refused) == {"link"}


def test_inputs_for_unknown_model_or_non_numeric_are_refused(models, tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        stage_job({"six": models["six"]}, {"other": {"a": np.zeros((1, 8, 8, 6))}}, tmp_path)
    with pytest.raises(ValueError, match="numeric"):
        stage_job({"six": models["six"]}, {"six": {"a": np.array([object()])}}, tmp_path / "x")


def test_worker_refuses_paths_outside_its_folder(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("sandbox_worker_under_test", WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "job.json").write_text(json.dumps({"models": {"m0": "../secret.h5"}, "inputs": {}}))
    assert worker.main(["worker", "job.json"]) == 2
    assert not (tmp_path / "result.json").exists()


def test_worker_imports_no_grader_code():
    source = WORKER.read_text()
    assert "import autograder" not in source and "geoai_ref" not in source.replace("``geoai_ref``", "")


def test_network_isolation_leaves_only_loopback():
    prefix = network_isolation()
    if not prefix:
        pytest.skip("unshare --net --map-root-user is not permitted here: the sandbox runs without it")
    done = subprocess.run([*prefix, sys.executable, "-I", "-c",
                           "import socket; print([n for _, n in socket.if_nameindex()])"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['lo']"
