import matplotlib.pyplot as plt

from search import study_summary


def _legend_boxes(fig):
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [legend.get_window_extent(renderer) for legend in legends]


def test_the_history_legend_hides_no_trial(tmp_path, monkeypatch):
    # A laptop classify search's trials, in order: the third one sat under an in-axes legend.
    values = [0.5072, 0.7309, 0.4928, 0.5946, 0.5731, 0.4656]
    epochs = [2, 6, 2, 4, 4, 2]
    figures = []
    monkeypatch.setattr(study_summary.plt, "close", figures.append)
    study_summary.plot_history(epochs, values, "val_auc", "max", None, tmp_path / "history.png")
    (fig,) = figures
    assert (tmp_path / "history.png").stat().st_size > 0
    boxes = _legend_boxes(fig)
    assert boxes, "the plot has no legend"
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_marker() != "o":
                continue
            for x, y in ax.transData.transform(line.get_xydata()):
                assert not any(box.contains(x, y) for box in boxes), (x, y)
    plt.close(fig)


def test_the_history_names_its_baseline_and_counts_in_whole_numbers(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(study_summary.plt, "close", figures.append)
    study_summary.plot_history([1], [28.1], "val_psnr", "max", 28.5,
                               tmp_path / "history.png", "bicubic")
    (fig,) = figures
    labels = [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    assert labels == ["trial (its best epoch)", "best so far", "bicubic (baseline)"]
    for ax in fig.axes:  # trials and epochs are counts
        assert all(tick == int(tick) for tick in ax.get_xticks())
    plt.close(fig)
