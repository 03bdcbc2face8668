"""geoai_ref.plots: every figure is a real PNG at the given path, and shows the numbers it is given."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from geoai_ref import plots
from geoai_ref.classes import CLASS_NAMES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path) -> np.ndarray:
    """The image at ``path``, after checking that it is a PNG that is not blank."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    image = mpimg.imread(path)
    assert image[..., :3].std() > 0.05, f"{path} is blank"
    return image


@pytest.fixture
def figures(monkeypatch) -> list:
    """Every matplotlib figure the plots module creates during the test (still inspectable after saving)."""
    created = []
    real = plots.plt.subplots

    def recording_subplots(*args, **kwargs):
        fig, axes = real(*args, **kwargs)
        created.append(fig)
        return fig, axes

    monkeypatch.setattr(plots.plt, "subplots", recording_subplots)
    return created


HISTORY = {"loss": [1.5, 1.0, 0.7], "accuracy": [0.3, 0.55, 0.7],
           "val_loss": [1.6, 1.2, 1.1], "val_accuracy": [0.25, 0.5, 0.6]}


def test_training_curves_plot_each_series_against_its_epochs(tmp_path, figures):
    path = tmp_path / "figures" / "nested" / "curves.png"
    assert plots.training_curves(HISTORY, "Phase 4A curves", path) == path
    assert read_png(path).shape[:2] == (420, 1100)  # figsize 11 x 4.2 in at 100 dpi
    (fig,) = figures
    loss_ax, accuracy_ax = fig.axes
    assert fig.get_suptitle() == "Phase 4A curves"
    for ax, key in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {f"training {key}", f"validation {key}"}
        assert list(lines[f"training {key}"].get_xdata()) == [1, 2, 3]
        assert list(lines[f"training {key}"].get_ydata()) == HISTORY[key]
        assert list(lines[f"validation {key}"].get_ydata()) == HISTORY["val_" + key]
    assert accuracy_ax.get_ylim() == (0, 1.02)


def test_training_curves_without_validation_plot_the_training_series_only(tmp_path, figures):
    history = {"loss": [1.0, 0.5], "accuracy": [0.4, 0.8]}
    read_png(plots.training_curves(history, "no validation", tmp_path / "c.png"))
    labels = [line.get_label() for ax in figures[0].axes for line in ax.get_lines()]
    assert labels == ["training loss", "training accuracy"]


MATRIX = [[9, 1, 0, 0, 0], [0, 12, 3, 0, 0], [0, 0, 10, 0, 0], [2, 0, 0, 13, 0], [0, 0, 5, 0, 10]]


def test_confusion_matrix_figure_writes_every_count_with_class_names_on_both_axes(tmp_path, figures):
    path = plots.confusion_matrix_figure(MATRIX, "Phase 4A: accuracy 72.0 %", tmp_path / "cm.png")
    assert read_png(path).shape[:2] == (550, 650)
    (ax,) = figures[0].axes
    assert ax.get_title() == "Phase 4A: accuracy 72.0 %"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASS_NAMES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASS_NAMES)
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert len(cells) == 25
    for (i, j), count in np.ndenumerate(MATRIX):
        assert cells[i, j].get_text() == str(count)
        # counts above half the largest are written in white on the dark cells, the rest in black
        assert cells[i, j].get_color() == ("white" if count > 13 / 2 else "black")
    # rows are the truth: the image shows the matrix as given, not transposed
    assert np.array_equal(ax.get_images()[0].get_array(), MATRIX)


def test_confusion_matrices_figure_puts_one_titled_panel_per_configuration_side_by_side(tmp_path, figures):
    names = ["S2", "S2+MODIS", "S2+DEM", "Full"]
    path = plots.confusion_matrices_figure({n: MATRIX for n in names}, "Phase 4C", tmp_path / "four.png")
    assert read_png(path).shape[:2] == (520, 4 * 520)  # 5.2 in per panel at 100 dpi
    panels = [ax for ax in figures[0].axes if ax.get_images()]
    assert [ax.get_title() for ax in panels] == names
    assert figures[0].get_suptitle() == "Phase 4C"
    one = plots.confusion_matrices_figure({"S2": MATRIX}, "one", tmp_path / "one.png")
    assert read_png(one).shape[:2] == (520, 520)


