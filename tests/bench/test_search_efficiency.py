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


def _epochs_of(aucs):
    """Numbered 1, 2, ...; (epoch, auc) pairs are taken as they are (an epoch reported twice)."""
    return [a if isinstance(a, tuple) else (i + 1, a) for i, a in enumerate(aucs)]


def _write_trial(experiment, name, start, aucs, model):
    import json

    folder = experiment / name
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps({"model": model}))
    lines = [json.dumps({"val_auc": auc, "timestamp": start + 10 * (i + 1),
                         "time_total_s": 10.0 * (i + 1), "training_iteration": epoch})
             for i, (epoch, auc) in enumerate(_epochs_of(aucs))]
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


def test_an_epoch_reported_again_after_a_resume_counts_once_with_its_last_value(tmp_path):
    from bench.fixed_search import trial_histories

    # Resumed from its epoch-1 checkpoint after epoch 3's was lost: epochs 2 and 3 again.
    _write_trial(tmp_path, "trial_a", 1_000_000, [0.5, 0.6, 0.7, (2, 0.65), (3, 0.75)], "r")
    assert trial_histories(tmp_path, "classify") == [
        {"config": {"model": "r"}, "val_auc_by_epoch": [0.5, 0.65, 0.75]}]


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


def _histories(curves, batch_sizes=None):
    return [{"config": {"batch_size": (batch_sizes or [64] * len(curves))[i]},
             "val_auc_by_epoch": curve} for i, curve in enumerate(curves)]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_asha_replay_stops_what_ray_asha_would_and_loses_a_late_bloomer(concurrency):
    from bench.search_efficiency import asha_replay

    # One rung, at epoch 1 of 3. Trial 0 passes with nothing to compare against; trial 1
    # (0.5 < 0.9) and trial 2 (0.6 < the 2/3 percentile of 0.9 and 0.5, 0.767) stop there;
    # trial 3 passes. Trial 1 would have ended best: the replay loses it.
    curves = [[0.9, 0.91, 0.92], [0.5, 0.8, 0.99], [0.6, 0.61, 0.62], [0.95, 0.96, 0.97]]
    replay = asha_replay(_histories(curves), 1, 3, 3, concurrency)
    assert replay["epochs"] == 3 + 1 + 1 + 3
    assert replay["share"] == pytest.approx(8 / 12)
    assert replay["trials_by_epochs"] == {"1": 2, "3": 2}
    assert replay["best_val_auc"] == pytest.approx(0.97)
    assert replay["best_difference"] == pytest.approx(0.97 - 0.99)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_paused_asha_replay_holds_back_a_weak_first_arrival(concurrency):
    from bench.search_efficiency import asha_replay

    # Ray's ASHA lets the first arrival (0.5) run all 3 epochs, and the fourth (0.8, above the
    # 2/3 percentile of the three before it, 0.7): 10. Paused ASHA promotes the top third of
    # the four, trial 1 only: 6.
    curves = [[0.5, 0.5, 0.5], [0.9, 0.9, 0.99], [0.6, 0.6, 0.6], [0.8, 0.8, 0.8]]
    assert asha_replay(_histories(curves), 1, 3, 3, concurrency)["epochs"] == 10
    replay = asha_replay(_histories(curves), 1, 3, 3, concurrency, mode="pause")
    assert replay["trials_by_epochs"] == {"1": 3, "3": 1}
    assert replay["best_difference"] == 0.0


def test_asha_replay_with_the_grace_period_of_the_whole_run_stops_nothing():
    from bench.search_efficiency import asha_replay

    curves = [[0.9, 0.5], [0.5, 0.6], [0.1, 0.2]]
    replay = asha_replay(_histories(curves), 2, 3, 2, 2)
    assert (replay["epochs"], replay["best_difference"]) == (6, 0.0)


def test_asha_replay_refuses_trials_that_were_already_stopped():
    from bench.search_efficiency import asha_replay

    with pytest.raises(ValueError, match="every trial's 3 epochs"):
        asha_replay(_histories([[0.5, 0.6, 0.7], [0.5]]), 1, 3, 3, 2)


