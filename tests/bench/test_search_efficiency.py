import pytest

from bench.search_efficiency import synchronous_epochs


@pytest.mark.parametrize("trials, grace, factor, max_t, epochs", [
    (12, 1, 3, 9, 12 * 1 + 4 * 2 + 12 / 9 * 6),   # rungs 1, 3, 9
    (24, 1, 4, 9, 24 * 1 + 6 * 3 + 24 / 16 * 5),  # rungs 1, 4, then max_t
    (8, 2, 2, 6, 8 * 2 + 4 * 2 + 2 * 2),          # rungs 2, 4, then max_t (the laptop preset)
    (5, 9, 3, 9, 5 * 9),                           # grace = max_t: nothing is stopped
])
def test_synchronous_epochs_follow_the_rungs(trials, grace, factor, max_t, epochs):
    assert synchronous_epochs(trials, grace, factor, max_t) == pytest.approx(epochs)


def _write_trial(experiment, name, start, aucs, model):
    import json

    folder = experiment / name
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps({"model": model}))
    lines = [json.dumps({"val_auc": auc, "timestamp": start + 10 * (i + 1),
                         "time_total_s": 10.0 * (i + 1)}) for i, auc in enumerate(aucs)]
    (folder / "result.json").write_text("\n".join(lines) + "\n")


def test_trial_histories_are_in_start_order_with_every_epoch(tmp_path):
    from bench.fixed_search import trial_histories

    # Folder names sort the other way round from the start times, as Ray's random ids may.
    _write_trial(tmp_path, "trial_aaaa", 1_000_100, [0.5, 0.7, 0.8], "resnet34")
    _write_trial(tmp_path, "trial_ffff", 1_000_000, [0.55], "resnet18")
    (tmp_path / "trial_0000").mkdir()  # a trial that never reported: left out
    (tmp_path / "trial_0000" / "result.json").write_text("")

    assert trial_histories(tmp_path, "classify") == [
        {"config": {"model": "resnet18"}, "val_auc_by_epoch": [0.55]},
        {"config": {"model": "resnet34"}, "val_auc_by_epoch": [0.5, 0.7, 0.8]},
    ]


def test_rung_promotions_count_what_asha_let_past_against_the_top_of_all_arrivals(tmp_path):
    from bench.fixed_search import trial_histories
    from bench.search_efficiency import rung_promotions

    # Rungs at 1 epoch of 3 (factor 3). Each trial scores better than the one before, as when
    # TPE learns: ASHA lets 5 of 6 past (the first two with little to compare against, then
    # each new best), where the top third of all six is 2.
    firsts = [0.5, 0.52, 0.6, 0.7, 0.8, 0.9]
    for i, first in enumerate(firsts):
        aucs = [first] if i == 2 else [first, first + 0.01, first + 0.02]
        _write_trial(tmp_path, f"trial_{i}", 1_000_000 + 100 * i, aucs, "resnet18")
    rows = rung_promotions(trial_histories(tmp_path, "classify"), 1, 3, 3)
    assert len(rows) == 1
    assert rows[0] | {"later_half_minus_first_half": None} == {
        "epoch": 1, "reached": 6, "promoted": 5, "top_of_all_arrivals": 2,
        "later_half_minus_first_half": None}
    assert rows[0]["later_half_minus_first_half"] == pytest.approx(0.8 - 0.54)
    assert rung_promotions(trial_histories(tmp_path, "classify"), 3, 3, 3) == []  # no rungs
