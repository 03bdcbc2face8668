import pytest
from rasterio.enums import Resampling

from geoai_ref.bands import BANDS, FUSED_BANDS, S2_BANDS, band, band_indices
from geoai_ref.classes import CLASS_NAMES, class_id


def test_fused_order_is_the_exercise_order():
    assert FUSED_BANDS == ("B2", "B3", "B4", "B8", "B11", "B12", "MODIS_NDVI", "DEM")
    assert S2_BANDS == FUSED_BANDS[:6]


def test_continuous_bands_bilinear_categorical_nearest():
    assert all(BANDS[b].resampling == Resampling.bilinear for b in FUSED_BANDS)
    assert BANDS["LANDCOVER"].resampling == Resampling.nearest


def test_registry_encodes_product_storage():
    assert (BANDS["B4"].storage_dtype, BANDS["B4"].scale, BANDS["B4"].nodata) == ("uint16", 1e-4, 0)
    assert (BANDS["MODIS_NDVI"].storage_dtype, BANDS["MODIS_NDVI"].nodata) == ("int16", -3000)
    assert BANDS["MODIS_NDVI"].native_resolution_m == pytest.approx(231.656, abs=1e-3)
    assert BANDS["B11"].native_resolution_m == 20.0


def test_unknown_band_lists_known_ones():
    with pytest.raises(KeyError, match="known bands: B2"):
        band("B5")


def test_band_indices():
    assert band_indices(["B2", "DEM"]) == [0, 7]
    with pytest.raises(KeyError, match="not in the stack"):
        band_indices(["MODIS_NDVI"], S2_BANDS)


def test_classes_named_once():
    assert CLASS_NAMES == ("Agriculture", "Forest", "Parcels", "Urban", "Water")
    assert class_id("Urban") == 3
    with pytest.raises(KeyError, match="its classes are Agriculture, Forest, Parcels, Urban, Water"):
        class_id("Snow")
