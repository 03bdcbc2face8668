"""The exercise's frozen-share measure over plain layer descriptions (no Keras): what the grader reads from facts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from geoai_ref.freezing import FreezeReport, measure_frozen


@dataclass
class Layer:
    trainable: bool
    params: int

    def count_params(self) -> int:
        return self.params


@dataclass
class Backbone:
    layers: list[Layer] = field(default_factory=list)
    trainable: bool = True


def test_layers_and_parameters_are_counted_separately() -> None:
    base = Backbone([Layer(False, 100), Layer(False, 0), Layer(True, 300), Layer(True, 600)])
    report = measure_frozen(base)
    assert report == FreezeReport(frozen_layers=2, total_layers=4, layer_fraction=0.5, frozen_params=100,
                                  total_params=1000, param_fraction=0.1)
    assert report.summary == "2/4 layers (50.0 %), 100/1,000 parameters (10.0 %) frozen"


def test_a_frozen_backbone_freezes_every_layer_whatever_their_flags() -> None:
    report = measure_frozen(Backbone([Layer(True, 5), Layer(True, 5)], trainable=False))
    assert (report.frozen_layers, report.layer_fraction, report.param_fraction) == (2, 1.0, 1.0)


def test_a_backbone_without_layers_is_refused() -> None:
    with pytest.raises(ValueError, match="find_backbone"):
        measure_frozen(Backbone([]))