def test_rung_by_value_sets_what_a_rung_favours_beside_what_ends_best():
    from bench.search_efficiency import rung_by_value

    # Batch 32 leads at the rung (epoch 1) and ends worse; batch 128 the other way round. The
    # batch-128 trial that was stopped counts at the rung, not among those that ended.
    curves = [[0.7, 0.8, 0.82], [0.5, 0.8, 0.9], [0.72, 0.75, 0.8], [0.52]]
    rows = rung_by_value(_histories(curves, [32, 128, 32, 128]), "batch_size", 1, 3)
    assert rows == [
        {"value": 32, "trials": 2, "in_later_half": 1, "mean_at_rung": pytest.approx(0.71),
         "ran_all_epochs": 2, "mean_best_of_those": pytest.approx(0.81)},
        {"value": 128, "trials": 2, "in_later_half": 1, "mean_at_rung": pytest.approx(0.51),
         "ran_all_epochs": 1, "mean_best_of_those": pytest.approx(0.9)},
    ]


def test_a_no_stopping_trial_that_failed_short_keeps_the_other_figures(tmp_path, monkeypatch):
    import json

    import bench.search_efficiency as se

    full = _histories([[0.5, 0.6, 0.7], [0.5]])  # the second failed for good after an epoch
    asha = _histories([[0.5, 0.6, 0.7], [0.4]])
    legs = {"asha": asha, "full": full}
    monkeypatch.setattr(se, "search", lambda storage, name, *a: {
        "epochs": sum(len(h["val_auc_by_epoch"]) for h in legs[name]), "best_val_auc": 0.7,
        "trials_by_epochs": {}, "search_s": 1.0, "trials": legs[name]})
    monkeypatch.setattr(se, "best_trial", lambda *a: {"batch_size": 64})
    monkeypatch.setattr(se, "seed_spread", lambda *a: [0.69])
    out = tmp_path / "se.json"
    assert se.main(["--trials", "2", "--epochs", "3", "--out", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    assert figures["asha_replayed_on_no_stopping_trials"].startswith("not replayed")
    assert figures["no_stopping_batch_size_at_first_rung"][0]["trials"] == 2


def test_quick_run_with_paused_asha_spends_what_promotion_allows(tmp_path, monkeypatch,
                                                                 ray_runtime):
    import json

    from bench.search_efficiency import main

    # --quick: 3 trials of 3 epochs, one rung at epoch 1 keeping the top third. Paused ASHA
    # promotes exactly one trial whatever the scores: 1 + 1 + 3 epochs.
    monkeypatch.chdir(tmp_path)
    args = ["--quick", "--asha", "pause", "--workdir", str(tmp_path / "work")]
    assert main([*args, "--out", str(tmp_path / "se.json")]) == 0
    figures = json.loads((tmp_path / "se.json").read_text())["figures"]
    assert figures["asha"] == "pause" and figures["asha_epochs"] == 5
    assert figures["asha_trials_by_epochs"] == {"1": 2, "3": 1}
    assert figures["asha_replayed_on_no_stopping_trials"]["epochs"] == 5
    assert not figures["asha_resumed"] and not figures["no_stopping_resumed"]
    # Run again on its --workdir, the finished searches are read back, not run again.
    assert main([*args, "--out", str(tmp_path / "again.json")]) == 0
    again = json.loads((tmp_path / "again.json").read_text())["figures"]
    assert again["asha_resumed"] and again["no_stopping_resumed"]
    for key in ("asha_epochs", "asha_best_val_auc", "no_stopping_epochs", "no_stopping_trials"):
        assert again[key] == figures[key]


def test_a_workdir_search_made_with_other_settings_is_refused(tmp_path, capsys):
    import json

    from bench.search_efficiency import main

    (tmp_path / "file").touch()
    assert main(["--quick", "--workdir", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "asha").mkdir()
    assert main(["--quick", "--workdir", str(tmp_path)]) == 2
    assert "holds no search to resume" in capsys.readouterr().err
    (tmp_path / "asha").rmdir()
    experiment = tmp_path / "full"  # checked before the ASHA search, which may take hours
    experiment.mkdir()
    (experiment / "lenstune.json").write_text(json.dumps({"search": {
        "num_samples": 3, "max_epochs": 3, "grace_epochs": 3, "reduction_factor": 3,
        "asha": "stop", "concurrency": 2, "gpus_per_trial": 0.0, "sim_count": 8,
        "image_size": 16, "val_fraction": 0.5, "seed": 0}}))
    assert main(["--quick", "--workdir", str(tmp_path), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "seed 0, not 1" in err and len(err.strip().splitlines()) == 1
