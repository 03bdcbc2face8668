"""How much of a backbone is frozen: the exercise's measure, over anything shaped like a Keras model.

Keras-free on purpose: the grader judges a student's freezing from the facts a probe reported
(:class:`autograder.probes.facts.ModelFacts`: ``layers``, ``trainable``, ``layer.count_params()``) and must not
import TensorFlow for it; :mod:`geoai_ref.models.resnet` measures its own Keras models with the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol


class _Layer(Protocol):
    trainable: bool

    def count_params(self) -> int: ...


class _Backbone(Protocol):
    trainable: bool

    @property
    def layers(self) -> Sequence[_Layer]: ...


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n:,}"


@dataclass
class FreezeReport:
    """How much of a backbone is frozen, by layers and by parameters."""

    frozen_layers: int
    total_layers: int
    layer_fraction: float
    frozen_params: int
    total_params: int
    param_fraction: float

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)

    @property
    def summary(self) -> str:
        """One line, e.g. '150/175 layers (85.7 %), 13.6M/23.6M parameters (57.6 %) frozen'."""
        return (
            f"{self.frozen_layers}/{self.total_layers} layers ({100 * self.layer_fraction:.1f} %), "
            f"{_millions(self.frozen_params)}/{_millions(self.total_params)} parameters "
            f"({100 * self.param_fraction:.1f} %) frozen"
        )


def measure_frozen(base: _Backbone) -> FreezeReport:
    """The frozen share of a backbone's layers and parameters (a Keras model, or facts shaped like one).

    A layer counts as frozen when its ``trainable`` is False (or the backbone's own is: Keras
    then trains none of its weights); parameters are the frozen layers' ``count_params`` over
    all layers'.

    Raises:
        ValueError: if ``base`` has no layers.
    """
    layers = list(base.layers)
    if not layers:
        raise ValueError("the backbone has no layers: pass the ResNet-50 sub-model (see find_backbone)")
    frozen = [layer for layer in layers if not (layer.trainable and base.trainable)]
    total_params = sum(layer.count_params() for layer in layers)
    frozen_params = sum(layer.count_params() for layer in frozen)
    return FreezeReport(
        frozen_layers=len(frozen),
        total_layers=len(layers),
        layer_fraction=len(frozen) / len(layers),
        frozen_params=int(frozen_params),
        total_params=int(total_params),
        param_fraction=frozen_params / total_params if total_params else 0.0,
    )
