import json

import pytest
import torch

from tasks import load_model
from trainables.checkpoint import save_checkpoint
from trainables.classify import ClassifyTrialConfig, evaluate, fit
from trainables.data.class_images import read_class_images
from trainables.errors import UserError


def _config(**overrides):
    return ClassifyTrialConfig.from_dict({"family": "resnet", "model": "resnet18",
                                          "batch_size": 16, "base_lr": 1e-3,
                                          "max_epochs": 2} | overrides)


def test_fit_reports_accuracy_auc_and_a_reloadable_checkpoint(classify_data, tmp_path):
    data = read_class_images(classify_data, 0.1, seed=0)
    reports = []
    fit(_config(), data, lambda m, s: reports.append((m, s)), logdir=tmp_path / "tb")
    assert [m["epoch"] for m, _ in reports] == [1, 2]
    metrics, state = reports[-1]
    assert 0 <= metrics["val_acc"] <= 1 and 0 <= metrics["val_auc"] <= 1
    (tmp_path / "ckpt").mkdir()
    save_checkpoint(tmp_path / "ckpt", state)
    net, spec = load_model(tmp_path / "ckpt")
    assert spec["classes"] == ["no", "sphere", "vort"] and spec["mean"] == data.mean
    evaluation = json.loads((tmp_path / "ckpt" / "evaluation.json").read_text())
    assert evaluation["auc"] == pytest.approx(metrics["val_auc"])
    x_val = (torch.as_tensor(data.val.x) - spec["mean"]) / spec["std"]
    again, _ = evaluate(net, x_val, torch.as_tensor(data.val.y))
    assert again["val_auc"] == pytest.approx(metrics["val_auc"])
    assert again["val_loss"] == pytest.approx(metrics["val_loss"], abs=1e-5)


def test_tta_validation_reports_the_averaged_metrics_beside_the_plain_ones(classify_data):
    data = read_class_images(classify_data, 0.1, seed=0)
    plain, averaged = [], []
    fit(_config(max_epochs=1), data, lambda m, s: plain.append(m))
    fit(_config(max_epochs=1, tta=True), data, lambda m, s: averaged.append(m))
    assert "val_auc_tta" not in plain[0] and 0 <= averaged[0]["val_auc_tta"] <= 1
    assert averaged[0]["val_auc"] == pytest.approx(plain[0]["val_auc"])  # the search's metric


def test_anomaly_trains_two_classes(anomaly_data):
    data = read_class_images(anomaly_data, 0.25, seed=0)
    cfg = _config(task="anomaly", family="mobilevit", model="mobilevit_ref", max_epochs=1)
    metrics = fit(cfg, data, lambda m, s: None)
    assert cfg.net_spec(data)["task"] == "anomaly" and "val_auc" in metrics


@pytest.mark.parametrize("overrides, message", [
    ({"model": "resnet19"}, "unknown resnet model"),
    ({"family": "vit"}, "unknown family"),
    ({"dropout": 1.5}, "dropout"),
    ({"lr_ratio": 0.1}, "lr_ratio"),
    ({"depth": 18}, "unknown config keys"),
])
def test_bad_configs(overrides, message):
    with pytest.raises(UserError, match=message):
        _config(**overrides)


def _symmetries(image: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips and quarter turns of a square image."""
    turns = [torch.rot90(image, k, (-2, -1)) for k in range(4)]
    return turns + [t.flip(-1) for t in turns]


def test_augment_gives_every_image_one_of_its_eight_symmetries_uniformly():
    from trainables.classify import augment

    x = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 1, 3, 3).repeat(400, 1, 1, 1)
    out = augment(x, torch.Generator().manual_seed(0))
    counts = torch.zeros(8)
    for image, result in zip(x, out):
        matches = [bool(torch.equal(result, s)) for s in _symmetries(image)]
        assert sum(matches) == 1  # the 8 are distinct for this image
        counts[matches.index(True)] += 1
    assert counts.min() > 800 / 8 * 0.7 and counts.max() < 800 / 8 * 1.3, counts
    again = augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_augment_only_flips_an_image_that_is_not_square():
    from trainables.classify import augment

    x = torch.arange(2 * 3, dtype=torch.float32).reshape(1, 1, 2, 3).repeat(64, 1, 1, 1)
    out = augment(x, torch.Generator().manual_seed(1))
    flips = [x[0], x[0].flip(-1), x[0].flip(-2), x[0].flip(-1).flip(-2)]
    seen = {next(i for i, f in enumerate(flips) if torch.equal(r, f)) for r in out}
    assert out.shape == x.shape and seen == {0, 1, 2, 3}
