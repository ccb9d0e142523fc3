"""Whole searches on a real local Ray runtime, real Optuna, real ASHA and real files."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from search.report import main as report_main
from search.run import main as run_main
from tasks import load_model
from trainables.data.lensing import LensingRecipe
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs, write_simulated_sr_pairs
from trainables.superres import evaluate

SEARCH = ["--task", "superres", "--num-samples", "4", "--max-epochs", "3", "--grace-epochs", "1",
          "--cpus-per-trial", "1", "--no-dashboard", "--seed", "0", "--refit-top", "0",
          "--asha", "stop"]


@pytest.fixture(scope="module")
def finished(sr_data, tmp_path_factory, ray_runtime):
    storage = tmp_path_factory.mktemp("results")
    # Concurrency 1 fixes the order in which trials reach ASHA's rungs. The best two
    # configurations are then trained again, twice each, for 4 epochs.
    code = run_main([*SEARCH, "--data", str(sr_data), "--storage", str(storage), "--name", "e2e",
                     "--concurrency", "1", "--refit-top", "2", "--refit-seeds", "2",
                     "--refit-epochs", "4"])
    return code, storage / "e2e"


def _leaderboard(experiment: Path) -> list[dict]:
    with open(experiment / "leaderboard.csv") as f:
        return list(csv.DictReader(f))


def _searched(experiment: Path) -> list[dict]:
    return [r for r in _leaderboard(experiment) if r["phase"] == "search"]


def test_search_finishes_with_every_trial_on_the_leaderboard(finished):
    code, experiment = finished
    assert code == 0
    rows = _leaderboard(experiment)
    trials = _searched(experiment)
    assert len(trials) == 4 and len({r["trial"] for r in trials}) == 4
    assert [r["trial"] for r in rows if r["phase"] == "baseline"] == ["bicubic"]
    later = [float(r["val_psnr"]) for r in rows if r["phase"] != "refit"]
    assert later == sorted(later, reverse=True), "leaderboard is not best first"
    assert "| phase | trial | model | blocks |" in (experiment / "leaderboard.md").read_text()


def test_the_winners_are_refit_from_scratch_with_fresh_seeds_and_come_first(finished):
    _, experiment = finished
    rows = _leaderboard(experiment)
    refits = [r for r in rows if r["phase"] == "refit"]
    assert [r["phase"] for r in rows[:2]] == ["refit", "refit"]
    assert len(refits) == 2 and all(r["seeds"] == "2" and r["epochs"] == "4" for r in refits)
    assert all(r["status"] == "complete" and float(r["val_psnr_std"]) >= 0 for r in refits)
    means = [float(r["val_psnr"]) for r in refits]
    assert means == sorted(means, reverse=True)
    # The refit configurations are the search's two best, each trained with two new seeds.
    searched = _searched(experiment)
    assert {r["trial"] for r in refits} == {r["trial"] for r in searched[:2]}
    params = [json.loads(p.read_text()) for p in (experiment / "refit").glob("trial_*/params.json")]
    assert sorted(p["seed"] for p in params) == [1, 1, 2, 2]  # the search's trials used seed 0
    epochs = [len(r.read_text().splitlines()) for r in
              (experiment / "refit").glob("trial_*/result.json")]
    assert epochs == [4, 4, 4, 4]
    assert len(list((experiment / "refit").glob("trial_*/events.out.tfevents.*"))) == 4
    # best/ is the best refit model
    summary = json.loads((experiment / "best" / "metrics.json").read_text())
    assert summary["phase"] == "refit" and summary["refit_of"] == refits[0]["trial"]
    assert summary["refit_mean"]["val_psnr"] == pytest.approx(means[0])
    assert "| refit |" in (experiment / "leaderboard.md").read_text()


def test_the_report_says_how_well_the_rungs_predicted_the_end(finished):
    _, experiment = finished
    markdown = (experiment / "leaderboard.md").read_text()
    assert "## Rungs against the end" in markdown
    # rungs at epochs 1 and 2 of 3; the complete search trial and the 4 refits are compared
    assert "| 1 | 5 |" in markdown and "| 2 | 5 |" in markdown


def test_asha_stopped_a_trial_early(finished):
    _, experiment = finished
    trials = _searched(experiment)
    assert any(r["status"] == "stopped early" and int(r["epochs"]) < 3 for r in trials)
    assert any(r["status"] == "complete" and int(r["epochs"]) == 3 for r in trials)


def test_reference_configurations_ran_first(finished):
    _, experiment = finished
    trials = _searched(experiment)
    assert all(r["reference"] == "yes" for r in trials)  # 4 samples = the 4 reference points
    assert {(r["model"], r["loss"]) for r in trials} == {
        ("srresnet", "mse"), ("srresnet", "ssim"), ("edsr", "mse"), ("srcnn", "mse")}


def test_best_checkpoint_reloads_and_reproduces_the_reported_psnr(finished, sr_data):
    _, experiment = finished
    net, spec = load_model(experiment / "best")
    summary = json.loads((experiment / "best" / "metrics.json").read_text())
    best_config = json.loads((experiment / "best_config.json").read_text())
    assert spec["model"] == best_config["model"] == summary["config"]["model"]
    val = split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0).val
    metrics, _ = evaluate(net, torch.as_tensor(val.lr), torch.as_tensor(val.hr),
                          best_config["loss"])
    assert metrics["val_psnr"] == pytest.approx(summary["metrics"]["val_psnr"], abs=1e-3)
    # the best seed of the best refit configuration: the mean's row is at most as good
    top = _leaderboard(experiment)[0]
    assert top["phase"] == "refit"
    assert metrics["val_psnr"] >= float(top["val_psnr"]) - 1e-3


def test_each_trial_has_a_tensorboard_log_with_hparams(finished):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, experiment = finished
    logs = sorted(experiment.glob("trial_*/events.out.tfevents.*"))
    assert len(logs) == 4  # the search's; the refit's lie in refit/
    events = EventAccumulator(str(logs[0].parent), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"val/psnr", "val/ssim", "val/mse", "train/loss", "train/lr"} <= set(tags["scalars"])
    assert "val/LR_SR_HR_error" in tags["images"]
    assert "_hparams_/experiment" in events.summary_metadata


def _hparams(log_dir: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(str(log_dir)).Reload()
    data = plugin_data_pb2.HParamsPluginData.FromString(
        events.summary_metadata["_hparams_/session_start_info"].plugin_data.content)
    return set(data.session_start_info.hparams)


def test_hparams_hold_the_searched_parameters_of_the_trials_branch_and_nothing_else(finished):
    _, experiment = finished
    for trial in [*experiment.glob("trial_*"), *experiment.glob("refit/trial_*")]:
        config = json.loads((trial / "params.json").read_text())
        expected = set(config) - {"seed", "max_epochs"}
        assert _hparams(trial) == expected
        assert "adv_weight" not in expected and "channels_last" not in expected


def test_report_rewrites_the_outputs(finished, capsys):
    _, experiment = finished
    (experiment / "leaderboard.md").unlink()
    assert report_main([str(experiment)]) == 0
    assert "bicubic" in capsys.readouterr().out
    assert (experiment / "leaderboard.md").exists()
    assert report_main([str(experiment.parent / "nothing")]) == 2


def test_reusing_the_name_is_refused_and_changes_nothing(finished, sr_data, capsys):
    _, experiment = finished
    before = (experiment / "leaderboard.csv").read_text()
    code = run_main([*SEARCH, "--data", str(sr_data), "--storage", str(experiment.parent),
                     "--name", "e2e"])
    assert code == 2 and "already exists" in capsys.readouterr().err
    assert (experiment / "leaderboard.csv").read_text() == before


def test_resuming_with_fewer_trials_is_refused_not_ignored(finished, sr_data, capsys):
    _, experiment = finished
    before = (experiment / "leaderboard.csv").read_text()
    code = run_main([*SEARCH, "--data", str(sr_data), "--storage", str(experiment.parent),
                     "--name", "e2e", "--resume", "--num-samples", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "e2e has --num-samples 4; a search can be given more trials, not fewer" in err[0]
    assert (experiment / "leaderboard.csv").read_text() == before


def test_a_finished_search_given_more_trials_goes_on_with_the_same_study(sr_data, tmp_path,
                                                                         ray_runtime):
    args = [*SEARCH, "--data", str(sr_data), "--storage", str(tmp_path), "--name", "more",
            "--concurrency", "1", "--max-epochs", "2", "--grace-epochs", "2",
            "--refit-top", "1", "--refit-epochs", "1"]
    assert run_main([*args, "--num-samples", "2"]) == 0
    experiment = tmp_path / "more"
    before = _trial_epochs(experiment)
    first_refit = {p.parent.name for p in experiment.glob("refit/trial_*/result.json")}
    assert run_main([*args, "--num-samples", "4", "--resume"]) == 0
    after = _trial_epochs(experiment)
    assert len(after) == 4 and all(after[t] == n for t, n in before.items())
    trials = sorted(_study(experiment, "more").trials, key=lambda t: t.number)
    assert len(trials) == 4  # the same study: TPE saw the first two when it proposed the rest
    assert json.loads((experiment / "lenstune.json").read_text())["num_samples"] == 4
    searched = _searched(experiment)
    assert len(searched) == 4 and all(r["status"] in ("complete", "stopped early")
                                      for r in searched)
    refits = {p.parent.name for p in experiment.glob("refit/trial_*/result.json")}
    assert first_refit <= refits  # a new winner is refit too; the first refit is not run again


def _trial_epochs(experiment: Path) -> dict[str, int]:
    epochs = {}
    for result in experiment.glob("trial_*/result.json"):
        lines = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        epochs[result.parent.name] = len(lines)
    return epochs


def test_resume_after_an_interrupted_run(tmp_path):
    # Larger images than elsewhere, so the trials after the first outlast the Ctrl-C below.
    sr_data = write_simulated_sr_pairs(tmp_path / "data", 60, seed=0,
                                       recipe=LensingRecipe().at_size(64), workers=1,
                                       progress=False)
    args = [sys.executable, "-m", "search.run", *SEARCH, "--data", str(sr_data), "--storage",
            str(tmp_path), "--name", "crash", "--concurrency", "1", "--max-epochs", "4",
            "--grace-epochs", "4"]  # no early stopping: the trials after the first take a while
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    experiment = tmp_path / "crash"
    deadline = time.time() + 240
    # Ctrl-C once the first trial has finished all its epochs.
    while time.time() < deadline and 4 not in _trial_epochs(experiment).values():
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 130, (tmp_path / "first.log").read_text()[-3000:]
    before = _trial_epochs(experiment)
    finished_trials = {t for t, n in before.items() if n == 4}
    assert finished_trials and len(before) < 5

    second = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    # Epochs this short make Tune snapshot the experiment often; it costs ms, so no warning.
    assert "snapshotting has been triggered" not in second.stdout + second.stderr
    after = _trial_epochs(experiment)
    assert len(after) == 4
    for trial in finished_trials:
        assert after[trial] == 4, f"finished trial {trial} was run again"
    rows = [r for r in _leaderboard(experiment) if r["status"] != "baseline"]
    assert len(rows) == 4 and all(r["status"] in ("complete", "stopped early") for r in rows)
    # The resumed search continued the same Optuna study: each trial once, none left running.
    states = [t.state for t in _study(experiment, "crash").trials]
    assert len(states) == 4, states
    assert all(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
               for s in states)


def _study(experiment: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{experiment}/optuna.db")


def test_study_holds_pruned_and_complete_trials_in_plain_optuna(finished):
    _, experiment = finished
    study = _study(experiment, "e2e")
    by_number = sorted(study.trials, key=lambda t: t.number)
    assert len(by_number) == 4
    rows = {(r["model"], r["loss"]): r for r in _searched(experiment)}
    for trial in by_number:
        row = rows[(trial.params["model"], trial.params["loss"])]
        assert len(trial.intermediate_values) == int(row["epochs"])
        expected = {"stopped early": optuna.trial.TrialState.PRUNED,
                    "complete": optuna.trial.TrialState.COMPLETE}[row["status"]]
        assert trial.state == expected


def test_the_study_names_its_metric_for_optuna_dashboard(finished):
    _, experiment = finished
    assert _study(experiment, "e2e").metric_names == ["val_psnr"]


def test_warm_start_points_are_the_first_trials_with_exactly_their_values(finished):
    from spaces.superres import WARM_START

    _, experiment = finished
    first = sorted(_study(experiment, "e2e").trials, key=lambda t: t.number)[: len(WARM_START)]
    for trial, point in zip(first, WARM_START):
        assert {k: trial.params[k] for k in point} == point


def test_report_says_what_mattered_and_plots_the_history(finished):
    _, experiment = finished
    assert "## What mattered" in (experiment / "leaderboard.md").read_text()
    assert (experiment / "plots" / "history.png").stat().st_size > 0


def test_evaluate_reproduces_the_search_validation_psnr(finished, sr_data, capsys):
    from search.evaluate import main as evaluate_main

    _, experiment = finished
    best = experiment / "best"
    assert evaluate_main(["--model", str(best), "--data", str(sr_data), "--split", "val",
                          "--out", str(experiment / "eval")]) == 0
    metrics = json.loads((experiment / "eval" / "metrics.json").read_text())
    reported = json.loads((best / "metrics.json").read_text())["metrics"]
    assert metrics["model_psnr"] == pytest.approx(reported["val_psnr"], abs=1e-3)
    bicubic = [r for r in _leaderboard(experiment) if r["phase"] == "baseline"][0]
    assert metrics["bicubic_psnr"] == pytest.approx(float(bicubic["val_psnr"]), abs=1e-3)
    assert (experiment / "eval" / "samples.png").exists()
    # a second evaluation into the same folder never overwrites the first
    assert evaluate_main(["--model", str(best), "--data", str(sr_data), "--out",
                          str(experiment / "eval")]) == 0
    assert (experiment / "eval-2" / "metrics.json").exists()


def test_predict_upscales_like_the_model(finished, sr_data, tmp_path):
    from search.predict import main as predict_main

    _, experiment = finished
    files = sorted((sr_data / "LR").glob("*.npy"))[:5]
    assert predict_main(["--model", str(experiment / "best"), "--input", *map(str, files),
                         "--out", str(tmp_path / "sr")]) == 0
    net, _ = load_model(experiment / "best")
    with torch.no_grad():
        direct = net(torch.as_tensor(np.load(files[2]))[None, None]).clamp(0, 1)[0, 0].numpy()
    written = np.load(tmp_path / "sr" / files[2].name)
    assert written.shape == (32, 32) and np.allclose(written, direct, atol=1e-5)
    assert (tmp_path / "sr" / files[2].with_suffix(".png").name).exists()


def test_a_diverging_trial_ends_cleanly_and_the_search_finishes(sr_data, tmp_path, monkeypatch,
                                                                 ray_runtime, capsys):
    from spaces import superres

    absurd = {"model": "srgan", "blocks": 1, "upsample": "pixelshuffle", "features": 16,
              "loss": "mse", "batch_size": 16, "base_lr": 1e12, "lr_ratio": 1.0,
              "adv_weight": 1e-3, "disc_features": 16, "disc_lr": 1e-3, "warmup_epochs": 0}
    monkeypatch.setattr(superres, "WARM_START", [superres.WARM_START[0], absurd])
    # Warm-start values are used as given, even outside the searched range: an absurd LR.
    code = run_main([*SEARCH, "--data", str(sr_data), "--storage", str(tmp_path), "--name", "gan",
                     "--num-samples", "2", "--concurrency", "1", "--grace-epochs", "3"])
    assert code == 0
    # 40 pairs, 10 % of them validating: said once, before the trials.
    assert capsys.readouterr().err.count("note: the validation split holds only 4 pairs") == 1
    rows = {r["model"]: r for r in _leaderboard(tmp_path / "gan") if r["status"] != "baseline"}
    assert rows["srresnet"]["status"] == "complete"
    assert rows["srgan"]["status"] == "diverged"
