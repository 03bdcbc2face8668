"""Notebook cells cannot import geoai_ref, so they restate a few of the exercise's rules; each restatement is
pinned here to the one definition, so a rule changed in geoai_ref fails this test until the notebooks follow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.authoring.notebooks import PHASES
from autograder.paths import ASSIGNMENTS
from autograder.trusted.reported import METRIC_TOLERANCE_SAMPLES, MIN_METRIC_TOLERANCE
from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import BANDS, FUSED_BANDS, S2_BANDS
from geoai_ref.classes import CLASS_NAMES
from geoai_ref.collapse import THRESHOLDS
from geoai_ref.course import COURSE
from geoai_ref.phase import Phase

SETUP_CELL = ASSIGNMENTS / "setup_cell.py"


def _assignments(path: Path) -> dict[str, ast.expr]:
    """Every ``NAME = value`` of a source file (top level or in a cell's block), by name."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found.setdefault(node.targets[0].id, node.value)
    return found


def _value(path: Path, name: str, **names: object) -> object:
    """The value ``name`` is given in ``path``, evaluated with ``names`` (the setup cell's constants) in scope."""
    node = _assignments(path).get(name)
    assert node is not None, f"{path.name} no longer defines {name}: update this test or the notebook"
    return eval(compile(ast.Expression(node), str(path), "eval"), {}, dict(names))  # noqa: S307 - our own sources


def _setup() -> dict[str, object]:
    return {name: _value(SETUP_CELL, name) for name in ("CLASS_NAMES", "S2_BANDS")} | {
        "FUSED_BANDS": _value(SETUP_CELL, "FUSED_BANDS", S2_BANDS=_value(SETUP_CELL, "S2_BANDS"))}


def test_setup_cell_classes_and_bands():
    setup = _setup()
    assert setup["CLASS_NAMES"] == list(CLASS_NAMES)
    assert _value(SETUP_CELL, "S2_SCALE") == COURSE.s2_scale
    assert setup["S2_BANDS"] == list(S2_BANDS) and setup["FUSED_BANDS"] == list(FUSED_BANDS)


def test_4b_ablation_subsets_and_valid_ranges():
    source = PHASES[Phase.B].source
    subsets = _value(source, "SUBSETS", **_setup())
    assert {name: list(bands) for name, bands in subsets.items()} == {n: list(b) for n, b in BAND_SUBSETS.items()}
    ranges = _value(source, "VALID_RANGES")
    assert ranges == {name: tuple(BANDS[name].valid_range) for name in FUSED_BANDS}


def test_4c_model_files_are_the_layout_paths():
    for name in ("MODEL_FILES", "_files"):  # the solution's, and the deliverables check's
        files = _value(PHASES[Phase.C].source, name)
        assert {name: layout.PHASE4C_MODELS / f for name, f in files.items()} == layout.PHASE4C_MODEL_FILES


def test_4c_band_subsets_solution():
    tree = ast.parse(PHASES[Phase.C].source.read_text())
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "band_subsets")
    namespace = dict(_setup())
    exec(compile(ast.Module([function], []), "band_subsets", "exec"), namespace)  # noqa: S102 - our own source
    got = namespace["band_subsets"]()
    assert {name: list(bands) for name, bands in got.items()} == {n: list(b) for n, b in BAND_SUBSETS.items()}


@pytest.mark.parametrize("phase", [Phase.A])
def test_collapse_threshold_default(phase):
    tree = ast.parse(PHASES[phase].source.read_text())
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "detect_collapse")
    defaults = dict(zip([a.arg for a in function.args.args][-len(function.args.defaults):],
                        (ast.literal_eval(d) for d in function.args.defaults), strict=True))
    assert defaults["threshold"] == THRESHOLDS.majority_share


def test_saved_model_tolerance_is_the_graders():
    (node,) = [n for n in ast.walk(ast.parse(SETUP_CELL.read_text())) if isinstance(n, ast.Assign)
               and isinstance(n.targets[0], ast.Tuple)
               and [getattr(t, "id", None) for t in n.targets[0].elts]
               == ["MIN_METRIC_TOLERANCE", "METRIC_TOLERANCE_SAMPLES"]]
    assert ast.literal_eval(node.value) == (MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES)
