import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoai_ref.patches import PatchOutOfBounds, extract_patches


@settings(max_examples=60, deadline=None)
@given(h=st.integers(8, 40), w=st.integers(8, 40), c=st.integers(1, 8), data=st.data())
def test_patches_equal_slices_of_the_stack(h, w, c, data):
    stack = np.arange(h * w * c, dtype=np.float32).reshape(h, w, c)
    n = data.draw(st.integers(1, 5))
    rows = np.array(data.draw(st.lists(st.integers(4, h - 4), min_size=n, max_size=n)))
    cols = np.array(data.draw(st.lists(st.integers(4, w - 4), min_size=n, max_size=n)))
    patches = extract_patches(stack, rows, cols)
    assert patches.shape == (n, 8, 8, c) and patches.dtype == stack.dtype
    for i in range(n):
        assert np.array_equal(patches[i], stack[rows[i] - 4 : rows[i] + 4, cols[i] - 4 : cols[i] + 4])


@settings(max_examples=40, deadline=None)
@given(h=st.integers(8, 30), w=st.integers(8, 30), row=st.integers(-3, 40), col=st.integers(-3, 40))
def test_out_of_bounds_iff_the_patch_leaves_the_raster(h, w, row, col):
    stack = np.zeros((h, w, 2))
    inside = 4 <= row <= h - 4 and 4 <= col <= w - 4
    if inside:
        assert extract_patches(stack, [row], [col]).shape == (1, 8, 8, 2)
    else:
        with pytest.raises(PatchOutOfBounds, match="too close to the edge"):
            extract_patches(stack, [row], [col])


def test_error_names_the_samples_and_the_allowed_range():
    stack = np.zeros((20, 30, 6))
    with pytest.raises(PatchOutOfBounds) as err:
        extract_patches(stack, [2, 10], [10, 28], sample_ids=[101, 102])
    text = str(err.value)
    assert "2 sample(s)" in text and "sample 101 at (row 2, col 10)" in text and "sample 102" in text
    assert "rows 4..16 and cols 4..26" in text


def test_channels_last_is_required():
    with pytest.raises(ValueError, match="channels last"):
        extract_patches(np.zeros((20, 20)), [10], [10])


def test_rows_and_cols_must_pair_up():
    with pytest.raises(ValueError, match="equal length"):
        extract_patches(np.zeros((20, 20, 3)), [10, 11], [10])
