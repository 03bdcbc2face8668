"""Comparison of a generated fixture folder with its manifest or with another generation.

Rasters, arrays, GeoJSON and CSV must match bit for bit (GeoTIFFs by pixel content and
georeferencing). The trained Week 3 model cannot: TensorFlow's float arithmetic varies
with the CPU's instruction set, so it is compared with a stated tolerance instead:
validation accuracy within ``MODEL_ACCURACY_TOLERANCE`` and the same class predicted
for at least ``MODEL_AGREEMENT`` of the validation patches.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.course import to_reflectance
from geoai_ref.errors import MissingInput
from geoai_ref.synth.build import content_hash

MODEL_ACCURACY_TOLERANCE = 0.05
MODEL_AGREEMENT = 0.85


def manifest_problems(root: Path) -> list[str]:
    """Files of ``root`` whose content differs from its ``manifest.json``, or that are missing.

    Raises:
        FileNotFoundError: if ``root`` has no manifest.
    """
    root = Path(root)
    manifest_path = root / layout.MANIFEST
    if not manifest_path.exists():
        raise MissingInput(f"{manifest_path} not found: is {root} a fixture folder made by `geoai-ref fixtures`?")
    manifest = json.loads(manifest_path.read_text())
    problems = []
    for rel, expected in manifest["files"].items():
        path = root / rel
        if not path.exists():
            problems.append(f"{rel}: missing")
        elif content_hash(path) != expected:
            problems.append(f"{rel}: content differs from the manifest")
    for rel in manifest.get("compared_with_tolerance", []):
        if not (root / rel).exists():
            problems.append(f"{rel}: missing")
    return problems


def compare_generations(committed: Path, regenerated: Path) -> list[str]:
    """Differences between two fixture folders' manifests (bit-for-bit files only)."""
    a = json.loads((Path(committed) / layout.MANIFEST).read_text())
    b = json.loads((Path(regenerated) / layout.MANIFEST).read_text())
    problems = []
    for rel in sorted(set(a["files"]) | set(b["files"])):
        if a["files"].get(rel) != b["files"].get(rel):
            problems.append(f"{rel}: differs between {committed} and {regenerated}")
    if a["scene"] != b["scene"]:
        problems.append("the scene specifications differ (seed, AOI or size)")
    return problems


def compare_week3_models(committed: Path, regenerated: Path) -> list[str]:
    """Compare two Week 3 models on the committed validation set (scaled as the course scales it), within the
    stated tolerance."""
    from geoai_ref.models.simple_cnn import keras

    x_val = to_reflectance(np.load(Path(committed) / layout.X_VAL))  # the course scales outside the model
    y_val = np.load(Path(committed) / layout.Y_VAL)
    predictions = []
    for root in (committed, regenerated):
        model = keras.models.load_model(Path(root) / layout.WEEK3_MODEL, compile=False)
        predictions.append(np.argmax(model.predict(x_val, verbose=0), axis=1))
    accuracy = [float(np.mean(p == y_val)) for p in predictions]
    agreement = float(np.mean(predictions[0] == predictions[1]))
    problems = []
    if abs(accuracy[0] - accuracy[1]) > MODEL_ACCURACY_TOLERANCE:
        problems.append(f"Week 3 model accuracy {accuracy[1]:.3f} differs from the committed {accuracy[0]:.3f} "
                        f"by more than {MODEL_ACCURACY_TOLERANCE}")
    if agreement < MODEL_AGREEMENT:
        problems.append(f"the Week 3 models agree on only {100 * agreement:.1f} % of validation patches "
                        f"(at least {100 * MODEL_AGREEMENT:.0f} % expected)")
    return problems


def reproduction_problems(committed: Path, regenerate: Callable[[Path], object], with_model: bool = False,
                          progress: Callable[[str], None] = lambda m: None) -> list[str]:
    """Where a committed data set differs from what ``regenerate(folder)`` writes now (empty: it reproduces).

    Checks the committed manifest, regenerates into a temporary folder, compares every file, and with
    ``with_model`` also the Week 3 model's predictions.

    Raises:
        MissingInput: if ``committed`` has no manifest (it is not a generated data set).
    """
    problems = manifest_problems(committed)
    with tempfile.TemporaryDirectory() as tmp:
        progress(f"regenerating into {tmp} to compare with {committed}")
        regenerate(Path(tmp))
        problems += compare_generations(committed, Path(tmp))
        if with_model:
            problems += compare_week3_models(committed, Path(tmp))
    return problems


def reproduction_lines(problems: list[str], what: str) -> list[str]:
    """What a command prints after :func:`reproduction_problems`: one ``DIFFERS:`` line per problem, then the
    verdict on ``what`` ("fixtures reproduce" or how many differences)."""
    return [*(f"DIFFERS: {p}" for p in problems),
            f"{what} reproduce" if not problems else f"{len(problems)} difference(s)"]
