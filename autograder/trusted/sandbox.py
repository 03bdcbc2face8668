"""Run submitted Keras models in a sandboxed subprocess and bring back their class probabilities.

A Keras file can run code when it is loaded (Lambda layers; CVE-2025-1550), so the grader never
loads a submitted model in its own process. :func:`predict_in_sandbox` starts ONE subprocess per
call, ``python -I autograder/trusted/sandbox_worker.py job.json`` (see that script for the protocol), with:

- a working folder that is a fresh temporary directory holding ONLY copies of the model files and
  the input ``.npy`` files it is given (never labels); it is deleted afterwards;
- a minimal environment: ``PATH``, ``HOME`` and ``KERAS_HOME`` inside the temporary directory,
  ``TF_CPP_MIN_LOG_LEVEL=3``, ``CUDA_VISIBLE_DEVICES=""`` (CPU only);
- a jail where the machine allows it (:mod:`autograder.jail`, bubblewrap): no network, and nothing of the
  filesystem but its two folders and the Python environment (a copy of the worker script runs from its
  folder); without bubblewrap, the command is prefixed with ``unshare --net --map-root-user`` (no network
  only, :func:`network_isolation`) where that works, and runs unisolated otherwise (:func:`isolation`
  says which, and the re-evaluation's evidence records it);
- a wall-time limit and a memory limit on the resident memory (RSS) of the whole process tree,
  both enforced by the parent (:func:`autograder.grading.limits.run_limited`, a psutil watchdog that kills
  the process group on excess: ``RLIMIT_AS`` cannot be used, TensorFlow reserves far more address
  space than it uses).

Without bubblewrap it is not a filesystem jail: the worker runs as the grader's user. The models are loaded with
``safe_mode=True`` and no custom objects, which is what keeps code from running in the first
place; the sandbox limits the damage of a file that gets past that, and of models that are
simply too big or too slow.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.grading.limits import Limits, run_limited
from autograder.jail import jail_available, jail_command

WORKER = Path(__file__).resolve().parent / "sandbox_worker.py"
NETWORK_ISOLATION = ("unshare", "--net", "--map-root-user")
LOG_TAIL_CHARS = 1500


@dataclass(frozen=True)
class SandboxFailure:
    """Why the sandbox produced no valid predictions for a model.

    ``kind``: "timeout" or "memory" (the whole sandbox was killed), "crash" (the worker died),
    "unloadable" (a model could not be loaded or run), "output" (its predictions are not a finite
    (n, k) matrix), "setup" (the job could not be staged).
    """

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


class SandboxError(RuntimeError):
    """The whole sandbox call failed (every model of it): raised, carrying its :class:`SandboxFailure`."""

    def __init__(self, message: str, kind: str = "crash") -> None:
        super().__init__(message)
        self.failure = SandboxFailure(kind, message)

    @property
    def kind(self) -> str:
        return self.failure.kind


@dataclass
class ModelOutcome:
    """What the sandbox gave back for one model: its predictions per input set, or why there are none."""

    predictions: dict[Hashable, np.ndarray] = field(default_factory=dict)  # input set -> (n, classes) float32
    failure: SandboxFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandbox process: wall seconds for the whole process, MB of resident memory of its tree."""

    seconds: float = 180.0
    memory_mb: int = 6144


def isolation() -> str:
    """How the worker is isolated on this machine, for reports."""
    if jail_available() is None:
        return "jail (bubblewrap: no network, sees only its folder and the Python environment)"
    return "no network (unshare), grader's filesystem" if network_isolation() else "none (no namespaces here)"


