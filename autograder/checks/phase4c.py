"""Hidden checks of Phase 4C (SimpleCNN + multi-sensor fusion ablation).

- :func:`check_subsets`: the student's ``band_subsets()`` and ``select_bands(x, names)`` against
  :mod:`geoai_ref.ablation`, on the hidden scene's fused patches and on arrays whose channels
  are labelled by their position, with band names in orders the notebook never uses;
- :func:`check_results`, :func:`check_figures`, :func:`check_report`: the files the student
  submitted (paths relative to the notebook folder, never the autograder's rerun). Models are
  inspected statically (:func:`geoai_ref.deliverables.check_model`), never loaded with Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from autograder.checks.common import CheckFailed, as_array, call, expect, fail_on
from autograder.paths import HIDDEN_DATA
from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.ablation import select_bands as ref_select_bands
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.deliverables import DeliverablesReport, check_figure, check_file, check_text
from geoai_ref.schemas import AblationStudy, read_json

CONFIGURATIONS = tuple(BAND_SUBSETS)  # S2, S2+MODIS, S2+DEM, Full
HIDDEN_X = HIDDEN_DATA / layout.X_HIDDEN_FUSED


# --------------------------------------------------------------------------------------------
# 4c_subsets
# --------------------------------------------------------------------------------------------

def check_band_subsets(band_subsets: Callable[[], dict]) -> None:
    """``band_subsets()`` names the four configurations and their bands (order within a list is free).

    Raises:
        CheckFailed: on a missing / extra configuration, a wrong band, or a duplicated band.
    """
    subsets = call(band_subsets, what="band_subsets()")
    expect(isinstance(subsets, dict), f"band_subsets() returned {type(subsets).__name__}; return a dict "
                                      f"mapping each configuration name to its list of band names")
    missing = [n for n in CONFIGURATIONS if n not in subsets]
    extra = [n for n in subsets if n not in CONFIGURATIONS]
    expect(not missing and not extra,
           f"band_subsets() has the keys {list(subsets)}; expected exactly {list(CONFIGURATIONS)}"
           + (f" (missing {missing})" if missing else "") + (f" (unexpected {extra})" if extra else ""))
    for name, expected in BAND_SUBSETS.items():
        got = subsets[name]
        expect(isinstance(got, list | tuple) and all(isinstance(b, str) for b in got),
               f"band_subsets()[{name!r}] must be a list of band names (strings), got {got!r}")
        expect(len(set(got)) == len(got), f"band_subsets()[{name!r}] repeats a band: {list(got)}")
        expect(set(got) == set(expected),
               f"band_subsets()[{name!r}] is {list(got)}; it should hold the {len(expected)} bands "
               f"{list(expected)} (use the names of FUSED_BANDS)")


def _labelled(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 8, 8, 8) float32 whose channel i holds i * 1000 + noise: a moved channel is obvious."""
    x = rng.normal(0.0, 1.0, (n, 8, 8, len(FUSED_BANDS))).astype(np.float32)
    return x + 1000.0 * np.arange(len(FUSED_BANDS), dtype=np.float32)


def _compare_selection(select_bands: Callable, x: np.ndarray, names: list[str], what: str) -> None:
    before = x.copy()
    got = as_array(call(select_bands, x, list(names), what=f"select_bands(X, {list(names)})"), "select_bands")
    expect(np.array_equal(x, before), "select_bands modified its input array: return a new array (index a copy)")
    want = ref_select_bands(x, tuple(names))
    expect(got.shape == want.shape,
           f"select_bands({what}, {list(names)}) returned shape {got.shape}; expected {want.shape}: "
           "keep every patch, row and column and take one channel per requested band (channels last)")
    if not np.allclose(got, want):
        channels = [int(np.argmin(np.abs(x[0, 0, 0] - v))) for v in np.asarray(got)[0, 0, 0]]
        hint = ""
        if x.shape[-1] == len(FUSED_BANDS) and all(0 <= c < len(FUSED_BANDS) for c in channels):
            hint = f" (it took the channels {[FUSED_BANDS[c] for c in channels]})"
        raise CheckFailed(f"select_bands({what}, {list(names)}) returned the wrong channels{hint}: look each name "
                          f"up in FUSED_BANDS = {list(FUSED_BANDS)} and return the channels in the order requested")


