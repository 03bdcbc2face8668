"""The probe runner: the student's function definitions called on the grader's inputs, answers written as plain data.

Run by :func:`autograder.probes.run.run_probes`, as a script copied into a throw-away folder, with
``python -I runner.py probe.json``, in the jail (:mod:`autograder.jail`: it cannot see the grader, the reference
or the hidden labels). It imports only the standard library and NumPy (Keras when a call needs a model); the
notebook's locked setup cell, which runs first, imports the rest. It is public code: it holds no answer, and
nothing it writes is trusted beyond being data (the grader judges it). Tests run the same code in-process on
trusted functions (:func:`autograder.probes.run.local_stand_ins`).

Protocol (every name is a plain file name in the probe's folder)::

    probe.json  {"cells": [{"id": "setup_cell", "source": "..."}, ...],
                 "calls": [{"function": "normalise_per_band", "args": [<arg>, ...], "kwargs": {"seed": <arg>}}, ...]}
    result.json {"cells": {"<id>": null | "<Exception>: <message>"}, "current": <call index> | null,
                 "done": true | false,
                 "calls": [{"ok": true, "value": <plain>, "mutated": {"<arg index>": "<file>.npy"},
                            "models": {"<arg index>": <model>}}
                           | {"ok": false, "raised": "<Exception name>", "builtin": "<built-in base>",
                              "message": "...", "mutated": {...}, "models": {...}}, ...]}

``<arg>`` is ``{"npy": "<file>.npy"}`` (an array), ``{"path": "<file>"}`` (a file, passed as a ``pathlib.Path``),
``{"model": {"id": ..., "build": "resnet50" | "layers", "n_layers": N, "trainable": [...] | null}}`` (a Keras
model built here, the same object for every argument with that id), ``{"json": <value>}``,
``{"list": [<arg>, ...]}``, ``{"tuple": [...]}`` or ``{"dict": [["<key>", <arg>], ...]}`` (a dict in that key
order). ``builtin`` is the first built-in exception class of the error's type (ValueError for a subclass of
ValueError), so the grader can tell which ``except`` clause it meets. ``models`` describes each model argument
after the call (a student function may change it, e.g. freeze layers).

``<plain>`` is the return value as JSON, arrays as ``{"__array__": "<file>.npy"}`` (saved without pickle),
tuples as ``{"__tuple__": [...]}``, dicts as ``{"__dict__": {...}}`` (string keys only), a Keras model as
``{"__model__": <model>}``, a Keras callback as ``{"__callback__": <callback>}``, and anything else as
``{"__object__": "<type name>"}``. ``<model>`` lists the model's shapes, layers (nested models' layers too, with
their parent) and its outputs on random inputs of its input shape (:func:`describe_model`); ``<callback>`` the
callback classes it belongs to and its settings (:func:`describe_callback`). ``result.json`` is rewritten after
every call, so the calls made before a crash or a time-out keep their answers. Whatever the student's code prints
goes to ``student_output.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import sys
from collections.abc import Callable

import numpy as np

MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_MESSAGE = 600
_MAGIC = re.compile(r"^\s*[%!]")
#: The Keras layer classes a layer description says a layer is an instance of (``keras.layers.<name>``).
LAYER_KINDS = ("InputLayer", "Conv2D", "Dense", "BatchNormalization", "Lambda", "Resizing", "UpSampling2D",
               "Normalization", "Rescaling", "GlobalAveragePooling2D", "Dropout")
#: The Keras callback classes a callback description says a callback is an instance of.
CALLBACK_KINDS = ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint")
#: The settings of a callback a description carries (plain values only).
CALLBACK_SETTINGS = ("monitor", "patience", "factor", "restore_best_weights", "save_best_only", "filepath")
#: Random inputs a described model is run on: this many samples of its input shape.
PREDICTION_SAMPLES = 3


def _plain_name(name: object) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"probe file names must be plain file names, got {name!r}")
    return name


def _message(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " ..."


def _safe(get: Callable[[], object], default: object = None) -> object:
    """``get()``, or ``default`` if it raises (a student's layer may break any attribute)."""
    try:
        return get()
    except Exception:  # noqa: BLE001
        return default


def _shape(value: object) -> list | None:
    try:
        return [None if d is None else int(d) for d in value]
    except (TypeError, ValueError):
        return None


def _plain_setting(value: object) -> object:
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return None


def _keras():
    """Keras, imported (models and callbacks only reach here once the student's code or a model argument did)."""
    import keras

    return keras


def describe_layer(layer: object, parent: str | None) -> dict:
    """One layer as plain data (see :class:`autograder.probes.facts.LayerFacts`)."""
    keras = _keras()
    kinds = [name for name in LAYER_KINDS if isinstance(layer, getattr(keras.layers, name))]
    if isinstance(layer, keras.Model):
        kinds.append("Model")
    conv, dense = "Conv2D" in kinds, "Dense" in kinds
    kernel = _safe(lambda: layer.kernel) if conv or dense else None
    return {"name": str(_safe(lambda: layer.name, "?")), "parent": parent, "kinds": kinds,
            "trainable": bool(_safe(lambda: layer.trainable, False)),
            "has_weights": bool(_safe(lambda: len(layer.weights) > 0, False)),
            "params": int(_safe(lambda: layer.count_params(), 0)),
            "kernel_shape": _shape(_safe(lambda: kernel.shape)) if kernel is not None else None,
            "kernel_size": _shape(_safe(lambda: layer.kernel_size)) if conv else None,
            "filters": _plain_setting(_safe(lambda: layer.filters)) if conv else None,
            "units": _plain_setting(_safe(lambda: layer.units)) if dense else None,
            "input_shape": _shape(_safe(lambda: layer.input.shape))}


def describe_model(model: object, encoder: Encoder | None, depth: int = 0) -> dict:
    """A Keras model as plain data: shapes, trainable, every layer (nested models' too), and, when ``encoder`` is
    given, its outputs on random inputs of its input shape (saved as an array)."""
    keras = _keras()
    layers: list[dict] = []

    def walk(container: object, parent: str | None, level: int) -> None:
        for layer in list(_safe(lambda: container.layers, []))[:MAX_ITEMS]:
            layers.append(describe_layer(layer, parent))
            if isinstance(layer, keras.Model) and level < MAX_DEPTH:
                walk(layer, layers[-1]["name"], level + 1)

    walk(model, None, depth)
    described = {"input_shape": _shape(_safe(lambda: model.input_shape)),
                 "output_shape": _shape(_safe(lambda: model.output_shape)),
                 "trainable": bool(_safe(lambda: model.trainable, False)), "layers": layers, "predictions": None}
    shape = described["input_shape"]
    if encoder is not None and shape and all(d is not None for d in shape[1:]):
        x = np.random.default_rng(0).normal(size=(PREDICTION_SAMPLES, *shape[1:])).astype(np.float32)
        outputs = _safe(lambda: np.asarray(model(x, training=False)))
        if isinstance(outputs, np.ndarray):
            described["predictions"] = encoder.array(outputs)
    return described


def describe_callback(callback: object) -> dict:
    """A Keras callback as plain data: the callback classes it is an instance of and its settings."""
    keras = _keras()
    kinds = [name for name in CALLBACK_KINDS if isinstance(callback, getattr(keras.callbacks, name))]
    described: dict = {"kinds": kinds}
    for setting in CALLBACK_SETTINGS:
        described[setting] = _plain_setting(_safe(lambda s=setting: getattr(callback, s)))
    return described


class Encoder:
    """Turns a return value into plain data, saving arrays as ``<prefix>_<n>.npy`` in ``folder``."""

    def __init__(self, folder: str, prefix: str) -> None:
        self.folder, self.prefix, self.count, self.items = folder, prefix, 0, 0

    def array(self, value: np.ndarray) -> dict:
        if value.dtype.kind not in "biuf":
            return {"__object__": f"ndarray of dtype {value.dtype}"}
        name = f"{self.prefix}_{self.count}.npy"
        self.count += 1
        np.save(os.path.join(self.folder, name), np.ascontiguousarray(value), allow_pickle=False)
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
        keras = sys.modules.get("keras")
        if keras is not None and isinstance(value, keras.Model):
            return {"__model__": describe_model(value, self)}
        if keras is not None and isinstance(value, keras.callbacks.Callback):
            return {"__callback__": describe_callback(value)}
        return {"__object__": kind.__name__}


def _builtin_base(kind: type) -> str:
    """The first built-in exception class among ``kind``'s bases (read through ``type``, not the class's own
    attributes)."""
    for base in type.__getattribute__(kind, "__mro__"):
        if type.__getattribute__(base, "__module__") == "builtins":
            return type.__getattribute__(base, "__name__")
    return "Exception"


def build_model(spec: dict) -> object:
    """The model a ``{"model": ...}`` argument names (see the module docs)."""
    keras = _keras()
    if spec.get("build") == "resnet50":
        model = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    elif spec.get("build") == "layers":
        make = (lambda: keras.layers.Conv2D(4, 3, padding="same"), keras.layers.BatchNormalization,
                keras.layers.ReLU)
        inputs = keras.Input((8, 8, 3))
        x = inputs
        for i in range(int(spec["n_layers"]) - 1):
            x = make[i % 3]()(x)
        model = keras.Model(inputs, x)
    else:
        raise ValueError(f"unknown model recipe {spec.get('build')!r}")
    if spec.get("trainable") is not None:
        for layer, flag in zip(model.layers, spec["trainable"], strict=False):  # the pattern may be longer
            layer.trainable = bool(flag)
    return model


class Runner:
    """Runs a probe job in ``folder``: the cells in ``namespace``, then every call, writing ``result.json``."""

    def __init__(self, folder: str, namespace: dict | None = None) -> None:
        self.folder = folder
        self.namespace = namespace if namespace is not None else {"__name__": "__main__"}
        self.models: dict[str, object] = {}

    def path(self, name: object) -> str:
        return os.path.join(self.folder, _plain_name(name))

    def write(self, result: dict) -> None:
        text = json.dumps(result)  # one string (json.dump would encode in pure Python: seconds for a 4A probe)
        with open(self.path("result.json.tmp"), "w") as f:
            f.write(text)
        os.replace(self.path("result.json.tmp"), self.path("result.json"))

    def argument(self, spec: dict) -> object:
        if "npy" in spec:
            return np.load(self.path(spec["npy"]), allow_pickle=False)
        if "path" in spec:
            return pathlib.Path(self.path(spec["path"]))
        if "model" in spec:
            model_id = str(spec["model"]["id"])
            if model_id not in self.models:
                self.models[model_id] = build_model(spec["model"])
            return self.models[model_id]
        if "dict" in spec:
            return {str(key): self.argument(value) for key, value in spec["dict"]}
        if "list" in spec:
            return [self.argument(value) for value in spec["list"]]
        if "tuple" in spec:
            return tuple(self.argument(value) for value in spec["tuple"])
        return spec["json"]

    def definitions(self, cells: list, log) -> dict:
        errors: dict = {}
        for cell in cells:
            source = "\n".join("" if _MAGIC.match(line) else line for line in str(cell["source"]).splitlines())
            try:
                with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                    exec(compile(source, f"<cell {cell['id']}>", "exec"), self.namespace)  # noqa: S102 - the jail's purpose
                errors[cell["id"]] = None
            except BaseException as exc:  # noqa: BLE001 - a failing cell is recorded; the others still run
                errors[cell["id"]] = f"{type(exc).__name__}: {_message(exc)}"
        return errors

    def perform(self, index: int, call: dict, log) -> dict:
        """One call: its answer (or error), the array arguments it changed and the model arguments after it."""
        function = self.namespace.get(str(call.get("function")))
        if not callable(function):
            return {"ok": False, "raised": "NameError", "builtin": "NameError",
                    "message": f"{call.get('function')} is not defined"}
        args = [self.argument(spec) for spec in call.get("args", [])]
        kwargs = {str(k): self.argument(spec) for k, spec in call.get("kwargs", {}).items()}
        before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                value = function(*args, **kwargs)
            entry = {"ok": True, "value": Encoder(self.folder, f"out{index}")(value)}
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit included
            entry = {"ok": False, "raised": type(exc).__name__, "builtin": _builtin_base(type(exc)),
                     "message": _message(exc)}
        mutated, models = {}, {}
        for i, (arg, copy) in enumerate(zip(args, before, strict=False)):
            if copy is not None and not (arg.shape == copy.shape and np.array_equal(arg, copy, equal_nan=True)):
                mutated[str(i)] = Encoder(self.folder, f"mut{index}_{i}").array(np.asarray(arg)).get("__array__")
            if "model" in call["args"][i]:
                models[str(i)] = describe_model(arg, None)
        entry["mutated"], entry["models"] = mutated, models
        return entry

    def run(self, job_file: str) -> int:
        try:
            with open(self.path(job_file)) as f:
                job = json.load(f)
            cells, calls = list(job["cells"]), list(job["calls"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"unusable probe job: {exc}", file=sys.stderr)
            return 2
        result: dict = {"cells": {}, "calls": [], "current": None, "done": False}
        self.write(result)
        with open(self.path("student_output.log"), "w") as log:
            result["cells"] = self.definitions(cells, log)
            for index, call in enumerate(calls):
                result["current"] = index
                self.write(result)
                result["calls"].append(self.perform(index, call, log))
            result["current"], result["done"] = None, True
            self.write(result)
        return 0


if __name__ == "__main__":
    sys.exit(Runner(".").run(sys.argv[1] if len(sys.argv) > 1 else "probe.json"))
