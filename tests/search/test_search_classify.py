"""The classify and anomaly searches on a real local Ray runtime, Optuna and ASHA."""

import csv
import json

import pytest

from search.run import main as run_main

SEARCH = ["--num-samples", "4", "--max-epochs", "2", "--grace-epochs", "1", "--concurrency", "2",
          "--cpus-per-trial", "1", "--no-dashboard"]


def _rows(experiment):
    with open(experiment / "leaderboard.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("task, fixture", [("classify", "classify_data"),
                                           ("anomaly", "anomaly_data")])
def test_search_writes_leaderboard_roc_and_best_model(task, fixture, request, tmp_path):
    data = request.getfixturevalue(fixture)
    code = run_main(["--task", task, *SEARCH, "--data", str(data), "--storage", str(tmp_path),
                     "--name", task])
    experiment = tmp_path / task
    assert code == 0
    rows = _rows(experiment)
    assert len(rows) == 4 and all(r["status"] in ("complete", "stopped early") for r in rows)
    assert {"model", "pretrained", "lr", "epochs", "val_acc", "val_auc"} <= set(rows[0])
    assert rows[0]["reference"] == "yes" or any(r["reference"] == "yes" for r in rows)
    for plot in ("roc.png", "confusion.png", "history.png"):
        assert (experiment / "plots" / plot).stat().st_size > 0
    spec = json.loads((experiment / "best" / "model.json").read_text())
    assert spec["task"] == task and len(spec["classes"]) == (3 if task == "classify" else 2)
    assert spec["image_size"] == [32, 32]  # the user's data is never resized unasked


def test_anomaly_refuses_three_classes(classify_data, tmp_path, capsys):
    code = run_main(["--task", "anomaly", *SEARCH, "--data", str(classify_data), "--storage",
                     str(tmp_path), "--name", "x"])
    assert code == 2 and "exactly two class folders" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bad_image_size_and_weights_dir(tmp_path, capsys):
    assert run_main(["--task", "classify", "--image-size", "4", "--storage", str(tmp_path)]) == 2
    assert "--image-size" in capsys.readouterr().err
    assert run_main(["--task", "classify", "--weights-dir", str(tmp_path / "no"),
                     "--storage", str(tmp_path)]) == 2
    assert "--weights-dir" in capsys.readouterr().err