def _select_cases() -> tuple[list[tuple[np.ndarray, list[str], str]], tuple[np.ndarray, list[str]]]:
    """(patches, band names, what they are) for :func:`_compare_selection`: the hidden scene's fused patches with
    each configuration, arrays labelled by channel with names in other orders; and a call naming an unknown band."""
    rng = np.random.default_rng(4321)
    hidden = np.load(HIDDEN_X, allow_pickle=False)
    cases = [(hidden, list(bands), f"hidden patches, configuration {name}") for name, bands in BAND_SUBSETS.items()]
    labelled = _labelled(5, rng)
    orders = [list(reversed(FUSED_BANDS)), ["DEM", "B2"], ["MODIS_NDVI"], ["B12", "B11", "DEM", "B8", "B4"],
              [FUSED_BANDS[i] for i in rng.permutation(len(FUSED_BANDS))]]
    cases += [(labelled, names, "a labelled array") for names in orders]
    return cases, (labelled, ["B2", "NIR"])


def subsets_calls() -> list[tuple]:
    """The calls of :func:`check_subsets`."""
    cases, unknown = _select_cases()
    return [("band_subsets", ())] + [("select_bands", (x, names)) for x, names, _ in cases] \
        + [("select_bands", unknown)]


def check_select_bands(select_bands: Callable) -> None:
    """``select_bands(x, names)`` takes the named channels of FUSED_BANDS-ordered ``x``, in the order asked.

    Raises:
        CheckFailed: if a channel is wrong, moved, or the input is modified, or an unknown band passes silently.
    """
    cases, (labelled, unknown) = _select_cases()
    for x, names, what in cases:
        _compare_selection(select_bands, x, names, what)
    try:
        select_bands(labelled, unknown)
    except NotImplementedError:
        raise CheckFailed("select_bands is not implemented yet") from None
    except (KeyError, ValueError, IndexError):
        pass
    except Exception as exc:  # noqa: BLE001
        raise CheckFailed(f"select_bands(X, {unknown}) raised {type(exc).__name__}; raise KeyError (or "
                          "ValueError) for a band name that is not in FUSED_BANDS") from None
    else:
        raise CheckFailed(f"select_bands(X, {unknown}) returned a result, but 'NIR' is not a band of FUSED_BANDS: "
                          "raise KeyError for an unknown band name instead of guessing")


def check_subsets(band_subsets: Callable[[], dict], select_bands: Callable) -> None:
    """The whole 4c_subsets hidden check: the four configurations, and the band selection (:func:`subsets_calls`).

    Raises:
        CheckFailed: saying what is wrong (see :func:`check_band_subsets`, :func:`check_select_bands`).
    """
    check_band_subsets(band_subsets)
    check_select_bands(select_bands)


# --------------------------------------------------------------------------------------------
# 4c_results, 4c_figures, 4c_report (the submitted files)
# --------------------------------------------------------------------------------------------

