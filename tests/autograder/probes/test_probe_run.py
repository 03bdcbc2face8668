"""Probes: the student's functions run in a jailed process, their answers are judged in the grader's process.

Each notebook here is a phase's worked solution with some ``*_code`` cells replaced the way a student (honest or
not) would write them; one probe process per notebook.
"""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring.notebooks import PHASES
from autograder.authoring.solutions import solution_notebook
from autograder.grading.limits import Limits
from autograder.probes.catalog import PROBES
from autograder.probes.run import run_probes
from geoai_ref.phase import Phase


def _notebook(tmp_path, phase: Phase = Phase.A, **cells: str):
    nb = solution_notebook(phase)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
    path = tmp_path / PHASES[phase].ipynb.name
    nbformat.write(nb, path)
    return path


def _judged(path, limits: Limits | None = None, phase: Phase = Phase.A) -> dict[str, tuple[bool, str]]:
    results = run_probes(path, phase, PROBES[phase], *([limits] if limits else []))
    return {r.id: (r.passed, r.message) for r in results}


@pytest.mark.parametrize("phase", list(PROBES))
def test_the_worked_solution_passes_every_probe(jail, tmp_path, phase):
    judged = _judged(_notebook(tmp_path, phase), phase=phase)
    assert judged == {f"{p.check_id}_probe": (True, "passed") for p in PROBES[phase]}


MUTATES = '''
def normalise_per_band(x_train, x_other):
    mean, std = x_train.mean(axis=(0, 1, 2)), x_train.std(axis=(0, 1, 2))
    x_train -= mean
    x_train /= std
    return x_train.astype(np.float32), ((x_other - mean) / std).astype(np.float32)
'''
ALWAYS_EQUAL = '''
class Anything(np.ndarray):
    def __eq__(self, other):
        return True

def inflate_conv1_kernel(kernel_rgb, n_bands):
    return np.zeros((7, 7, n_bands, 64), dtype=np.float32).view(Anything)
'''
UNIMPLEMENTED = '''
def evaluate_predictions(y_true, y_pred):
    raise NotImplementedError()
'''
#: The issue's forgery: a detector that passes the visible test but is wrong, plus code that replaces the
#: grader's check. In the probe's jail the grader is not there to patch.
WRONG_AND_PATCHED = '''
try:
    import autograder.checks.phase4a as hidden
    hidden.check_collapse = lambda detect_collapse: None
except ImportError:
    pass


def detect_collapse(y_pred, threshold=0.9):
    counts = np.bincount(np.asarray(y_pred, dtype=int), minlength=NUM_CLASSES)
    share = float(counts.max() / counts.sum())
    return {"collapsed": share == 1.0, "majority_class": int(counts.argmax()), "majority_share": share,
            "predicted_classes": [int(c) for c in np.flatnonzero(counts)]}
'''


def test_wrong_and_hostile_answers_fail_with_what_to_fix(jail, tmp_path):
    judged = _judged(_notebook(tmp_path, **{"4a_normalise_code": MUTATES, "4a_inflate_conv1_code": ALWAYS_EQUAL,
                                            "4a_metrics_code": UNIMPLEMENTED, "4a_collapse_code": WRONG_AND_PATCHED}))
    assert judged["4a_normalise_probe"] == (False, "normalise_per_band modified its inputs in place: compute new "
                                                   "arrays instead")
    # only its type's name crosses into the grader, which no __eq__ of the student's can answer for
    assert judged["4a_inflate_conv1_probe"] == (False, "for a (7, 7, 3, 64) kernel and 1 bands expected shape "
                                                       "(7, 7, 1, 64), got ()")
    assert judged["4a_metrics_probe"][0] is False and "not implemented yet" in judged["4a_metrics_probe"][1]
    passed, message = judged["4a_collapse_probe"]
    assert not passed and "collapsed should be True" in message


#: Phase 4B: a stricter error class than asked (a subclass of ValueError: right), channels in the dict's order, a
#: split that ignores its seed (asked twice, it answers differently), channels by position.
QC_OWN_ERROR = '''
class BandOutOfRange(ValueError):
    pass


def quality_check(x, band_names):
    x = np.asarray(x)
    limits = {"MODIS_NDVI": (-0.2, 1.0), "DEM": (-500.0, 9000.0)}
    for i, name in enumerate(band_names):
        low, high = limits.get(name, (0.0, 1.0))
        band = x[..., i]
        if np.isnan(band).any() or band.min() < low or band.max() > high:
            raise BandOutOfRange(f"{name} out of range")
    return {"n": int(x.shape[0])}
'''
STACK_IN_DICT_ORDER = "def stack_fused(bands):\n    return np.stack(list(bands.values()), axis=-1).astype(np.float32)\n"
UNSEEDED_SPLIT = '''
from sklearn.model_selection import StratifiedGroupKFold


def stratified_group_split(y, groups, val_fraction=0.2, seed=42):
    folds = StratifiedGroupKFold(n_splits=round(1 / val_fraction), shuffle=True,
                                 random_state=int(np.random.randint(0, 10**6)))
    return next(folds.split(np.zeros(len(y)), y, groups))
'''
BY_POSITION = "def select_bands(x, names, order=FUSED_BANDS):\n    return np.asarray(x)[..., :len(names)]\n"


