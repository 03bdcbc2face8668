"""Run a phase's probes in one jailed process and judge what came back, in the grader's own process.

A probe (:class:`Probe`) names a rubric check, the student functions it needs and the calls to make (inputs
that reveal nothing: generated arrays and numbers, the hidden scene's rasters, models built from a recipe
(:class:`~autograder.probes.facts.ModelArg`), never an expected answer or a hidden label). All probes of a
phase share ONE process (:func:`run_probes`): the notebook's locked setup cell (the assignment's own text, not
the student's copy), then the student's definition cells (the ``*_code`` solution cells, by grade_id, in
notebook order), then every call (:mod:`autograder.probes.runner`). Only plain data comes back: JSON, arrays
read with ``allow_pickle=False``, and descriptions of Keras models and callbacks (:mod:`autograder.probes.facts`).

Judging replays the answers: the probe's check function is handed a stand-in for each student function that
returns the recorded answer for the same arguments (the n-th answer to the n-th identical call), re-raises the
recorded error (as the built-in exception it is, so ``except ValueError`` works), applies a recorded in-place
change to its array arguments and sets a model argument's state after the call. No object of the student's ever
exists in the grader's process. Tests get the same stand-ins for trusted functions from :func:`local_stand_ins`.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from autograder.authoring.notebooks import PHASES, SETUP_GRADE_ID, build_notebook, setup_source
from autograder.checks.common import CheckFailed
from autograder.grading.limits import Limits, run_limited
from autograder.jail import jail_available, jail_command
from autograder.probes import PROBE_SUFFIX
from autograder.probes.facts import CallbackFacts, ModelArg, ModelFacts, Returned
from autograder.probes.runner import Runner
from autograder.trusted.result import TrustedResult
from geoai_ref.phase import Phase

RUNNER = Path(__file__).resolve().parent / "runner.py"
DEFINITION_SUFFIX = "_code"
LOG_TAIL_CHARS = 1200
#: The largest array a probe's answer may hold; a bigger file is judged as a wrong answer, never loaded.
MAX_ANSWER_BYTES = 64 * 2**20
#: A probe process's limits: TensorFlow's import and a few small models fit well inside.
PROBE_LIMITS = Limits(seconds=300, memory_mb=4096)

#: One call a probe makes: (function name, positional arguments, keyword arguments). An argument is an array, a
#: file (a :class:`~pathlib.Path`, copied into the probe's folder), JSON data, or a list / tuple / dict of these.
Call = tuple[str, tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class Probe:
    """One rubric check judged from a probe: ``calls()`` lists the calls to make (:data:`Call`, or (function name,
    arguments) without keywords), in the order the judge makes them; ``judge`` receives {function name: stand-in}
    and raises :class:`CheckFailed` with the message for the student."""

    check_id: str
    calls: Callable[[], list[tuple]]
    judge: Callable[[dict[str, Callable]], None]

    @property
    def result_id(self) -> str:
        """The id of its :class:`TrustedResult` (what rubric.yaml's ``confirmed_by`` names)."""
        return f"{self.check_id}{PROBE_SUFFIX}"


class ProbeFailed(RuntimeError):
    """The probe process produced nothing to judge (killed, crashed, jail missing); the message says why."""


def normal_call(call: tuple) -> Call:
    """``call`` as (function name, arguments, keyword arguments)."""
    function, args, *rest = call
    return str(function), tuple(args), dict(rest[0]) if rest else {}


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, ModelArg):
        h.update(f"model {value.id}".encode())
    elif isinstance(value, np.ndarray):
        h.update(f"array {value.dtype.str} {value.shape}:".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Path):
        h.update(f"path {value}".encode())
    elif isinstance(value, dict):  # in the dict's own order: a function may depend on it
        h.update(b"dict{")
        for key, item in value.items():
            h.update(json.dumps(key).encode() + b":")
            _feed(h, item)
        h.update(b"}")
    elif isinstance(value, list | tuple):
        h.update(f"{type(value).__name__}[".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    else:
        h.update(json.dumps(value, sort_keys=True, default=repr).encode())
    h.update(b"|")


def digest(args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> str:
    """A key for a call's arguments: arrays by dtype, shape and bytes, files by path, containers item by item,
    everything else by JSON."""
    h = hashlib.sha256()
    _feed(h, tuple(args))
    _feed(h, dict(sorted((kwargs or {}).items())))
    return h.hexdigest()


@functools.cache
def _setup_cell(phase: Phase) -> str:
    """The assignment's locked setup cell (built from the notebook's source once per process).

    Raises:
        ValueError: if the phase's source has no setup cell (its ``# %% include="setup_cell.py"`` line was removed).
    """
    source = setup_source(build_notebook(PHASES[phase].source))
    if source is None:
        raise ValueError(f"{PHASES[phase].source} has no locked setup cell: restore its include of the setup cell")
    return source


def definition_cells(notebook: Path, phase: Phase) -> list[dict]:
    """The probe's cells: the assignment's locked setup cell, then the student's ``*_code`` solution cells.

    Raises:
        ValueError: if the notebook cannot be read (the intake already reported it).
    """
    nb = nbformat.read(notebook, as_version=4)
    cells = [{"id": SETUP_GRADE_ID, "source": _setup_cell(phase)}]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type == "code" and meta.get("solution") and isinstance(gid, str) \
                and gid.endswith(DEFINITION_SUFFIX):
            cells.append({"id": gid, "source": cell.source})
    return cells


class _Stager:
    """Writes a call's arguments into the probe's folder: arrays as .npy (no pickle), files copied, the rest JSON."""

    def __init__(self, box: Path) -> None:
        self.box, self.count = box, 0

    def _name(self, suffix: str) -> str:
        self.count += 1
        return f"in{self.count}{suffix}"

    def __call__(self, value: Any) -> dict:
        if isinstance(value, np.ndarray):
            name = self._name(".npy")
            np.save(self.box / name, value, allow_pickle=False)
            return {"npy": name}
        if isinstance(value, Path):
            name = self._name("".join(value.suffixes[-1:]))
            shutil.copyfile(value, self.box / name)
            return {"path": name}
        if isinstance(value, ModelArg):
            return {"model": value.spec()}
        if isinstance(value, dict):
            return {"dict": [[str(k), self(v)] for k, v in value.items()]}
        if isinstance(value, list | tuple):
            return {type(value).__name__: [self(v) for v in value]}
        return {"json": value}


def _stage(box: Path, cells: list[dict], calls: list[Call]) -> None:
    stage = _Stager(box)
    job_calls = [{"function": function, "args": [stage(a) for a in args],
                  "kwargs": {str(k): stage(v) for k, v in kwargs.items()}} for function, args, kwargs in calls]
    (box / "probe.json").write_text(json.dumps({"cells": cells, "calls": job_calls}))
    shutil.copyfile(RUNNER, box / RUNNER.name)


def _load_array(box: Path, name: object) -> Any:
    """An answer's array, read without pickle from the probe's folder only; a marker if it cannot be."""
    path = box / Path(str(name)).name
    try:
        if path.stat().st_size > MAX_ANSWER_BYTES:
            return Returned(f"array over {MAX_ANSWER_BYTES // 2**20} MiB")
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return Returned("unreadable array")


def _decode(value: Any, box: Path) -> Any:
    """Plain data back into Python and NumPy values (arrays read without pickle; anything else as a marker)."""
    if isinstance(value, list):
        return [_decode(v, box) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return _load_array(box, value["__array__"])
    if isinstance(value.get("__tuple__"), list):
        return tuple(_decode(v, box) for v in value["__tuple__"])
    if isinstance(value.get("__dict__"), dict):
        return {str(k): _decode(v, box) for k, v in value["__dict__"].items()}
    if "__float__" in value:
        try:
            return float(str(value["__float__"]))
        except ValueError:
            return Returned("unreadable number")
    if "__model__" in value:
        return _model_facts(value["__model__"], box)
    if "__callback__" in value:
        try:
            return CallbackFacts.parse(value["__callback__"])
        except (TypeError, ValueError, KeyError):
            return Returned("unreadable callback description")
    return Returned(str(value.get("__object__", "an unknown object")))


def _model_facts(described: Any, box: Path) -> ModelFacts | Returned:
    """A model description read back (its predictions without pickle), or a marker if it is not one."""
    try:
        name = described.get("predictions") if isinstance(described, dict) else None
        predictions = _load_array(box, name["__array__"]) if isinstance(name, dict) else None
        return ModelFacts.parse(described, predictions if isinstance(predictions, np.ndarray) else None)
    except (TypeError, ValueError, KeyError):
        return Returned("unreadable model description")


def _recorded_error(entry: dict) -> Exception:
    """The error to raise for a recorded one: the built-in exception it is (ValueError for a subclass of
    ValueError), so that ``except ValueError`` in a check behaves as it would have; else (or when the built-in
    needs other arguments than a message) an exception named like it."""
    message = str(entry.get("message", ""))
    builtin = getattr(builtins, str(entry.get("builtin", "")), None)
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        try:
            return builtin(message)
        except TypeError:  # e.g. UnicodeDecodeError takes five arguments
            pass
    return type(str(entry.get("raised", "Exception")), (Exception,), {})(message)


@dataclass
class Answers:
    """What the probe process recorded: per call digest, the answers in call order (or the errors), and the cells'
    errors."""

    by_call: dict[str, list[dict]]
    cell_errors: dict[str, str | None]
    box: Path
    failure: str | None = None  # why the calls after the last recorded one have no answer

    def stand_in(self, function: str) -> Callable:
        """A function that answers as the student's did for every probed call (see the module docs); the n-th call
        with the same arguments gets the n-th answer (a function asked twice may answer differently)."""
        asked: dict[str, int] = {}

        def replay(*args: Any, **kwargs: Any) -> Any:
            key = f"{function}:{digest(args, kwargs)}"
            entries, n = self.by_call.get(key, []), asked.get(key, 0)
            asked[key] = n + 1
            if n >= len(entries):
                raise CheckFailed(self.failure or f"{function} was not called by the probe with these inputs")
            entry = entries[n]
            models = entry.get("models")
            for index, described in (models.items() if isinstance(models, dict) else []):
                target = args[int(index)] if str(index).isdigit() and int(index) < len(args) else None
                if isinstance(target, ModelArg):
                    facts = _model_facts(described, self.box)
                    target.facts = facts if isinstance(facts, ModelFacts) else None
            mutated = entry.get("mutated")
            for index, file in (mutated.items() if isinstance(mutated, dict) else []):
                target = args[int(index)] if str(index).isdigit() and int(index) < len(args) else None
                changed = _load_array(self.box, file)
                if isinstance(target, np.ndarray) and isinstance(changed, np.ndarray) \
                        and changed.shape == target.shape:
                    np.copyto(target, changed, casting="unsafe")
            if not entry.get("ok"):
                raise _recorded_error(entry)
            return _decode(entry.get("value"), self.box)

        replay.__name__ = function
        return replay


def _answers(box: Path, calls: list[Call], failure: str | None) -> Answers:
    try:
        report = json.loads((box / "result.json").read_text())
    except (OSError, ValueError) as exc:
        raise ProbeFailed(failure or f"the probe process wrote no result ({exc})") from None
    if not isinstance(report, dict):
        raise ProbeFailed(failure or "the probe process wrote an unreadable result")
    recorded = report.get("calls")
    recorded = recorded if isinstance(recorded, list) else []
    by_call: dict[str, list[dict]] = {}
    for call, entry in zip(calls, recorded, strict=False):
        function, args, kwargs = normal_call(call)
        by_call.setdefault(f"{function}:{digest(args, kwargs)}", []).append(entry if isinstance(entry, dict) else {})
    if failure is None and len(recorded) < len(calls):
        failure = "the probe process ended before it had called every function"
    if failure is not None and isinstance(report.get("current"), int) and report["current"] < len(calls):
        failure = f"{failure} (while calling {calls[report['current']][0]})"
    cells = report.get("cells") if isinstance(report.get("cells"), dict) else {}
    return Answers(by_call, cells, box, failure)


def _run(box: Path, limits: Limits, jailed: bool) -> tuple[str | None, float]:
    """Run the staged probe (in the jail unless ``jailed`` is False); returns why it produced no full result (or
    None), and its peak resident memory in MiB.

    Raises:
        ProbeFailed: if the jail is asked for and cannot run here.
    """
    home = box / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home),
           "KERAS_HOME": str(home / ".keras"), "TMPDIR": str(home), "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": "", "GEOAI_GRADING": "1", "GEOAI_EPOCHS": "1", "OMP_NUM_THREADS": "1",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    cmd = [sys.executable, "-I", RUNNER.name, "probe.json"]
    if jailed:
        reason = jail_available()
        if reason is not None:
            raise ProbeFailed(f"the probe was not run: it needs the jail, and {reason}")
        cmd = jail_command(cmd, workdir=box, env=env)
    run = run_limited(cmd, limits, cwd=box, env=env, log=box / "probe.log")
    if run.killed == "timeout":
        return f"the probe ran past its {limits.seconds:g} s limit and was stopped: a function never returned", \
            run.peak_mb
    if run.killed == "memory":
        return f"the probe used more than {limits.memory_mb} MiB and was stopped", run.peak_mb
    if run.returncode != 0:
        lines = run.output[-LOG_TAIL_CHARS:].strip().splitlines()
        return f"the probe process ended with status {run.returncode} ({lines[-1] if lines else 'no output'})", \
            run.peak_mb
    return None, run.peak_mb


def local_stand_ins(functions: dict[str, Callable], calls: list[tuple], box: Path) -> dict[str, Callable]:
    """Stand-ins for ``functions`` as a probe would hand them to a judge, the functions called in THIS process
    (no jail): the same staging, runner, encoding and decoding as :func:`run_probes`. For trusted functions only
    (tests, the worked solutions); ``box`` is an empty folder that must outlive the stand-ins.
    """
    normal = [normal_call(call) for call in calls]
    _stage(box, [], normal)
    Runner(str(box), dict(functions)).run("probe.json")
    answers = _answers(box, normal, None)
    return {name: answers.stand_in(name) for name in functions}


def run_probes(notebook: Path, phase: Phase, probes: Sequence[Probe], limits: Limits = PROBE_LIMITS,
               jailed: bool = True) -> list[TrustedResult]:
    """Every probe of ``probes`` judged on ``notebook`` (a snapshot's notebook of ``phase``), one process for all,
    in the jail (unless ``jailed`` is False: only where the instructor allowed grading without it).

    Never raises for anything in the submission: each probe becomes a TrustedResult (failed, with the message
    to show the student); a probe that could not run at all is failed with the reason.
    """
    # generated once: the staged inputs and the judged ones agree
    per_probe = [[normal_call(call) for call in probe.calls()] for probe in probes]
    calls = [call for probe_calls in per_probe for call in probe_calls]
    with tempfile.TemporaryDirectory(prefix="geoai_probe_", ignore_cleanup_errors=True) as tmp:
        box = Path(tmp)
        try:
            cells = definition_cells(notebook, phase)
            _stage(box, cells, calls)
            started = time.monotonic()
            failure, peak_mb = _run(box, limits, jailed)
            answers = _answers(box, calls, failure)
            seconds = round(time.monotonic() - started, 1)
        except (ProbeFailed, ValueError, OSError) as exc:
            return [TrustedResult(p.result_id, phase, False, f"{p.check_id} could not be judged: {exc}",
                                  {"probe": "not run"}) for p in probes]
        results = []
        for probe, probe_calls in zip(probes, per_probe, strict=True):
            names = sorted({function for function, _, _ in probe_calls})
            stand_ins = {name: answers.stand_in(name) for name in names}
            evidence = {"probe": "judged in the grader from the answers of a " + ("jailed" if jailed else
                                                                                   "NOT jailed") + " process",
                        "definition_cell_errors": {k: v for k, v in answers.cell_errors.items() if v},
                        # the phase's one probe process (bench/grading.py, bench/probes.py)
                        "process_seconds": seconds, "process_peak_mb": round(peak_mb)}
            try:
                probe.judge(stand_ins)
                results.append(TrustedResult(probe.result_id, phase, True, "passed", evidence))
            except CheckFailed as exc:
                results.append(TrustedResult(probe.result_id, phase, False, str(exc), evidence))
            except Exception as exc:  # noqa: BLE001 - answers of an unexpected kind the check could not handle
                results.append(TrustedResult(probe.result_id, phase, False, f"what your functions returned could "
                                             f"not be checked ({type(exc).__name__}: {exc}): return the types the "
                                             "task asks for", evidence | {"judge_error": repr(exc)}))
        return results
