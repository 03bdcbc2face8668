"""The JSON layouts of the exercise's metric files, defined once (the autograder reads them).

- ``reports/phase4a_metrics.json``               -> :class:`Phase4AMetrics`
- ``reports/phase4b_ablation_study.json``        -> :class:`AblationStudy` (ResNet-50, phase "4B")
- ``phase4c_outputs/evaluation_results.json``    -> :class:`AblationStudy` (SimpleCNN, phase "4C")

Each is a dataclass written with :func:`write_json` and read back with :func:`read_json`,
which checks the required keys and says which are missing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

SCHEMA_VERSION = 1


@dataclass
class ModelResult:
    """One trained model evaluated on the validation set."""

    name: str
    bands: list[str]
    accuracy: float
    macro_f1: float
    evaluation: dict[str, Any]  # geoai_ref.evaluation.EvaluationMetrics.to_dict()
    collapse: dict[str, Any]  # geoai_ref.collapse.CollapseReport.to_dict()
    training: dict[str, Any]  # epochs_run, best_epoch, seconds, seconds_per_epoch, history
    model_path: str | None = None


@dataclass
class Phase4AMetrics:
    phase: str
    model: str
    recipe: dict[str, Any]
    pretrained: bool
    weights_source: str | None
    freeze: dict[str, Any]  # geoai_ref.models.resnet.FreezeReport.to_dict()
    result: ModelResult
    week3_baseline: dict[str, Any]  # {"val_accuracy": float, "source": str}
    split: dict[str, Any]  # how the validation set was formed, and its class counts
    schema_version: int = SCHEMA_VERSION


@dataclass
class AblationStudy:
    phase: str
    model: str
    configurations: list[ModelResult]
    best_configuration: str
    split: dict[str, Any]
    pretrained: bool | None = None
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def result(self, name: str) -> ModelResult:
        """Raises: KeyError if no configuration has that name."""
        for r in self.configurations:
            if r.name == name:
                return r
        raise KeyError(f"no configuration {name!r}; have {[r.name for r in self.configurations]}")


T = TypeVar("T", Phase4AMetrics, AblationStudy)


def write_json(path: Path, obj: Phase4AMetrics | AblationStudy) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(obj), indent=1) + "\n")
    return path


def _required(cls: type) -> list[str]:
    from dataclasses import MISSING

    return [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]


def _model_result(data: dict[str, Any], where: str) -> ModelResult:
    missing = [k for k in _required(ModelResult) if k not in data]
    if missing:
        raise ValueError(f"{where} lacks the key(s) {missing}")
    return ModelResult(**{f.name: data[f.name] for f in fields(ModelResult) if f.name in data})


def read_json(path: Path, cls: type[T]) -> T:
    """Read a metrics file into ``cls``.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: if it is not JSON, or a required key is missing (the message names them).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    missing = [k for k in _required(cls) if k not in data]
    if missing:
        raise ValueError(f"{path} lacks the key(s) {missing}; expected the layout of geoai_ref.schemas.{cls.__name__}")
    kwargs = {f.name: data[f.name] for f in fields(cls) if f.name in data}
    if cls is Phase4AMetrics:
        kwargs["result"] = _model_result(data["result"], f"{path}: result")
    else:
        kwargs["configurations"] = [_model_result(c, f"{path}: configurations[{i}]")
                                    for i, c in enumerate(data["configurations"])]
    return cls(**kwargs)
