import pytest
import torch

from tasks import load_model
from trainables.checkpoint import load_training_state, save_checkpoint
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
from trainables.errors import UserError
from trainables.models.sr_nets import build_sr_net
from trainables.superres import (
    SRTrialConfig,
    bicubic_baseline,
    evaluate,
    fit,
    image_grid,
    predict,
    sample_grid,
)


@pytest.fixture(scope="module")
def split(sr_data):
    return split_sr_pairs(read_sr_pairs(sr_data), 0.1, seed=0)


def _config(**overrides):
    values = {"model": "srresnet", "blocks": 1, "features": 8, "batch_size": 8,
              "base_lr": 1e-3, "lr_ratio": 3.0, "max_epochs": 2} | overrides
    return SRTrialConfig.from_dict(values)


def test_fit_reports_each_epoch_with_a_resumable_state(split, tmp_path):
    reports = []
    last = fit(_config(), split, lambda metrics, state: reports.append((metrics, state)),
               logdir=tmp_path)
    assert [m["epoch"] for m, _ in reports] == [1, 2]
    assert last == reports[-1][0]
    for key in ("train_loss", "lr", "val_loss", "val_mse", "val_psnr", "val_ssim"):
        assert key in last
    assert list(tmp_path.glob("events.out.tfevents.*")), "no TensorBoard log written"


def test_resume_from_a_saved_state_continues_where_it_stopped(split, tmp_path):
    cfg = _config(max_epochs=3)
    straight = []
    fit(cfg, split, lambda m, s: straight.append(m))
    saved = []

    def stop_after_first(metrics, state):
        saved.append(metrics)
        save_checkpoint(tmp_path, state)
        raise KeyboardInterrupt  # the trial dies after its first checkpoint

    with pytest.raises(KeyboardInterrupt):
        fit(cfg, split, stop_after_first)
    resumed = []
    fit(cfg, split, lambda m, s: resumed.append(m), state=load_training_state(tmp_path))
    assert [m["epoch"] for m in resumed] == [2, 3]
    # Same seed, same data, restored optimiser, scheduler and crop generator: same trajectory.
    assert resumed[-1]["val_psnr"] == pytest.approx(straight[-1]["val_psnr"], abs=1e-3)


def test_saved_checkpoint_reloads_to_the_reported_metrics(split, tmp_path):
    cfg = _config(model="edsr", upsample="deconv", loss="mse+ssim")
    states = []
    fit(cfg, split, lambda m, s: states.append((m, s)))
    metrics, state = states[-1]
    save_checkpoint(tmp_path, state)
    net, spec = load_model(tmp_path)
    assert spec["model"] == "edsr" and spec["task"] == "superres"
    val, _ = evaluate(net, torch.as_tensor(split.val.lr), torch.as_tensor(split.val.hr), cfg.loss)
    assert val["val_psnr"] == pytest.approx(metrics["val_psnr"], abs=1e-4)


def test_validation_keeps_the_first_predictions_for_the_sample_grid(split):
    # The grid each epoch logs is drawn from evaluate's own predictions, across its batches.
    torch.manual_seed(0)
    net = build_sr_net("srresnet", 1, 8, "pixelshuffle")
    lr, hr = torch.as_tensor(split.val.lr), torch.as_tensor(split.val.hr)
    _, first = evaluate(net, lr, hr, "mse", batch_size=3, samples=4)
    torch.testing.assert_close(first, predict(net, lr[:4]))
    torch.testing.assert_close(image_grid(lr[:4], first, hr[:4]), sample_grid(net, lr, hr))


def test_a_few_epochs_beat_bicubic(split):
    metrics = fit(_config(features=16, max_epochs=6), split, lambda m, s: None)
    assert metrics["val_psnr"] > bicubic_baseline(split.val.lr, split.val.hr)["val_psnr"]


def test_an_absurd_learning_rate_ends_the_trial_as_diverged(split):
    # Losses are summed on the device and checked once an epoch: the divergence still ends the
    # trial in its first epoch, with no checkpoint.
    reports = []
    last = fit(_config(base_lr=1e12, lr_ratio=1.0), split, lambda m, s: reports.append((m, s)))
    assert len(reports) == 1
    metrics, state = reports[0]
    assert metrics["diverged"] == 1 and state is None and metrics["epoch"] == 1
    assert "loss became" in metrics["diverged_reason"]
    assert "diverged" not in last  # the last good metrics: none, so NaN
    assert all(value != value for value in last.values())


@pytest.mark.parametrize("overrides, message", [
    ({"learning_rate": 1e-3}, "unknown config keys"),
    ({"lr_ratio": 0.5}, "lr_ratio"),
    ({"base_lr": 0.0}, "base_lr must be positive"),
    ({"model": "vdsr"}, "unknown SR model"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_trial_configs_are_refused(overrides, message):
    with pytest.raises(UserError, match=message):
        _config(**overrides)


def test_a_folder_without_weights_is_not_a_model(tmp_path):
    with pytest.raises(UserError, match="not a lenstune model folder"):
        load_model(tmp_path)
