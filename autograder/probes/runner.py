"""The probe runner: the student's function definitions called on the grader's inputs, answers written as plain data.

Run ONLY by :func:`autograder.probes.run.run_probes`, as a script copied into a throw-away folder, with
``python -I runner.py probe.json``, in the jail (:mod:`autograder.jail`: it cannot see the grader, the reference
or the hidden labels). It imports only the standard library and NumPy; the notebook's locked setup cell, which
runs first, imports the rest. It is public code: it holds no answer, and nothing it writes is trusted beyond
being data (the grader judges it).

Protocol (every name is a plain file name in the working folder)::

    probe.json  {"cells": [{"id": "setup_cell", "source": "..."}, ...],
                 "calls": [{"function": "normalise_per_band", "args": [<arg>, ...], "kwargs": {"seed": <arg>}}, ...]}
    result.json {"cells": {"<id>": null | "<Exception>: <message>"}, "current": <call index> | null,
                 "done": true | false,
                 "calls": [{"ok": true, "value": <plain>, "mutated": {"<arg index>": "<file>.npy"}}
                           | {"ok": false, "raised": "<Exception name>", "builtin": "<built-in base>",
                              "message": "..."}, ...]}

``<arg>`` is ``{"npy": "<file>.npy"}`` (an array), ``{"path": "<file>"}`` (a file, passed as a ``pathlib.Path``),
``{"json": <value>}``, ``{"list": [<arg>, ...]}``, ``{"tuple": [...]}`` or ``{"dict": [["<key>", <arg>], ...]}``
(a dict in that key order). ``builtin`` is the first built-in exception class of the error's type (ValueError
for a subclass of ValueError), so the grader can tell which ``except`` clause it meets.

``<plain>`` is the return value as JSON, arrays as ``{"__array__": "<file>.npy"}`` (saved without pickle),
tuples as ``{"__tuple__": [...]}``, dicts as ``{"__dict__": {...}}`` (string keys only), and anything else as
``{"__object__": "<type name>"}``. ``result.json`` is rewritten after every call, so the calls made before a
crash or a time-out keep their answers. Whatever the student's code prints goes to ``student_output.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import sys

import numpy as np

MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_MESSAGE = 600
_MAGIC = re.compile(r"^\s*[%!]")


def _plain_name(name: object) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"probe file names must be plain file names, got {name!r}")
    return name


def _write(result: dict) -> None:
    with open("result.json.tmp", "w") as f:
        json.dump(result, f)
    os.replace("result.json.tmp", "result.json")


def _message(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ..."


class Encoder:
    """Turns a return value into plain data, saving arrays as ``<prefix>_<n>.npy``."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.count, self.items = prefix, 0, 0

    def array(self, value: np.ndarray) -> dict:
        if value.dtype.kind not in "biuf":
            return {"__object__": f"ndarray of dtype {value.dtype}"}
        name = f"{self.prefix}_{self.count}.npy"
        self.count += 1
        np.save(name, np.ascontiguousarray(value), allow_pickle=False)
        return {"__array__": name}

    def __call__(self, value: object, depth: int = 0) -> object:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            return {"__object__": "too deeply nested or too large"}
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            return value if np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return self(float(value), depth)
        if kind is np.ndarray:
            return self.array(value)
        if kind is tuple:
            return {"__tuple__": [self(v, depth + 1) for v in value]}
        if kind is list:
            return [self(v, depth + 1) for v in value]
        if kind is dict and all(type(k) is str for k in value):
            return {"__dict__": {k: self(v, depth + 1) for k, v in value.items()}}
        return {"__object__": kind.__name__}


def _argument(spec: dict) -> object:
    if "npy" in spec:
        return np.load(_plain_name(spec["npy"]), allow_pickle=False)
    if "path" in spec:
        return pathlib.Path(_plain_name(spec["path"]))
    if "dict" in spec:
        return {str(key): _argument(value) for key, value in spec["dict"]}
    if "list" in spec:
        return [_argument(value) for value in spec["list"]]
    if "tuple" in spec:
        return tuple(_argument(value) for value in spec["tuple"])
    return spec["json"]


def _builtin_base(kind: type) -> str:
    """The first built-in exception class among ``kind``'s bases (read through ``type``, not the class's own
    attributes)."""
    for base in type.__getattribute__(kind, "__mro__"):
        if type.__getattribute__(base, "__module__") == "builtins":
            return type.__getattribute__(base, "__name__")
    return "Exception"


def _definitions(cells: list, namespace: dict, log) -> dict:
    errors: dict = {}
    for cell in cells:
        source = "\n".join("" if _MAGIC.match(line) else line for line in str(cell["source"]).splitlines())
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                exec(compile(source, f"<cell {cell['id']}>", "exec"), namespace)  # noqa: S102 - the jail's purpose
            errors[cell["id"]] = None
        except BaseException as exc:  # noqa: BLE001 - a failing cell is recorded; the others still run
            errors[cell["id"]] = f"{type(exc).__name__}: {_message(exc)}"
    return errors


def main(job_file: str) -> int:
    try:
        with open(_plain_name(job_file)) as f:
            job = json.load(f)
        cells, calls = list(job["cells"]), list(job["calls"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"unusable probe job: {exc}", file=sys.stderr)
        return 2
    result: dict = {"cells": {}, "calls": [], "current": None, "done": False}
    _write(result)
    namespace: dict = {"__name__": "__main__"}
    with open("student_output.log", "w") as log:
        result["cells"] = _definitions(cells, namespace, log)
        for index, call in enumerate(calls):
            result["current"] = index
            _write(result)
            function = namespace.get(str(call.get("function")))
            if not callable(function):
                result["calls"].append({"ok": False, "raised": "NameError",
                                        "message": f"{call.get('function')} is not defined"})
                continue
            args = [_argument(spec) for spec in call.get("args", [])]
            kwargs = {str(k): _argument(spec) for k, spec in call.get("kwargs", {}).items()}
            before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
            try:
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    value = function(*args, **kwargs)
                entry = {"ok": True, "value": Encoder(f"out{index}")(value)}
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit included
                entry = {"ok": False, "raised": type(exc).__name__, "builtin": _builtin_base(type(exc)),
                         "message": _message(exc)}
            mutated = {}
            for i, (arg, copy) in enumerate(zip(args, before, strict=False)):
                if copy is not None and not (arg.shape == copy.shape and np.array_equal(arg, copy, equal_nan=True)):
                    mutated[str(i)] = Encoder(f"mut{index}_{i}").array(np.asarray(arg)).get("__array__")
            entry["mutated"] = mutated
            result["calls"].append(entry)
        result["current"], result["done"] = None, True
        _write(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "probe.json"))
