"""Every hyperparameter of the exercise, and of the kit's recommended fixes, in one place.

- The **exercise recipe** for Phase 4A is what the exercise prescribes and reports as a
  failure (13.33 %, collapse): ImageNet ``preprocess_input`` on reflectance, the first 150
  of 175 backbone layers frozen, BatchNorm left in training mode, Adam at 1e-4.
- The **recommended recipe** is the exercise's own troubleshooting advice (Issues 6 and 8)
  plus the Keras transfer-learning guide: per-band normalisation from training statistics,
  the cut at 60 % of the backbone's layers (within the advised 50-70 %), BatchNorm in
  inference mode. In Keras 3 that last part means BatchNorm layers after the cut stay frozen
  too (see geoai_ref.models.resnet), so the *measured* frozen share is 126/175 layers (72 %)
  but only 19 % of the parameters.
- **Profiles** decide how long training runs: ``full`` is the exercise (up to 50 epochs with
  early stopping), ``fast`` is for tests and demos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ResNetRecipe:
    """How a ResNet-50 is adapted, frozen and trained."""

    name: str
    adapter: str  # "conv1_inflation" | "band_reduction"
    input_handling: str  # "per_band" (Normalization layer) | "imagenet_preprocess" (keras preprocess_input)
    freeze_layers: int | None
    freeze_ratio: float | None
    bn_inference: bool
    learning_rate: float
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)


EXERCISE_RECIPE = ResNetRecipe(name="exercise", adapter="conv1_inflation", input_handling="imagenet_preprocess",
                               freeze_layers=150, freeze_ratio=None, bn_inference=False, learning_rate=1e-4)
RECOMMENDED_RECIPE = ResNetRecipe(name="recommended", adapter="conv1_inflation", input_handling="per_band",
                                  freeze_layers=None, freeze_ratio=0.6, bn_inference=True, learning_rate=1e-4)
RECIPES = {r.name: r for r in (EXERCISE_RECIPE, RECOMMENDED_RECIPE)}

#: Week 3 / Phase 4C SimpleCNN: Adam, lr 1e-3, batch 32, early stopping (the exercise, Phase 4C).
SIMPLE_CNN_LEARNING_RATE = 1e-3
BATCH_SIZE = 32


@dataclass(frozen=True)
class Profile:
    """How long to train: epochs, early-stopping and learning-rate patience."""

    name: str
    max_epochs: int
    patience: int
    reduce_lr_patience: int

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES = {
    "fast": Profile("fast", max_epochs=3, patience=2, reduce_lr_patience=1),
    "full": Profile("full", max_epochs=50, patience=10, reduce_lr_patience=5),
}


def profile(name: str) -> Profile:
    """The named profile.

    Raises:
        KeyError: if there is no such profile (the message lists them).
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}") from None