def test_phase4b_answers_are_judged_by_behaviour(jail, tmp_path):
    judged = _judged(_notebook(tmp_path, Phase.B, **{"4b_qc_code": QC_OWN_ERROR, "4b_stack_code": STACK_IN_DICT_ORDER,
                                                     "4b_split_code": UNSEEDED_SPLIT,
                                                     "4b_select_bands_code": BY_POSITION}), phase=Phase.B)
    assert judged["4b_align_probe"] == (True, "passed") and judged["4b_patches_probe"] == (True, "passed")
    assert judged["4b_qc_probe"] == (True, "passed")  # its own subclass of ValueError is a ValueError
    assert not judged["4b_stack_probe"][0] and "channel 0 should be B2" in judged["4b_stack_probe"][1]
    assert not judged["4b_split_probe"][0] and "same seed" in judged["4b_split_probe"][1]
    assert not judged["4b_select_bands_probe"][0] and "wrong channels" in judged["4b_select_bands_probe"][1]


def test_phase4c_selection_that_changes_its_input_is_caught(jail, tmp_path):
    nb = solution_notebook(Phase.C)
    code = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "4c_subsets_code").source
    in_place = code + "\n\n_select = select_bands\n\n\ndef select_bands(X, names):\n    out = _select(X, names)\n" \
                      "    X[..., 0] = 0\n    return out\n"
    judged = _judged(_notebook(tmp_path, Phase.C, **{"4c_subsets_code": in_place}), phase=Phase.C)
    assert not judged["4c_subsets_probe"][0] and "modified its input" in judged["4c_subsets_probe"][1]


def test_a_function_that_never_returns_leaves_the_earlier_answers_judged(jail, tmp_path):
    loops = "def detect_collapse(y_pred, threshold=0.9):\n    while True:\n        pass\n"
    judged = _judged(_notebook(tmp_path, **{"4a_collapse_code": loops}), Limits(seconds=40, memory_mb=4096))
    assert judged["4a_normalise_probe"] == (True, "passed") and judged["4a_metrics_probe"] == (True, "passed")
    passed, message = judged["4a_collapse_probe"]
    assert not passed and "ran past its 40 s limit" in message and "detect_collapse" in message


def test_a_definition_that_ends_the_process_fails_every_probe_with_the_reason(jail, tmp_path):
    judged = _judged(_notebook(tmp_path, **{"4a_metrics_code": "import os\nos._exit(3)\n"}))
    assert all(not passed for passed, _ in judged.values())
    assert all("status 3" in message for _, message in judged.values()), judged


def test_reading_the_hidden_labels_finds_nothing(jail, tmp_path):
    from autograder.paths import HIDDEN_DATA

    labels = next(HIDDEN_DATA.rglob("y_*.npy"))
    cheat = f'''
def detect_collapse(y_pred, threshold=0.9):
    hidden = np.load({str(labels)!r})
    return {{"collapsed": False, "majority_class": 0, "majority_share": 0.0, "predicted_classes": hidden.tolist()}}
'''
    passed, message = _judged(_notebook(tmp_path, **{"4a_collapse_code": cheat}))["4a_collapse_probe"]
    assert not passed and "FileNotFoundError" in message


def test_a_forged_result_file_is_only_data_to_the_judge(tmp_path):
    """Whatever the probe's folder holds (the student's code could write it), the judge reads plain data only."""
    import json

    import numpy as np

    from autograder.probes.run import Returned, _answers, digest

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (tmp_path / "big.npy").write_bytes(b"not an npy file")
    np.save(tmp_path / "obj.npy", np.array([1, 2]), allow_pickle=False)
    values = [{"__array__": "../../etc/passwd"}, {"__array__": "big.npy"}, {"__float__": "not a number"},
              {"__tuple__": [{"__array__": "obj.npy"}, {"__object__": "AlwaysEqual"}]}]
    calls = [("f", (x, i)) for i in range(len(values))] + [("g", (x,))]
    report = {"calls": [{"ok": True, "value": v, "mutated": {"7": "obj.npy", "x": 1}} for v in values]
              + [{"ok": False, "raised": "ZeroDivisionError", "message": "boom"}], "cells": {"setup_cell": None}}
    (tmp_path / "result.json").write_text(json.dumps(report))
    answers = _answers(tmp_path, calls, None)
    f, g = answers.stand_in("f"), answers.stand_in("g")
    assert [repr(f(x, i)) for i in range(3)] == ["<unreadable array>", "<unreadable array>", "<unreadable number>"]
    array, marker = f(x, 3)
    assert array.tolist() == [1, 2] and isinstance(marker, Returned) and marker.type_name == "AlwaysEqual"
    with pytest.raises(Exception, match="boom") as raised:
        g(x)
    assert type(raised.value).__name__ == "ZeroDivisionError" and not isinstance(raised.value, ZeroDivisionError)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]  # a mutation record for an argument that does not exist: ignored
    with pytest.raises(Exception, match="not called by the probe"):
        f(x, 99)
    assert digest((x, 1)) != digest((x.astype(np.float64), 1))
