import numpy as np
import pytest

from geoai_ref.ablation import BAND_SUBSETS, select_bands, subset_bands
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.recipes import EXERCISE_RECIPE, PROFILES, RECOMMENDED_RECIPE, profile


def test_exercise_recipe_is_the_exercise():
    assert EXERCISE_RECIPE.freeze_layers == 150 and EXERCISE_RECIPE.learning_rate == 1e-4
    assert EXERCISE_RECIPE.input_handling == "imagenet_preprocess" and not EXERCISE_RECIPE.bn_inference


def test_recommended_recipe_follows_the_troubleshooting_advice():
    assert 0.5 <= RECOMMENDED_RECIPE.freeze_ratio <= 0.7  # "reduce freezing ratio to 50-70 %"
    assert RECOMMENDED_RECIPE.input_handling == "per_band" and RECOMMENDED_RECIPE.bn_inference


def test_profiles():
    assert PROFILES["full"].max_epochs == 50
    assert PROFILES["fast"].max_epochs < PROFILES["full"].max_epochs
    with pytest.raises(KeyError, match="choose one of \\['fast', 'full'\\]"):
        profile("slow")


def test_four_ablation_configurations():
    assert {name: len(bands) for name, bands in BAND_SUBSETS.items()} == {"S2": 6, "S2+MODIS": 7, "S2+DEM": 7,
                                                                           "Full": 8}
    assert subset_bands("S2+DEM")[-1] == "DEM"
    with pytest.raises(KeyError, match="unknown band subset"):
        subset_bands("S1")


def test_select_bands_by_name():
    x = np.arange(2 * 8 * 8 * 8, dtype=float).reshape(2, 8, 8, 8)
    dem = select_bands(x, BAND_SUBSETS["S2+DEM"])
    assert dem.shape == (2, 8, 8, 7)
    assert np.array_equal(dem[..., 6], x[..., FUSED_BANDS.index("DEM")])
    assert np.array_equal(dem[..., :6], x[..., :6])
    with pytest.raises(ValueError, match="has 8"):
        select_bands(x[..., :6], BAND_SUBSETS["S2"])
