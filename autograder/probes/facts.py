"""What a probe tells the grader about Keras objects the student's code made: plain facts, never the objects.

A probe process describes a model its student function returned (or changed) and the callbacks it returned
(:mod:`autograder.probes.runner`); the grader reads those descriptions back as the frozen dataclasses here and
judges them. :class:`ModelArg` is the other direction: a model the probe builds from a recipe and hands to a
student function (``freeze_by_ratio(backbone, 0.3)``), whose state after the call comes back as facts.

Parsing never trusts the description: anything that is not the expected plain data makes :func:`parse` return
None (the judge then reports an unreadable answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int | None, ...]


def _shape(value: Any) -> Shape | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(v is None or (type(v) is int) for v in value):
        raise ValueError("not a shape")
    return tuple(value)


def _optional(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:
        raise ValueError(f"not a {kind.__name__}")
    return value


class Returned:
    """What the student's function returned when it was not plain data: only its type's name crosses over."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


@dataclass(frozen=True)
class LayerFacts:
    """One layer: its name, the model it sits in (None: the top level), the Keras classes it is an instance of
    (``Conv2D``, ``Dense``, ``BatchNormalization``, ``Lambda``, ``Model``, ...), and its settings."""

    name: str
    parent: str | None
    kinds: frozenset[str]
    trainable: bool
    has_weights: bool
    params: int
    kernel_shape: Shape | None = None
    kernel_size: Shape | None = None
    filters: int | None = None
    units: int | None = None
    input_shape: Shape | None = None

    def is_a(self, kind: str) -> bool:
        return kind in self.kinds

    def count_params(self) -> int:
        """As Keras's ``layer.count_params()`` (so :func:`geoai_ref.freezing.measure_frozen` reads facts)."""
        return self.params

    @classmethod
    def parse(cls, data: Any) -> LayerFacts:
        if not isinstance(data, dict) or not isinstance(data.get("kinds"), list):
            raise ValueError("not a layer description")
        return cls(name=str(data["name"]), parent=_optional(data.get("parent"), str),
                   kinds=frozenset(str(k) for k in data["kinds"]), trainable=bool(data["trainable"]),
                   has_weights=bool(data["has_weights"]), params=int(data.get("params") or 0),
                   kernel_shape=_shape(data.get("kernel_shape")), kernel_size=_shape(data.get("kernel_size")),
                   filters=_optional(data.get("filters"), int), units=_optional(data.get("units"), int),
                   input_shape=_shape(data.get("input_shape")))


@dataclass(frozen=True)
class ModelFacts:
    """A Keras model as the probe saw it: shapes, whether it is trainable, its top-level layers (``layers``, in
    order), every layer of nested models too (``all_layers``), and its outputs on random inputs of its input shape
    (``predictions``; empty when the input shape was not fully known)."""

    input_shape: Shape | None
    output_shape: Shape | None
    trainable: bool
    all_layers: tuple[LayerFacts, ...]
    predictions: np.ndarray | None = None

    @property
    def layers(self) -> list[LayerFacts]:
        return [layer for layer in self.all_layers if layer.parent is None]

    def inner(self, name: str) -> list[LayerFacts]:
        """The layers of the nested model called ``name``."""
        return [layer for layer in self.all_layers if layer.parent == name]

    @classmethod
    def parse(cls, data: Any, predictions: np.ndarray | None) -> ModelFacts:
        if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
            raise ValueError("not a model description")
        return cls(_shape(data.get("input_shape")), _shape(data.get("output_shape")), bool(data.get("trainable")),
                   tuple(LayerFacts.parse(layer) for layer in data["layers"]), predictions)


@dataclass(frozen=True)
class CallbackFacts:
    """A Keras callback: the callback classes it is an instance of, and the settings the exercise asks about."""

    kinds: frozenset[str]
    monitor: str | None = None
    patience: int | None = None
    factor: float | None = None
    restore_best_weights: bool | None = None
    save_best_only: bool | None = None
    filepath: str | None = None

    def is_a(self, kind: str) -> bool:
        return kind in self.kinds

    @classmethod
    def parse(cls, data: Any) -> CallbackFacts:
        if not isinstance(data, dict) or not isinstance(data.get("kinds"), list):
            raise ValueError("not a callback description")
        return cls(frozenset(str(k) for k in data["kinds"]), _optional(data.get("monitor"), str),
                   _optional(data.get("patience"), int), _optional(data.get("factor"), float),
                   _optional(data.get("restore_best_weights"), bool), _optional(data.get("save_best_only"), bool),
                   _optional(data.get("filepath"), str))


@dataclass(eq=False)
class ModelArg:
    """A model the probe builds and passes to a student function: ``build`` is ``"resnet50"`` (a ResNet-50
    without top for 32x32x3 inputs, no weights) or ``"layers"`` (``n_layers`` layers: an input, then Conv2D /
    BatchNormalization / ReLU in turn); ``trainable`` optionally sets each layer's flag after building. Every
    ``ModelArg`` with the same ``id`` is the same model in the probe. ``facts`` is its state after the last call
    replayed to the judge."""

    id: str
    build: str
    n_layers: int | None = None
    trainable: tuple[bool, ...] | None = None
    facts: ModelFacts | None = field(default=None, compare=False)

    def spec(self) -> dict:
        """What the probe's runner needs to build it."""
        return {"id": self.id, "build": self.build, "n_layers": self.n_layers,
                "trainable": None if self.trainable is None else list(self.trainable)}

    def __repr__(self) -> str:
        return f"<{self.build} model {self.id}>"


def type_name(value: object) -> str:
    """The name of an answer's type as the student would know it (a :class:`Returned` marker's own)."""
    return value.type_name if isinstance(value, Returned) else type(value).__name__
