"""Checks that a run folder holds every deliverable of the exercise, and that each one is valid.

Used on the reference's own runs and, by the autograder, on a student's snapshot. Nothing
here executes a submitted model: ``.h5`` files are inspected statically with h5py (the
model's JSON config), because loading a Keras file can run code (Lambda layers;
CVE-2025-1550). Each check says what it found and what to fix.

- models: readable HDF5 Keras model, input (None, 8, 8, bands) with the phase's band count,
  a 5-class output, no Lambda layers;
- fused arrays: :func:`geoai_ref.fused_check.check_fused_array` (shape, values, band order against
  a reference run, nearest-neighbour resampling);
- metrics JSON: the layouts of :mod:`geoai_ref.schemas`, scores within 0..1;
- figures: a readable PNG that is not blank; reports: present, substantial, with the
  required sections; ``config.yaml``: a YAML mapping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS, S2_BANDS
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.fused_check import FUSED_SAMPLES, check_fused_array
from geoai_ref.phase import Phase
from geoai_ref.schemas import AblationStudy, Phase4AMetrics, read_json

MIN_REPORT_CHARS = 200
MIN_FIGURE_PIXELS = 200
MIN_FIGURE_STD = 0.02  # grey-level spread (0-1) below which a figure counts as blank
#: Headings (lower-case words) each report must have.
REQUIRED_SECTIONS = {layout.BASELINE_REPORT: ("method", "result", "failure", "next step"),
                     layout.PHASE4C_REPORT: ("conclusion", "next step")}
#: The input band count of each model deliverable.
MODEL_BANDS: dict[Path, int] = {layout.PHASE4A_MODEL: len(S2_BANDS), layout.PHASE4B_MODEL: len(FUSED_BANDS),
                                **{rel: len(BAND_SUBSETS[name]) for name, rel in layout.PHASE4C_MODEL_FILES.items()}}


@dataclass(frozen=True)
class ArtifactCheck:
    path: str
    passed: bool
    message: str


@dataclass
class DeliverablesReport:
    checks: list[ArtifactCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[ArtifactCheck]:
        return [c for c in self.checks if not c.passed]

    def add(self, path: Path | str, passed: bool, message: str) -> None:
        self.checks.append(ArtifactCheck(str(path), bool(passed), message))


@dataclass(frozen=True)
class ModelSummary:
    """What an .h5 Keras model declares, read without loading it."""

    input_shape: tuple
    output_units: int | None
    layer_classes: list[str]


def _layers(config: dict) -> list[dict]:
    found = []
    for layer in config.get("config", {}).get("layers", []):
        found.append(layer)
        if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
            found += _layers(layer)
    return found


def inspect_h5_model(path: Path) -> ModelSummary:
    """Input shape, output units and layer classes of a Keras .h5 model, from its stored JSON config.

    Raises:
        ValueError: if the file is not HDF5 or holds no Keras model config (say which).
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as exc:
        raise ValueError(f"{path} is not a readable HDF5 file ({exc}); save the model with "
                         "model.save('...h5')") from None
    if raw is None:
        raise ValueError(f"{path} holds no model_config: it looks like weights only; save the whole model")
    config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    layers = _layers(config)
    inputs = [layer for layer in config.get("config", {}).get("layers", []) if layer.get("class_name") == "InputLayer"]
    shape: tuple = ()
    if inputs:
        cfg = inputs[0]["config"]
        shape = tuple(cfg.get("batch_shape") or cfg.get("batch_input_shape") or ())
    return ModelSummary(input_shape=shape, output_units=_output_units(config),
                        layer_classes=[layer["class_name"] for layer in layers])


def _output_units(config: dict) -> int | None:
    """Units of a model config's output layer; where the output is a nested model (a preprocessing layer
    wrapped around the network), of that model's output layer."""
    top = config.get("config", {}).get("layers", [])
    # functional models: [name, 0, 0] (one output, Keras 3) or [[name, 0, 0], ...]; Sequential: none
    outputs = config.get("config", {}).get("output_layers") or []
    if outputs:
        out_name = outputs[0][0] if isinstance(outputs[0], list) else outputs[0]
    else:
        out_name = top[-1]["config"].get("name") if top else None
    layer = next((layer for layer in top if layer["config"].get("name") == out_name), None)
    if layer is None:
        return None
    if "layers" in layer["config"]:
        return _output_units(layer)
    return layer["config"].get("units")


def check_model(report: DeliverablesReport, path: Path, rel: Path, bands: int | None) -> int | None:
    """Check one model file; returns its input band count (or None)."""
    if not path.exists():
        report.add(rel, False, f"missing: save the trained model to {rel}")
        return None
    try:
        summary = inspect_h5_model(path)
    except ValueError as exc:
        report.add(rel, False, str(exc))
        return None
    problems = []
    shape = summary.input_shape
    if len(shape) != 4 or tuple(shape[1:3]) != (8, 8):
        problems.append(f"input shape {shape}, expected (None, 8, 8, bands)")
    elif bands is not None and shape[3] != bands:
        problems.append(f"takes {shape[3]} bands, expected {bands}")
    if summary.output_units != NUM_CLASSES:
        problems.append(f"output has {summary.output_units} units, expected {NUM_CLASSES} classes")
    if "Lambda" in summary.layer_classes:
        problems.append("contains a Lambda layer: it runs code when loaded; use built-in layers instead")
    report.add(rel, not problems, "; ".join(problems) or f"model: input {shape}, {summary.output_units} classes")
    return shape[3] if len(shape) == 4 else None