def test_accuracy_bars_show_percentages_a_second_metric_the_baseline_and_chance(tmp_path, figures):
    values = {"S2": 0.48, "S2+MODIS": 0.53, "S2+DEM": 0.69, "Full": 0.44}
    f1 = {"S2": 0.40, "S2+MODIS": 0.50, "S2+DEM": 0.65, "Full": 0.30}
    path = plots.accuracy_bars(values, "Phase 4B ablation", tmp_path / "bars.png",
                               baseline=("Week 3 SimpleCNN", 0.8667), secondary=f1)
    assert read_png(path).shape[:2] == (480, 800)
    (ax,) = figures[0].axes
    accuracy, macro_f1 = ax.containers
    assert [b.get_height() for b in accuracy] == pytest.approx([48, 53, 69, 44])
    assert [b.get_height() for b in macro_f1] == pytest.approx([40, 50, 65, 30])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["accuracy", "macro F1"]
    horizontal = sorted(line.get_ydata()[0] for line in ax.get_lines())
    assert horizontal == pytest.approx([20, 86.67])  # chance (1/5) and the baseline
    texts = [t.get_text() for t in ax.texts]
    assert "Week 3 SimpleCNN: 86.7 %" in texts and "chance (20 %)" in texts
    assert "69.0 %" in texts and "65.0" in texts  # bar labels


def test_accuracy_bars_without_a_second_metric_draw_one_bar_per_configuration(tmp_path, figures):
    read_png(plots.accuracy_bars({"S2": 0.9, "Full": 0.2}, "t", tmp_path / "b.png"))
    (ax,) = figures[0].axes
    (bars,) = ax.containers
    assert [b.get_height() for b in bars] == pytest.approx([90, 20])
    assert [line.get_ydata()[0] for line in ax.get_lines()] == pytest.approx([20])  # chance only: no baseline


def test_pipeline_overview_without_a_truth_raster_says_so(tiny_root, tmp_path, figures):
    """Earth Engine downloads have no truth raster: the panel is left empty and titled, the figure still written."""
    from rasterio.enums import Resampling

    from geoai_ref.align import fuse, load_sources, resample_band
    from geoai_ref.sample_index import SampleIndex
    from geoai_ref.splits import check_split

    sources = load_sources(tiny_root)
    stack = fuse(sources)
    modis_nearest = resample_band(sources.modis, "MODIS_NDVI", stack.grid, Resampling.nearest)
    y = np.repeat(np.arange(5), 4)
    split = np.array(["train", "train", "train", "val"] * 5)
    index = SampleIndex(sample_id=np.arange(20), polygon_id=np.arange(20), class_id=y,
                        row=np.tile([8, 16, 24, 32], 5), col=np.repeat([6, 12, 18, 24, 30], 4), split=split,
                        array_index=np.arange(20))
    splits = {"week3": check_split(y[split == "train"], y[split == "val"]),
              "keras_validation_split": check_split(y[:16], y[16:])}
    path = plots.pipeline_overview(stack, modis_nearest, None, index, splits, tmp_path / "f" / "overview.png")
    assert read_png(path).shape[:2] == (855, 1350)  # 15 x 9.5 in at 90 dpi
    fig = figures[0]
    truth_ax = fig.axes[4]
    assert truth_ax.get_title() == "no truth raster (Earth Engine data)" and not truth_ax.axison
    samples_ax, mix_ax = fig.axes[0], fig.axes[5]
    assert [t.get_text() for t in samples_ax.get_legend().get_texts()] == ["train (15)", "val (5)"]
    assert [t.get_text() for t in mix_ax.get_legend().get_texts()] == ["week3 (ok)", "keras_validation_split (FLAGGED)"]
    week3_bars = mix_ax.containers[0]
    assert [b.get_height() for b in week3_bars] == pytest.approx([20] * 5)
