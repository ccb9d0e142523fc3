"""A task of its own, registered and searched: one module's worth of code, nothing in search/.

The task here ("brightness") regresses an image's mean brightness; its metric is minimised,
unlike the three built-in tasks'.
"""

import csv
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ray import cloudpickle
from torch import nn

from search.run import main as run_main
from tasks import register_task, task_names
from tasks.task import Task
from trainables.epochs import Trial, Validation, fit_epochs
from trainables.trial_config import TrialConfig

# ---- the loop: a config, a net builder and a fit on the shared epoch driver ----


@dataclass(frozen=True, kw_only=True)
class BrightnessTrialConfig(TrialConfig):
    task: str = "brightness"
    width: int = 4
    batch_size: int = 8


def build_net(spec: dict) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, spec["width"], 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(spec["width"], 1))


@dataclass(frozen=True)
class Images:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Split:
    train: Images
    val: Images


def fit(cfg, data, report, state=None, logdir=None, hparams=None):
    x, y = torch.as_tensor(data.train.x), torch.as_tensor(data.train.y)
    x_val, y_val = torch.as_tensor(data.val.x), torch.as_tensor(data.val.y)
    spec = {"task": cfg.task, "width": cfg.width}

    def start(resuming):
        model = build_net(spec)

        def train(epoch, optimizer, scheduler, gen, guard):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            total = 0.0
            for i in range(0, len(x), cfg.batch_size):
                index = order[i:i + cfg.batch_size]
                loss = F.mse_loss(model(x[index])[:, 0], y[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(index)
            guard.check(loss=total / len(x))
            return {"train_loss": total / len(x), "lr": scheduler.get_last_lr()[0]}

        def validate(net):
            net.eval()
            with torch.no_grad():
                mse = F.mse_loss(net(x_val)[:, 0], y_val).item()
            return Validation({"val_loss": mse, "val_mse": mse})

        return Trial(model, len(x), train, validate, spec)

    return fit_epochs(cfg, start, report, ["val/loss", "val/mse", "epoch", "diverged"], state,
                      logdir, hparams)


# ---- the space: what to try, and the reference configuration ----

space_module = types.ModuleType("brightness_space")
space_module.NETS = {"tiny": ("tiny",)}
space_module.WARM_START = [{"width": 4, "base_lr": 3e-3, "lr_ratio": 2.0}]
space_module.net_of = lambda point: "tiny"
space_module.LR_RANGE, space_module.MAX_LR_RATIO = (1e-4, 3e-3), 10.0  # its default bounds


def _space(trial, lr_range, max_lr_ratio, models=None):
    trial.suggest_categorical("width", [2, 4, 8])
    trial.suggest_float("base_lr", *lr_range, log=True)
    trial.suggest_float("lr_ratio", 1.0, max_lr_ratio, log=True)


space_module.space = _space


# ---- the task: the data it reads, and what ties the pieces together ----


class Brightness(Task):
    name = "brightness"
    loop_module = __name__
    config_name = "BrightnessTrialConfig"
    space = space_module
    metric = "val_mse"
    mode = "min"
    leaderboard_params = ("width",)
    leaderboard_metrics = ("val_mse", "val_loss")

    def read(self, folder, val_fraction, seed, image_size):
        x = np.load(folder / "x.npy")
        y = x.mean(axis=(1, 2, 3)).astype(np.float32)
        n_val = max(1, round(len(x) * (val_fraction or 0.25)))
        return Split(Images(x[n_val:], y[n_val:]), Images(x[:n_val], y[:n_val]))

    def validation_size(self, split):
        return len(split.val), f"{len(split.val)} images"


@pytest.fixture
def brightness(monkeypatch):
    import tasks

    monkeypatch.setattr(tasks, "_registered", {})
    register_task(Brightness())
    # Ray's workers import what they unpickle: this test module is not installed, so its
    # classes and functions travel by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_registered_task_is_searched_like_the_built_in_ones(brightness, tmp_path, ray_runtime):
    assert task_names()[-1] == "brightness"
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.save(data / "x.npy", rng.random((48, 1, 8, 8), dtype=np.float32)
            * rng.random((48, 1, 1, 1), dtype=np.float32))
    code = run_main(["--task", "brightness", "--data", str(data), "--num-samples", "3",
                     "--max-epochs", "4", "--grace-epochs", "2", "--concurrency", "1",
                     "--refit-top", "1", "--no-dashboard", "--storage", str(tmp_path),
                     "--name", "b"])
    assert code == 0
    with open(tmp_path / "b" / "leaderboard.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["phase"] for r in rows] == ["refit", "search", "search", "search"]
    searched = [float(r["val_mse"]) for r in rows if r["phase"] == "search"]
    assert searched == sorted(searched), "a minimised metric is ranked smallest first"
    assert rows[1]["reference"] == "yes" or any(r["reference"] == "yes" for r in rows)
    assert (tmp_path / "b" / "best" / "model.pt").exists()


def test_a_task_name_is_registered_once(brightness):
    with pytest.raises(ValueError, match="registered twice"):
        register_task(Brightness())
