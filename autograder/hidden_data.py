"""The hidden evaluation scene: data only the autograder sees.

Made by the fixture generator with another seed and AOI (``geoai_ref.synth.build.HIDDEN_SCENE``):
native-grid rasters, polygons, and 8-band labelled patches cut from the reference
alignment. Hidden tests and model re-evaluation use it, so students are graded on data
they never saw.
"""

from __future__ import annotations

from pathlib import Path

HIDDEN_DATA_DIR = Path(__file__).resolve().parent / "hidden_data"