def check_fused(report: DeliverablesReport, path: Path, rel: Path, n: int, reference: Path | None) -> None:
    """One fused array (see :mod:`geoai_ref.fused_check`); ``reference``: a run folder holding the same file."""
    ref_path = None if reference is None else Path(reference) / rel
    ref = np.load(ref_path, allow_pickle=False) if ref_path is not None and ref_path.is_file() else None
    found = check_fused_array(path, rel, n, ref)
    shape = found.evidence.get("shape")
    report.add(rel, found.ok, "; ".join(found.messages(with_path=False))
               or f"fused array {tuple(shape or ())}, bands in range")


def check_json(report: DeliverablesReport, path: Path, rel: Path, cls: type) -> None:
    if not path.exists():
        report.add(rel, False, f"missing: write the metrics to {rel}")
        return
    try:
        data = read_json(path, cls)
    except ValueError as exc:
        report.add(rel, False, str(exc))
        return
    results = [data.result] if isinstance(data, Phase4AMetrics) else data.configurations
    bad = [r.name for r in results if not 0.0 <= float(r.accuracy) <= 1.0]
    if bad:
        report.add(rel, False, f"accuracy outside 0..1 for {bad}: report fractions, not percentages")
    elif isinstance(data, AblationStudy) and len(results) < 4:
        report.add(rel, False, f"{len(results)} configuration(s); the ablation needs S2, S2+MODIS, S2+DEM and Full")
    else:
        report.add(rel, True, f"metrics ({len(results)} model(s))")


def check_figure(report: DeliverablesReport, path: Path, rel: Path) -> None:
    import matplotlib.image as mpimg

    if not path.exists():
        report.add(rel, False, f"missing: save the figure with plt.savefig('{rel}')")
        return
    try:
        image = mpimg.imread(path)
    except (OSError, ValueError, SyntaxError) as exc:
        report.add(rel, False, f"not a readable PNG ({exc})")
        return
    if min(image.shape[:2]) < MIN_FIGURE_PIXELS:
        report.add(rel, False, f"only {image.shape[1]}x{image.shape[0]} pixels")
    elif float(np.asarray(image[..., :3], dtype=float).std()) < MIN_FIGURE_STD:
        report.add(rel, False, "the figure is blank: plot before calling savefig")
    else:
        report.add(rel, True, f"figure {image.shape[1]}x{image.shape[0]}")


def check_text(report: DeliverablesReport, path: Path, rel: Path) -> None:
    if not path.exists():
        report.add(rel, False, f"missing: write {rel}")
        return
    text = path.read_text(errors="replace")
    if len(text.strip()) < MIN_REPORT_CHARS:
        report.add(rel, False, f"only {len(text.strip())} characters: document methods and results")
        return
    if rel == layout.CONFIG:
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            report.add(rel, False, f"not valid YAML ({exc})")
            return
        ok = isinstance(config, dict) and len(config) >= 3
        report.add(rel, ok, "configuration mapping" if ok else "config.yaml must map parameter names to values")
        return
    headings = " ".join(line.lower() for line in text.splitlines() if line.lstrip().startswith("#"))
    missing = [s for s in REQUIRED_SECTIONS.get(rel, ()) if s not in headings]
    report.add(rel, not missing, f"missing section(s) {missing}" if missing else "report present")


def check_file(report: DeliverablesReport, root: Path, rel: Path, reference: Path | None = None) -> None:
    """Check one deliverable ``root / rel`` by its kind (model, fused array, metrics JSON, figure, text).

    Raises:
        KeyError: for a path that is not a deliverable of :data:`geoai_ref.layout.DELIVERABLES`.
    """
    path = Path(root) / rel
    if rel.suffix == ".h5":
        check_model(report, path, rel, MODEL_BANDS[rel])
    elif rel.suffix == ".npy":
        check_fused(report, path, rel, FUSED_SAMPLES[rel], reference)
    elif rel == layout.PHASE4A_METRICS:
        check_json(report, path, rel, Phase4AMetrics)
    elif rel.suffix == ".json":
        check_json(report, path, rel, AblationStudy)
    elif rel.suffix == ".png":
        check_figure(report, path, rel)
    else:
        check_text(report, path, rel)


def check_deliverables(root: Path, phases: tuple[Phase, ...] = tuple(Phase),
                       reference: Path | None = None) -> DeliverablesReport:
    """Check every deliverable of ``phases`` under ``root`` (optionally against a reference run)."""
    report = DeliverablesReport()
    for phase in map(Phase.parse, phases):
        for rel in layout.DELIVERABLES[phase]:
            check_file(report, Path(root), rel, reference)
    return report
