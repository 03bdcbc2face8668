"""Checks that a run folder holds every deliverable of the exercise, and that each one is valid.

Used on the reference's own runs and, by the autograder, on a student's snapshot. Nothing
here executes a submitted model: ``.h5`` files are inspected statically with h5py (the
model's JSON config), because loading a Keras file can run code (Lambda layers;
CVE-2025-1550). Each check says what it found and what to fix.

- models: readable HDF5 Keras model, input (None, 8, 8, bands) with the phase's band count,
  a 5-class output, no Lambda layers;
- fused arrays: (300 | 75, 8, 8, 8), finite, every band in its valid range (band registry);
  with a reference run, each channel is matched to the reference band it correlates with
  best, which catches bands stacked in the wrong order;
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
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.qc import check_bands
from geoai_ref.schemas import AblationStudy, Phase4AMetrics, read_json

MIN_REPORT_CHARS = 200
MIN_FIGURE_PIXELS = 200
MIN_FIGURE_STD = 0.02  # grey-level spread (0-1) below which a figure counts as blank
MIN_BAND_CORRELATION = 0.9
REQUIRED_SECTIONS = {layout.BASELINE_REPORT: ("method", "result", "failure", "next step")}
MODEL_BANDS = {layout.PHASE4A_MODEL: 6, layout.PHASE4B_MODEL: 8}
FUSED_SAMPLES = {layout.X_TRAIN_FUSED: 300, layout.X_VAL_FUSED: 75}


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
    top = config.get("config", {}).get("layers", [])
    # functional models: [name, 0, 0] (one output, Keras 3) or [[name, 0, 0], ...]; Sequential: none
    outputs = config.get("config", {}).get("output_layers") or []
    if outputs:
        out_name = outputs[0][0] if isinstance(outputs[0], list) else outputs[0]
    else:
        out_name = top[-1]["config"].get("name") if top else None
    units = next((layer["config"].get("units") for layer in top if layer["config"].get("name") == out_name), None)
    return ModelSummary(input_shape=shape, output_units=units, layer_classes=[layer["class_name"] for layer in layers])


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


def match_bands(x: np.ndarray, reference: np.ndarray) -> list[tuple[int, float]]:
    """For each channel of ``x``, the reference channel it correlates with best, and that correlation."""
    a = x.reshape(-1, x.shape[-1]).astype(np.float64)
    b = reference.reshape(-1, reference.shape[-1]).astype(np.float64)
    a = (a - a.mean(0)) / (a.std(0) + 1e-12)
    b = (b - b.mean(0)) / (b.std(0) + 1e-12)
    corr = a.T @ b / a.shape[0]
    return [(int(np.argmax(row)), float(row.max())) for row in corr]


def check_fused(report: DeliverablesReport, path: Path, rel: Path, n: int, reference: Path | None) -> None:
    if not path.exists():
        report.add(rel, False, f"missing: save the fused patches with np.save('{rel}', X)")
        return
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        report.add(rel, False, f"not a readable .npy array ({exc})")
        return
    if x.shape != (n, 8, 8, len(FUSED_BANDS)):
        report.add(rel, False, f"shape {x.shape}, expected ({n}, 8, 8, 8): patches x rows x cols x bands, "
                               "channels last")
        return
    qc = check_bands(x, FUSED_BANDS)
    problems = list(qc.messages)
    if reference is not None and (reference / rel).exists():
        ref = np.load(reference / rel)
        if ref.shape == x.shape and qc.ok:
            for i, (j, r) in enumerate(match_bands(x, ref)):
                if j != i and r >= MIN_BAND_CORRELATION:
                    problems.append(f"channel {i} looks like {FUSED_BANDS[j]} (r={r:.2f}), not {FUSED_BANDS[i]}: "
                                    f"stack the bands as {list(FUSED_BANDS)}")
                elif r < MIN_BAND_CORRELATION and j == i:
                    problems.append(f"channel {i} ({FUSED_BANDS[i]}) differs from the reference (r={r:.2f}): "
                                    "check its alignment and resampling")
    report.add(rel, not problems, "; ".join(problems) or f"fused array {x.shape}, bands in range")


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


def check_deliverables(root: Path, phases: tuple[str, ...] = ("4a", "4b", "4c"),
                       reference: Path | None = None) -> DeliverablesReport:
    """Check every deliverable of ``phases`` under ``root`` (optionally against a reference run)."""
    root = Path(root)
    report = DeliverablesReport()
    for phase in phases:
        for rel in layout.DELIVERABLES[phase]:
            path = root / rel
            if rel.suffix == ".h5":
                check_model(report, path, rel, MODEL_BANDS.get(rel))
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
        if phase == "4c":
            models = sorted((root / layout.PHASE4C_MODELS).glob("*.h5"))
            bands = {check_model(report, m, m.relative_to(root), None) for m in models}
            missing = {6, 7, 8} - bands
            report.add(layout.PHASE4C_MODELS, not missing,
                       f"{len(models)} SimpleCNN model(s) taking {sorted(b for b in bands if b)} bands"
                       + (f"; none takes {sorted(missing)} bands (S2=6, S2+MODIS/S2+DEM=7, Full=8)" if missing else ""))
    return report