def check_results_json(folder: Path | str = ".") -> AblationStudy:
    """``phase4c_outputs/evaluation_results.json``: the AblationStudy layout, four consistent configurations.

    Raises:
        CheckFailed: if the file is missing, malformed, or its numbers contradict each other.
    """
    folder = Path(folder)
    rel = layout.PHASE4C_RESULTS
    expect((folder / rel).is_file(), f"{rel} is missing: run the notebook with the full epoch budget, "
                                     "write the results with json.dump and submit the file")
    try:
        study = read_json(folder / rel, AblationStudy)
    except ValueError as exc:
        raise CheckFailed(f"{rel}: {exc} (build each entry of 'configurations' with model_record(...))") from None
    expect(isinstance(study.configurations, list), f"{rel}: 'configurations' must be a list of model_record(...)")
    names = [r.name for r in study.configurations]
    missing = [n for n in CONFIGURATIONS if n not in names]
    expect(not missing, f"{rel} has the configurations {names}; missing {missing}: train and record all of "
                        f"{list(CONFIGURATIONS)}")
    expect(len(names) == len(set(names)), f"{rel} lists a configuration twice: {names}")
    val_size = None
    y_val = folder / layout.Y_VAL
    if y_val.is_file():
        val_size = int(np.load(y_val).shape[0])
    for r in study.configurations:
        where = f"{rel}: configuration {r.name!r}"
        if r.name in BAND_SUBSETS:
            expect(isinstance(r.bands, list) and set(r.bands) == set(BAND_SUBSETS[r.name]),
                   f"{where} has the bands {r.bands}; expected {list(BAND_SUBSETS[r.name])}")
        expect(isinstance(r.accuracy, int | float) and 0.0 <= r.accuracy <= 1.0,
               f"{where}: accuracy {r.accuracy!r} is not a fraction in 0..1")
        expect(isinstance(r.macro_f1, int | float) and 0.0 <= r.macro_f1 <= 1.0,
               f"{where}: macro_f1 {r.macro_f1!r} is not in 0..1")
        matrix = np.asarray((r.evaluation or {}).get("confusion_matrix", []), dtype=float) \
            if isinstance(r.evaluation, dict) else np.zeros(0)
        expect(matrix.shape == (NUM_CLASSES, NUM_CLASSES),
               f"{where}: evaluation.confusion_matrix must be {NUM_CLASSES}x{NUM_CLASSES}; use evaluate(y_val, y_pred)")
        total = matrix.sum()
        expect(total > 0 and abs(np.trace(matrix) / total - r.accuracy) < 1e-6,
               f"{where}: accuracy {r.accuracy} does not match its confusion matrix "
               f"({np.trace(matrix):g}/{total:g}); record the validation predictions of the same model")
        if val_size is not None:
            expect(total == val_size, f"{where}: the confusion matrix counts {total:g} patches but the validation "
                                      f"set has {val_size}: evaluate on all of X_val")
        epochs = (r.training or {}).get("epochs_run") if isinstance(r.training, dict) else None
        expect(isinstance(epochs, int) and epochs >= 1,
               f"{where}: training.epochs_run is {epochs!r}; pass the Keras history (fit(...).history) "
               "to model_record")
    best = max(r.accuracy for r in study.configurations)
    top = [r.name for r in study.configurations if abs(r.accuracy - best) < 1e-9]
    expect(study.best_configuration in top,
           f"{rel}: best_configuration is {study.best_configuration!r}, but the highest accuracy is {top}'s")
    return study


def check_models(folder: Path | str = ".") -> None:
    """One SimpleCNN per configuration at its path (``phase4c_outputs/models/s2.h5``, ...), taking that
    configuration's bands (read statically).

    Raises:
        CheckFailed: if a model is missing, unreadable, or has the wrong input / output.
    """
    folder = Path(folder)
    report = DeliverablesReport()
    for rel in layout.PHASE4C_MODEL_FILES.values():
        check_file(report, folder, rel)
    fail_on(report)


def check_results(folder: Path | str = ".") -> None:
    """The whole 4c_results hidden check: the metrics JSON and the saved models."""
    check_results_json(folder)
    check_models(folder)


def check_figures(folder: Path | str = ".") -> None:
    """Both Phase 4C figures exist, are readable PNGs and are not blank.

    Raises:
        CheckFailed: naming each figure that fails and why.
    """
    folder = Path(folder)
    report = DeliverablesReport()
    for rel in (layout.PHASE4C_CONFUSION, layout.PHASE4C_ACCURACY):
        check_figure(report, folder / rel, rel)
    fail_on(report)


def check_report(folder: Path | str = ".") -> None:
    """``reports/phase4c_report.md``: substantial, with Conclusions and Next steps headings, every configuration named.

    Raises:
        CheckFailed: saying what is missing.
    """
    folder = Path(folder)
    rel = layout.PHASE4C_REPORT
    report = DeliverablesReport()
    check_text(report, folder / rel, rel)
    if report.failures and "missing section" in report.failures[0].message:
        raise CheckFailed(f"{rel}: {report.failures[0].message}: add '## Conclusions' and '## Next steps' sections "
                          "(Markdown headings start with #)")
    fail_on(report)
    text = (folder / rel).read_text(errors="replace")
    lowered = text.lower()
    absent = [n for n in CONFIGURATIONS if n.lower() not in lowered]
    expect(not absent, f"{rel} does not mention {absent}: discuss every configuration ({list(CONFIGURATIONS)})")
