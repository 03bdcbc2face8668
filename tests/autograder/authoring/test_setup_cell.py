"""The locked setup cell's grading budget: under autograding with GEOAI_TRAIN_BATCHES, every ``model.fit`` trains
and validates on that many batches per epoch, and fit, evaluate and predict run eagerly (no traced step); a student's
own run trains on everything, traced, its training step traced once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from autograder.paths import REPO

SETUP_CELL = REPO / "assignments" / "setup_cell.py"

# after the setup cell: fit a tiny model on 10 training batches and 4 validation batches, count what ran
COUNT_BATCHES = """
class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.train, self.val = [], []
    def on_epoch_begin(self, epoch, logs=None):
        self.train.append(0)
        self.val.append(0)
    def on_train_batch_end(self, batch, logs=None):
        self.train[-1] += 1
    def on_test_batch_end(self, batch, logs=None):
        self.val[-1] += 1

_x = np.zeros((40, 4), "float32")
_y = np.zeros(40, "int64")
_m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
_m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
_c = _Count()
_m.fit(_x, _y, validation_data=(_x[:16], _y[:16]), epochs=2, batch_size=4, callbacks=[_c], verbose=0)


def _steps_in(method):  # whether each call of the method's step ran eagerly (a traced step is called once per trace)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    name = {"fit": "train_step", "evaluate": "test_step", "predict": "predict_step"}[method]
    step, seen = getattr(model, name), []
    setattr(model, name, lambda data: seen.append(tf.executing_eagerly()) or step(data))
    getattr(model, method)(_x, *([_y] if method != "predict" else []), batch_size=4, verbose=0)
    return seen


_steps = {m: _steps_in(m) for m in ("fit", "evaluate", "predict")}
print("COUNTS " + json.dumps({"train": _c.train, "val": _c.val, "grading": GRADING,
                              "eager": {m: sorted(set(seen)) for m, seen in _steps.items()},
                              "training_traces": _steps["fit"].count(False)}))
"""


def _run(grading: str, train_batches: str, tmp_path) -> tuple[dict, str]:
    script = tmp_path / "cell.py"
    script.write_text(SETUP_CELL.read_text() + COUNT_BATCHES)
    env = {**os.environ, "GEOAI_GRADING": grading, "GEOAI_EPOCHS": "2", "GEOAI_TRAIN_BATCHES": train_batches,
           "CUDA_VISIBLE_DEVICES": ""}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("COUNTS "))
    return json.loads(line.removeprefix("COUNTS ")), run.stderr


@pytest.mark.parametrize(("grading", "train_batches", "expected"), [
    ("1", "2", {"train": [2, 2], "val": [2, 2]}),      # autograding with a budget: 2 batches of each per epoch
    ("1", "0", {"train": [10, 10], "val": [4, 4]}),    # autograding without one: every batch
    ("0", "2", {"train": [10, 10], "val": [4, 4]}),    # the student's own run ignores the variable
])
def test_fit_trains_on_the_grading_budget_only_when_autograding(grading, train_batches, expected, tmp_path):
    counts, stderr = _run(grading, train_batches, tmp_path)
    assert counts["grading"] is (grading == "1")
    assert {"train": counts["train"], "val": counts["val"]} == expected
    budget = grading == "1" and train_batches != "0"
    # within the budget every step runs eagerly; otherwise Keras traces each step (the layer sees False), the
    # training step once: Keras alone traces it twice (its optimizer and metrics create their variables in the trace)
    assert counts["eager"] == {m: [True] if budget else [False] for m in ("fit", "evaluate", "predict")}
    assert counts["training_traces"] == (0 if budget else 1)
    assert stderr == "", f"the setup cell wrote to stderr (nbgrader scores such a grade cell 0): {stderr[-500:]}"
