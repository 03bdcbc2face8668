import numpy as np
import pytest

from geoai_ref import layout
from geoai_ref.sample_index import read_sample_index


def test_reads_the_committed_index(fixtures_root):
    index = read_sample_index(fixtures_root / layout.SAMPLE_INDEX)
    assert len(index) == 375
    val = index.where("val")
    assert np.array_equal(index.array_index[val], np.arange(75))


def test_missing_file_and_column(tmp_path):
    with pytest.raises(FileNotFoundError, match="geoai-ref fixtures"):
        read_sample_index(tmp_path / "none.csv")
    path = tmp_path / "bad.csv"
    path.write_text("sample_id,polygon_id,class_id,row,split\n0,0,0,5,train\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['col', 'array_index'\]"):
        read_sample_index(path)


def test_non_integer_value(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("sample_id,polygon_id,class_id,row,col,split,array_index\n0,0,0,5.5,3,train,0\n")
    with pytest.raises(ValueError, match="not an integer"):
        read_sample_index(path)
