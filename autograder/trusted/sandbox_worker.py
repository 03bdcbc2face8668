"""The sandbox's worker: load submitted Keras models and predict, inside a throw-away folder.

Run ONLY by :func:`autograder.trusted.sandbox.predict_in_sandbox`, as a script by path with ``python -I``
(isolated mode: no user site, no PYTHON* variables, nothing prepended to ``sys.path``), in a
temporary working folder that holds copies of the model files and the input ``.npy`` files and
nothing else (never labels). It imports neither ``autograder`` nor ``geoai_ref``: only the
standard library, NumPy and Keras.

Protocol (every name is a plain file name in the working folder)::

    python -I sandbox_worker.py job.json

``job.json``: ``{"models": {"m0": "m0.h5", ...}, "inputs": {"m0": {"s0": "m0_s0.npy", ...}, ...}}``.
For each model the worker writes ``result.json`` (rewritten atomically after every step)::

    {"current": "m1" | null, "done": true | false,
     "models": {"m0": {"ok": true, "outputs": {"s0": "out_m0_s0.npy"}},
                "m1": {"ok": false, "error": "OSError: ..."}}}

``current`` names the model being worked on, so that the parent can blame the right model if the
process dies. Models are loaded with ``keras.models.load_model(compile=False, safe_mode=True)``:
no custom objects, no Lambda layers, no unsafe deserialisation. A model that fails to load or to
predict is reported as ``ok: false`` and the worker moves on to the next model.

Exit status: 0 when the job was read and every model attempted (even if some failed), 2 when
the job file is unusable.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

PREDICT_BATCH = 64
MAX_ERROR_CHARS = 600


def _plain_name(name: object) -> str:
    """``name`` if it is a plain file name in the working folder.

    Raises:
        ValueError: for anything with a path separator, a parent reference or a leading dot.
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"job names must be plain file names, got {name!r}")
    return name


def _write_result(result: dict) -> None:
    tmp = "result.json.tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, "result.json")


def _error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " ..."


def _predict(model, x):  # noqa: ANN001, ANN202 - Keras objects, no type stubs worth importing
    import numpy as np

    model.run_eagerly = True  # one pass over a few patches: tracing a predict step would cost more than it saves
    out = model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    if isinstance(out, list | tuple | dict):
        raise ValueError(f"the model has {len(out)} outputs; it must have one (n, classes) output")
    return np.asarray(out, dtype=np.float32)


def main(argv: list[str]) -> int:
    """Run the job named by ``argv[1]``; returns the exit status (see the module docstring)."""
    try:
        with open(_plain_name(argv[1])) as f:
            job = json.load(f)
        models = {_plain_name(k): _plain_name(v) for k, v in job["models"].items()}
        inputs = {_plain_name(k): {_plain_name(s): _plain_name(p) for s, p in sets.items()}
                  for k, sets in job["inputs"].items()}
    except Exception as exc:  # noqa: BLE001 - any problem with the job is reported the same way
        print(f"sandbox worker: unusable job file: {_error(exc)}", file=sys.stderr)
        return 2

    result: dict = {"current": None, "done": False, "models": {}}
    _write_result(result)

    import numpy as np

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    for key, filename in models.items():
        result["current"] = key
        _write_result(result)
        try:
            model = keras.models.load_model(filename, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - a model that cannot be loaded is a per-model result
            result["models"][key] = {"ok": False, "stage": "load", "error": _error(exc)}
            continue
        outputs = {}
        try:
            for set_name, npy in inputs.get(key, {}).items():
                x = np.load(npy, allow_pickle=False)
                out_name = f"out_{key}_{set_name}.npy"
                np.save(out_name, _predict(model, x), allow_pickle=False)
                outputs[set_name] = out_name
        except Exception as exc:  # noqa: BLE001 - a model that cannot predict is a per-model result
            result["models"][key] = {"ok": False, "stage": "predict", "error": _error(exc)}
        else:
            result["models"][key] = {"ok": True, "outputs": outputs}
        finally:
            del model
            keras.backend.clear_session()
    result["current"] = None
    result["done"] = True
    _write_result(result)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception:  # noqa: BLE001 - last resort: say what happened on stderr for the parent's message
        traceback.print_exc()
        sys.exit(3)
