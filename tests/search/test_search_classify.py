"""The classify and anomaly searches on a real local Ray runtime, Optuna and ASHA."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from search.run import main as run_main

SEARCH = ["--num-samples", "4", "--max-epochs", "2", "--grace-epochs", "1", "--concurrency", "2",
          "--cpus-per-trial", "1", "--no-dashboard", "--refit-top", "0", "--asha", "stop"]


def _rows(experiment):
    with open(experiment / "leaderboard.csv") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def searched(classify_data, anomaly_data, tmp_path_factory, ray_runtime):
    storage = tmp_path_factory.mktemp("results")
    # classify asks for a split of its own: its data's val/ folder is pooled and re-split.
    codes = {task: run_main(["--task", task, *SEARCH, "--data", str(data), "--storage",
                             str(storage), "--name", task, *extra])
             for task, data, extra in (("classify", classify_data, ["--val-fraction", "0.5"]),
                                       ("anomaly", anomaly_data, ["--refit-top", "1",
                                                                  "--refit-epochs", "1"]))}
    return storage, codes


@pytest.mark.parametrize("task", ["classify", "anomaly"])
def test_search_writes_leaderboard_roc_and_best_model(task, searched):
    storage, codes = searched
    experiment = storage / task
    assert codes[task] == 0
    rows = [r for r in _rows(experiment) if r["phase"] == "search"]
    assert len(rows) == 4 and all(r["status"] in ("complete", "stopped early") for r in rows)
    assert {"model", "pretrained", "lr", "epochs", "val_acc", "val_auc"} <= set(rows[0])
    assert rows[0]["reference"] == "yes" or any(r["reference"] == "yes" for r in rows)
    for plot in ("roc.png", "confusion.png", "history.png"):
        assert (experiment / "plots" / plot).stat().st_size > 0
    spec = json.loads((experiment / "best" / "model.json").read_text())
    assert spec["task"] == task and len(spec["classes"]) == (3 if task == "classify" else 2)
    assert spec["image_size"] == [32, 32]  # the user's data is never resized unasked


def test_the_refit_measures_test_time_augmentation_beside_the_plain_metric(searched):
    storage, _ = searched
    (refit,) = [r for r in _rows(storage / "anomaly") if r["phase"] == "refit"]
    assert 0 <= float(refit["val_auc_tta"]) <= 1 and refit["val_auc"]
    leaderboard = (storage / "anomaly" / "leaderboard.md").read_text()
    assert "With test-time augmentation (the 8 quarter turns and flips" in leaderboard


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


def test_evaluate_reproduces_the_search_validation_auc(searched, classify_data, capsys):
    from search.evaluate import main as evaluate_main

    storage, _ = searched
    best = storage / "classify" / "best"
    code = evaluate_main(["--model", str(best), "--data", str(classify_data), "--split", "val"])
    assert code == 0
    written = next((storage / "classify" / "evaluations").iterdir())
    metrics = json.loads((written / "metrics.json").read_text())
    reported = json.loads((best / "metrics.json").read_text())["metrics"]
    assert metrics["count"] == 18  # half of the 36 images, as the search asked
    assert metrics["auc"] == pytest.approx(reported["val_auc"], abs=1e-6)
    assert metrics["accuracy"] == pytest.approx(reported["val_acc"], abs=1e-6)
    assert (written / "roc.png").exists() and (written / "confusion.png").exists()
    assert "auc" in capsys.readouterr().out
    assert json.loads((written / "evaluation.json").read_text())["tta"] is False


def test_test_time_augmentation_averages_the_eight_symmetries(searched, classify_data,
                                                              tmp_path):
    import torch

    from search.evaluate import main as evaluate_main
    from search.predict import main as predict_main
    from tasks import load_model
    from trainables.data.image_files import load_image
    from trainables.inference import prepare_classify_inputs, symmetry

    storage, _ = searched
    best = storage / "classify" / "best"
    assert evaluate_main(["--model", str(best), "--data", str(classify_data), "--tta",
                          "--out", str(tmp_path / "eval")]) == 0
    assert json.loads((tmp_path / "eval" / "evaluation.json").read_text())["tta"] is True
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["tta"] is True
    image = sorted((classify_data / "val" / "vort").glob("*.npy"))[0]
    assert predict_main(["--model", str(best), "--input", str(image), "--tta", "--out",
                         str(tmp_path / "pred")]) == 0
    with open(tmp_path / "pred" / "predictions.csv") as f:
        row = next(csv.DictReader(f))
    net, spec = load_model(best)
    x = prepare_classify_inputs(spec, load_image(image)[None, None])
    with torch.no_grad():
        mean = sum(torch.softmax(net(symmetry(x, k)), 1) for k in range(8))[0] / 8
    assert float(row["p_vort"]) == pytest.approx(mean[2].item(), abs=1e-5)


def test_predict_matches_calling_the_model_directly(searched, anomaly_data, tmp_path):
    import torch

    from search.predict import main as predict_main
    from tasks import load_model
    from trainables.data.image_files import load_image
    from trainables.inference import prepare_classify_inputs

    storage, _ = searched
    best = storage / "anomaly" / "best"
    files = sorted((anomaly_data / "sub").glob("*.png"))[:3] + [anomaly_data / "no_sub"]
    assert predict_main(["--model", str(best), "--input", *map(str, files), "--out",
                         str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 + 12 and set(rows[0]) == {"file", "predicted", "p_no_sub", "p_sub"}
    net, spec = load_model(best)
    first = Path(rows[0]["file"])
    with torch.no_grad():
        direct = torch.softmax(net(prepare_classify_inputs(spec, load_image(first)[None, None])),
                               1)[0]
    assert float(rows[0]["p_sub"]) == pytest.approx(direct[1].item(), abs=1e-5)
    assert rows[0]["predicted"] == spec["classes"][int(direct.argmax())]


def test_use_model_bad_inputs(searched, classify_data, anomaly_data, tmp_path, capsys):
    from PIL import Image

    from search.evaluate import main as evaluate_main
    from search.predict import main as predict_main

    storage, _ = searched
    classify_best = storage / "classify" / "best"
    # a folder that is not a model
    assert predict_main(["--model", str(tmp_path), "--input", str(anomaly_data), "--out",
                         str(tmp_path / "o1")]) == 2
    assert "not a lenstune model folder" in capsys.readouterr().err
    # a 3-channel input
    Image.new("RGB", (32, 32), (0, 90, 200)).save(tmp_path / "rgb.png")
    assert predict_main(["--model", str(classify_best), "--input", str(tmp_path / "rgb.png"),
                         "--out", str(tmp_path / "o2")]) == 2
    assert "has 3 channels" in capsys.readouterr().err and not (tmp_path / "o2").exists()
    # an input of another shape
    np.save(tmp_path / "wide.npy", np.zeros((32, 64), np.float32))
    assert predict_main(["--model", str(classify_best), "--input", str(tmp_path / "wide.npy"),
                         "--out", str(tmp_path / "o3")]) == 2
    assert "aspect ratio" in capsys.readouterr().err
    # a task mismatch: the classify model on the anomaly data, and --task
    assert evaluate_main(["--model", str(classify_best), "--data", str(anomaly_data)]) == 2
    assert "differ from the model's" in capsys.readouterr().err
    assert evaluate_main(["--model", str(classify_best), "--data", str(classify_data),
                          "--task", "superres"]) == 2
    assert "is a classify model" in capsys.readouterr().err
    # weights that do not fit the net of model.json
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("model.json", "model.pt"):
        (broken / name).write_bytes((classify_best / name).read_bytes())
    spec = json.loads((broken / "model.json").read_text())
    spec["model"] = "resnet50" if spec["model"] != "resnet50" else "resnet18"  # not the best's
    (broken / "model.json").write_text(json.dumps(spec))
    assert evaluate_main(["--model", str(broken), "--data", str(classify_data)]) == 2
    assert "does not load into the net" in capsys.readouterr().err
    # an --out that holds files
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    assert predict_main(["--model", str(classify_best), "--input", str(classify_data), "--out",
                         str(tmp_path / "full")]) == 2
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"
