"""`geoai-ref run`: every deliverable of the chosen phases, and the config.yaml that re-runs it."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import COMPOSITE_END, COMPOSITE_START, FUSED_BANDS
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase
from geoai_ref.recipes import BATCH_SIZE, RECIPES, SIMPLE_CNN_LEARNING_RATE, Profile, ResNetRecipe


def write_config(out: Path, data_root: Path, phases: list[Phase], profile: Profile, recipe: ResNetRecipe,
                 weights: str | Path | None, allow_random_init: bool, seed: int, pretrained: bool | None) -> Path:
    """``config.yaml``: every parameter of the run and the command that repeats it."""
    import keras
    import tensorflow as tf

    phase_option = "all" if len(phases) == len(Phase) else ",".join(p.short for p in phases)
    command = (f"geoai-ref run --phase {phase_option} --profile {profile.name} "
               f"--recipe {recipe.name} --seed {seed} --data {data_root} --out {out}"
               + (" --allow-random-init" if allow_random_init else "")
               + (f" --weights {weights}" if weights not in (None, "imagenet") else ""))
    config = {
        "command": command,
        "data": {"root": str(data_root), "bands": list(FUSED_BANDS), "composite_dates": [COMPOSITE_START,
                                                                                          COMPOSITE_END],
                 "alignment": "rasterio reproject onto the Sentinel-2 10 m grid, bilinear (MODIS, DEM)",
                 "patch_size": 8, "split": "Week 3: stratified by class at the patch level (300 / 75)"},
        "phases": [p.short for p in phases],
        "seed": seed,
        "profile": profile.to_dict(),
        "resnet50": {"recipe": recipe.to_dict(), "weights": str(weights), "allow_random_init": allow_random_init,
                     "pretrained": pretrained, "upsample_to": 32, "batch_size": BATCH_SIZE, "optimizer": "Adam",
                     "callbacks": ["EarlyStopping(val_accuracy, restore best)", "ReduceLROnPlateau(val_loss)",
                                   "ModelCheckpoint(val_accuracy, best only)"]},
        "simple_cnn": {"learning_rate": SIMPLE_CNN_LEARNING_RATE, "batch_size": BATCH_SIZE, "optimizer": "Adam"},
        "ablation": {name: list(bands) for name, bands in BAND_SUBSETS.items()},
        "software": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    path = Path(out) / layout.CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_phases(data_root: Path, out: Path, phases: list[Phase] | tuple[Phase, ...], profile: Profile,
               recipe_name: str = "recommended",
               weights: str | Path | None = "imagenet", allow_random_init: bool = False, seed: int = 42,
               progress: Callable[[str], None] | None = None) -> list[Path]:
    """Run ``phases`` in order and return the deliverables written.

    Raises:
        ValueError: for an unknown phase or recipe.
        FileNotFoundError: if the data are missing.
        PretrainedWeightsUnavailable: if ImageNet weights are missing and ``allow_random_init`` is False.
    """
    from geoai_ref.phase4a import run_phase4a
    from geoai_ref.phase4b import run_phase4b
    from geoai_ref.phase4c import run_phase4c

    phases = [Phase.parse(p) for p in phases]
    if recipe_name not in RECIPES:
        raise UsageError(f"unknown recipe {recipe_name!r}; choose from {sorted(RECIPES)}")
    recipe = RECIPES[recipe_name]
    say = progress or (lambda _: None)
    out = Path(out)
    metrics4a = study4b = None
    pretrained = None
    for phase in phases:
        start = time.perf_counter()
        say(f"phase {phase.label}: training ({profile.name} profile)")
        if phase == Phase.A:
            metrics4a = run_phase4a(data_root, out, profile, recipe, weights, allow_random_init, seed)
            pretrained = metrics4a.pretrained
        elif phase == Phase.B:
            study4b = run_phase4b(data_root, out, profile, recipe, weights, allow_random_init, seed, metrics4a)
            pretrained = study4b.pretrained
        else:
            run_phase4c(data_root, out, profile, seed, resnet=study4b)
        say(f"phase {phase.label}: done in {time.perf_counter() - start:.0f} s")
    write_config(out, Path(data_root), phases, profile, recipe, weights, allow_random_init, seed, pretrained)
    written = [out / p for phase in phases for p in layout.DELIVERABLES[phase]]
    return list(dict.fromkeys([*written, out / layout.CONFIG, out / layout.EXPERIMENT_LOG]))
