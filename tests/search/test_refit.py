"""The refit of a search's winners: which configurations, which seeds, retried and resumed."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from ray.tune.search import Searcher

from search import tuner
from search.config import SearchConfig
from search.refit import FixedConfigs, refit_trial_configs, winners
from search.run import main as run_main
from tests.search.trial_hooks import run_trial_checking
from trainables.data.lensing import LensingRecipe
from trainables.data.sr_pairs import write_simulated_sr_pairs


def _row(trial, status="complete"):
    return {"phase": "search", "trial": trial, "status": status}


def test_winners_are_the_best_distinct_configurations_that_neither_diverged_nor_failed():
    rows = [{"phase": "refit", "trial": "a", "status": "complete"}, _row("b", "diverged"),
            _row("c"), _row("d"), _row("e", "error"), _row("f", "stopped early"), _row("g")]
    configs = {"b": {"x": 1}, "c": {"x": 2}, "d": {"x": 2}, "e": {"x": 3}, "f": {"x": 4},
               "g": {"x": 5}}
    assert winners(rows, configs, 2) == [{"x": 2}, {"x": 4}]  # d repeats c's configuration
    assert winners(rows, configs, 9) == [{"x": 2}, {"x": 4}, {"x": 5}]


def test_each_winner_is_trained_with_fresh_seeds_for_the_refit_length():
    cfg = SearchConfig(task="superres", name="x", seed=3, max_epochs=6, refit_top=2,
                       refit_seeds=2, refit_epochs=9)
    configs = refit_trial_configs(cfg, [{"model": "a"}, {"model": "b"}])
    assert configs == [{"model": "a", "seed": 4, "max_epochs": 9},
                       {"model": "a", "seed": 5, "max_epochs": 9},
                       {"model": "b", "seed": 4, "max_epochs": 9},
                       {"model": "b", "seed": 5, "max_epochs": 9}]
    assert SearchConfig(task="superres", name="x", max_epochs=6).refit_length == 6
    # classify and anomaly refits also validate with test-time augmentation, to measure it
    classify = SearchConfig(task="classify", name="x", refit_top=1, refit_seeds=1)
    assert refit_trial_configs(classify, [{"model": "resnet18"}])[0]["tta"] is True


def test_fixed_configs_are_suggested_in_order_once_and_survive_a_save(tmp_path):
    searcher = FixedConfigs([{"a": 1}, {"a": 2}, {"a": 3}])
    assert searcher.suggest("t1") == {"a": 1}
    searcher.save(str(tmp_path / "state.pkl"))
    restored = FixedConfigs([])
    restored.restore(str(tmp_path / "state.pkl"))
    assert [restored.suggest("t2"), restored.suggest("t3")] == [{"a": 2}, {"a": 3}]
    assert restored.suggest("t4") == Searcher.FINISHED


def _crashing_once_in_a_refit(marker: Path):
    """run_trial, but a refit trial (its config names a seed) dies once at epoch 2."""
    def crash(config, metrics):
        if "seed" in config and metrics["epoch"] == 2 and not marker.exists():
            marker.write_text("crashed")
            raise RuntimeError("injected crash in a refit trial")

    return run_trial_checking(crash)


def _epochs(folder: Path) -> list[list[int]]:
    return sorted([json.loads(line)["epoch"] for line in p.read_text().splitlines() if line]
                  for p in folder.glob("trial_*/result.json"))


def test_a_refit_trial_that_crashes_is_retried_from_its_checkpoint(sr_data, tmp_path,
                                                                   monkeypatch, ray_runtime):
    marker = tmp_path / "crashed"
    monkeypatch.setattr(tuner, "build_trainable", partial(
        tuner.build_trainable, trial_fn=_crashing_once_in_a_refit(marker)))
    code = run_main(["--task", "superres", "--data", str(sr_data), "--num-samples", "2",
                     "--max-epochs", "2", "--grace-epochs", "2", "--concurrency", "1",
                     "--no-dashboard", "--storage", str(tmp_path), "--name", "r",
                     "--refit-top", "1", "--refit-seeds", "1", "--refit-epochs", "3"])
    assert code == 0 and marker.exists()
    assert _epochs(tmp_path / "r" / "refit") == [[1, 2, 3]]
    with open(tmp_path / "r" / "leaderboard.csv") as f:
        refit = [r for r in csv.DictReader(f) if r["phase"] == "refit"]
    assert len(refit) == 1 and refit[0]["status"] == "complete" and refit[0]["epochs"] == "3"


def test_an_interrupted_refit_resumes_where_it_stopped(tmp_path):
    sr_data = write_simulated_sr_pairs(tmp_path / "data", 60, seed=0,
                                       recipe=LensingRecipe().at_size(64), workers=1,
                                       progress=False)
    args = [sys.executable, "-m", "search.run", "--task", "superres", "--num-samples", "2",
            "--max-epochs", "1", "--grace-epochs", "1", "--concurrency", "1",
            "--cpus-per-trial", "1", "--no-dashboard", "--seed", "0", "--data", str(sr_data),
            "--storage", str(tmp_path), "--name", "i", "--refit-top", "2", "--refit-seeds", "1",
            "--refit-epochs", "4"]
    env = os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    refit = tmp_path / "i" / "refit"
    deadline = time.time() + 300
    # Ctrl-C once the first refit trial has trained two epochs.
    while time.time() < deadline and not any(len(e) >= 2 for e in _epochs(refit)):
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 130, (tmp_path / "first.log").read_text()[-3000:]
    assert _epochs(tmp_path / "i") == [[1], [1]]

    second = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert _epochs(refit) == [[1, 2, 3, 4], [1, 2, 3, 4]], "a refit epoch was trained twice"
    assert _epochs(tmp_path / "i") == [[1], [1]]  # the search was not run again
    with open(tmp_path / "i" / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["phase"] for r in rows[:2]] == ["refit", "refit"]
    assert all(r["status"] == "complete" for r in rows[:2])