@functools.cache
def network_isolation() -> tuple[str, ...]:
    """The command prefix that cuts the worker off the network, or () where the OS does not allow it.

    Probes once per process: ``unshare --net --map-root-user true`` must exit 0 within 10 s.
    """
    exe = shutil.which(NETWORK_ISOLATION[0])
    if exe is None:
        return ()
    try:
        done = subprocess.run([exe, *NETWORK_ISOLATION[1:], "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (exe, *NETWORK_ISOLATION[1:]) if done.returncode == 0 else ()


def stage_job(models: dict[str, Path], inputs: dict[str, dict[Hashable, np.ndarray]],
              box: Path) -> tuple[dict, dict[str, SandboxFailure]]:
    """Copy the model files and write the inputs into the empty folder ``box``; returns (job, refused models).

    Files get neutral names (``m0.h5``, ``m0_s0.npy``); the job maps them back. A model path that
    is missing, not a regular file or a symbolic link is refused (a SandboxFailure, kind "unloadable")
    and not copied.

    Raises:
        ValueError: if ``inputs`` names a model that ``models`` lacks, or an input is not a numeric array.
    """
    unknown = sorted(set(inputs) - set(models))
    if unknown:
        raise ValueError(f"inputs given for unknown model(s) {unknown}; pass their files in `models`")
    for key, sets in inputs.items():
        for set_name, x in sets.items():
            if np.asarray(x).dtype.kind not in "iuf":
                raise ValueError(f"input '{set_name}' of model {key!r} has dtype {np.asarray(x).dtype}; "
                                 "pass numeric arrays")
    job: dict = {"models": {}, "inputs": {}}
    refused: dict[str, SandboxFailure] = {}
    for i, (key, path) in enumerate(models.items()):
        path = Path(path)
        if path.is_symlink() or not path.is_file():
            what = "a symbolic link" if path.is_symlink() else "missing or not a regular file"
            refused[key] = SandboxFailure("unloadable", f"{path.name} is {what}: submit the saved model file itself")
            continue
        name = f"m{i}"
        shutil.copyfile(path, box / f"{name}{path.suffix or '.h5'}")
        job["models"][name] = f"{name}{path.suffix or '.h5'}"
        job["inputs"][name] = {}
        for j, x in enumerate(inputs.get(key, {}).values()):
            np.save(box / f"{name}_s{j}.npy", np.ascontiguousarray(x, dtype=np.float32), allow_pickle=False)
            job["inputs"][name][f"s{j}"] = f"{name}_s{j}.npy"
    (box / "job.json").write_text(json.dumps(job))
    return job, refused


def _run_worker(box: Path, home: Path, log: Path, limits: SandboxLimits) -> int:
    """Run the worker in ``box`` under ``limits``; returns its exit status.

    Raises:
        SandboxError: kind "timeout" or "memory" when the watchdog kills it.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KERAS_HOME": str(home / ".keras"),
        "TMPDIR": str(home),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "KERAS_BACKEND": "tensorflow",
    }
    if jail_available() is None:  # the worker sees its two folders and the Python environment, nothing else
        shutil.copyfile(WORKER, box / WORKER.name)
        cmd = jail_command([sys.executable, "-I", WORKER.name, "job.json"], workdir=box, writable=[home], env=env)
    else:
        cmd = [*network_isolation(), sys.executable, "-I", str(WORKER), "job.json"]
    run = run_limited(cmd, Limits(seconds=limits.seconds, memory_mb=limits.memory_mb), cwd=box, env=env, log=log)
    if run.killed == "timeout":
        raise SandboxError(f"the sandbox ran past its {limits.seconds:g} s limit and was killed: the model(s) take "
                           "too long to load or predict; submit a model of the size the exercise asks for", "timeout")
    if run.killed == "memory":
        raise SandboxError(f"the sandbox used {run.peak_mb:.0f} MB of memory, over its {limits.memory_mb} MB limit, "
                           "and was killed: submit a model of the size the exercise asks for", "memory")
    return run.returncode if run.returncode is not None else -1


def _log_tail(log: Path) -> str:
    try:
        text = log.read_bytes().decode(errors="replace").strip()
    except OSError:
        return ""
    return text[-LOG_TAIL_CHARS:]


def _output_problem(key: str, set_name: Hashable, out: np.ndarray, n: int) -> SandboxFailure | None:
    """Why ``out`` is not a valid (n, classes) probability matrix, or None."""
    if out.ndim != 2 or out.shape[0] != n or out.shape[1] < 1:
        return SandboxFailure("output", f"model {key!r} returned shape {out.shape} for '{set_name}'; expected ({n}, "
                              "classes): end the model with Dense(classes, activation='softmax')")
    if out.dtype.kind != "f" or not np.isfinite(out).all():
        return SandboxFailure("output", f"model {key!r} returned NaN or infinite values for '{set_name}': its "
                              "weights have diverged (NaN loss); retrain with a lower learning rate")
    return None


def predict_in_sandbox(models: dict[str, Path], inputs: dict[str, dict[Hashable, np.ndarray]],
                       limits: SandboxLimits = SandboxLimits()) -> dict[str, ModelOutcome]:
    """Class probabilities (n, k) of every model on each of its input sets, computed in ONE sandboxed subprocess.

    ``models`` maps a key to a model file; ``inputs`` maps a key to its input arrays (n, h, w, bands), each
    passed as float32. Returns, per model key, a :class:`ModelOutcome`: {input key: (n, k) float32 array}, or
    the failure (kind "unloadable", "output" or "crash") of that model alone.

    Raises:
        SandboxError: kind "timeout" or "memory" when the whole sandbox is killed, "crash" when the worker
            fails before it attempts any model, "setup" when the files cannot be staged.
        ValueError: if ``inputs`` names a model missing from ``models``, or an input is not numeric.
    """
    results: dict[str, ModelOutcome] = {}
    with tempfile.TemporaryDirectory(prefix="geoai_sandbox_", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        box, home, log = root / "box", root / "home", root / "worker.log"
        box.mkdir()
        home.mkdir()
        try:
            job, refused = stage_job(models, inputs, box)
        except OSError as exc:
            raise SandboxError(f"could not stage the sandbox ({exc}); check the disk space of {tmp}", "setup") from exc
        results.update({key: ModelOutcome(failure=failure) for key, failure in refused.items()})
        if not job["models"]:
            return results
        code = _run_worker(box, home, log, limits)
        try:
            report = json.loads((box / "result.json").read_text())
            done = report.get("models", {}) if isinstance(report, dict) else {}
        except (OSError, ValueError):
            report, done = {}, {}
        names = {f"m{i}": key for i, key in enumerate(models)}
        if not done and code != 0:
            raise SandboxError(f"the sandbox worker exited with status {code} before evaluating any model:\n"
                               f"{_log_tail(log)}", "crash")
        current = report.get("current") if isinstance(report, dict) else None
        for name, key in names.items():
            if key in results:
                continue
            entry = done.get(name)
            if not isinstance(entry, dict):
                where = "while evaluating this model" if name == current else "before reaching this model"
                results[key] = ModelOutcome(failure=SandboxFailure(
                    "crash", f"the sandbox worker died (exit status {code}) {where}:\n{_log_tail(log)}"))
                continue
            if not entry.get("ok"):
                error, name_ = entry.get("error", "unknown error"), Path(models[key]).name
                if entry.get("stage") == "load":
                    text = (f"{name_} could not be loaded with keras.models.load_model(compile=False, "
                            f"safe_mode=True): {error}. Save the whole model with model.save('....h5'), built "
                            "from Keras layers only (no Lambda or custom layers)")
                else:
                    text = (f"{name_} loaded but failed to predict the grader's patches: {error}. Check that it "
                            "takes (None, 8, 8, bands) inputs and has one output")
                results[key] = ModelOutcome(failure=SandboxFailure("unloadable", text))
                continue
            outcome = ModelOutcome()
            for j, (set_name, x) in enumerate(inputs.get(key, {}).items()):
                file = entry.get("outputs", {}).get(f"s{j}")
                try:
                    out = np.load(box / str(file), allow_pickle=False) if file else None
                except (OSError, ValueError, EOFError):
                    out = None
                problem = (SandboxFailure("output", f"model {key!r} produced no output for '{set_name}'") if out is None
                           else _output_problem(key, set_name, out, int(np.shape(x)[0])))
                if problem is not None:
                    outcome = ModelOutcome(failure=problem)
                    break
                outcome.predictions[set_name] = out
            results[key] = outcome
    return {key: results[key] for key in models}
