"""The classify and anomaly training loop: fit(cfg, data, report) from train_one_epoch, evaluate.

Cross-entropy on logits (never softmax before the loss). For anomaly (two classes) the same
two-logit cross-entropy is used rather than BCE on one logit: one loop, one checkpoint format,
and the positive-class probability for the AUC is simply softmax[:, 1]. Never imports Ray.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables import __version__
from trainables.class_metrics import (
    accuracy,
    confusion_figure,
    evaluation_summary,
    macro_auc,
    roc_figure,
)
from trainables.data.class_images import ClassSplit
from trainables.epochs import DivergenceGuard, Report, Trial, Validation, fit_epochs
from trainables.inference import with_tta
from trainables.models.classifiers import FAMILIES, build_classifier
from trainables.models.layout import batch_layout
from trainables.precision import autocast
from trainables.trial_config import TrialConfig, require

METRIC_TAGS = ["val/loss", "val/acc", "val/auc", "epoch", "diverged"]


@dataclass(frozen=True, kw_only=True)
class ClassifyTrialConfig(TrialConfig):
    """One classify or anomaly trial: the net, pretrained or not, regularisation."""

    task: str = "classify"
    """classify or anomaly (one loop serves both)."""
    family: str
    """resnet, efficientnet or mobilevit."""
    model: str
    """The timm name, one of the family's (resnet18, efficientnet_b2, mobilevit_ref...)."""
    resnet_model: str | None = None
    """The space's conditional suggestion for the family (repeated in `model`)."""
    efficientnet_model: str | None = None
    mobilevit_model: str | None = None
    mobilenetv3_model: str | None = None
    equivariant_model: str | None = None
    pretrained: bool = False
    """Start from ImageNet weights (first convolution summed to one channel)."""
    dropout: float = 0.0
    batch_size: int = 64
    augment: bool = True
    """Random flips and quarter turns of each training image (lensing has no orientation)."""
    weights_dir: str | None = None
    """Folder of local ImageNet weights (<model>.pth); default $LENSTUNE_WEIGHTS or the cache."""
    tta: bool = False
    """Also validate with test-time augmentation (val_acc_tta, val_auc_tta): 8x the validation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.family in FAMILIES, f"unknown family {self.family!r}; known: "
                f"{sorted(FAMILIES)}")
        require(self.model in FAMILIES[self.family],
                f"unknown {self.family} model {self.model!r}; known: {FAMILIES[self.family]}")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")

    def net_spec(self, data: ClassSplit | None = None) -> dict:
        """What builds the net and prepares its input again, without the search."""
        spec = {"task": self.task, "model": self.model, "dropout": self.dropout,
                "lenstune_version": __version__}
        if data is not None:
            spec |= {"classes": list(data.train.classes), "mean": data.mean, "std": data.std,
                     "image_size": list(data.train.x.shape[-2:])}
        return spec


def build_net(spec: dict) -> nn.Module:
    return build_classifier(spec["model"], len(spec["classes"]), drop_rate=spec["dropout"])


def _tensors(data: ClassSplit, device: str):
    with warnings.catch_warnings():
        # Arrays from Ray's object store are read-only; they are only ever read here.
        warnings.simplefilter("ignore", UserWarning)
        x_train, x_val = (((torch.as_tensor(s.x) - data.mean) / data.std).to(device)
                          for s in (data.train, data.val))
        return (x_train, torch.as_tensor(data.train.y).to(device), x_val,
                torch.as_tensor(data.val.y).to(device))


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random symmetry per image, batched: a transpose (square images only), a vertical and a
    horizontal flip, each with probability 1/2, which for a square image is each of its 8 flips
    and quarter turns alike. Selected with torch.where, never by a data-dependent index, so
    that on a GPU it never waits for the device."""
    draws = (torch.rand(len(x), 3, generator=gen) < 0.5).to(x.device)[:, :, None, None, None]
    if x.shape[-1] == x.shape[-2]:
        x = torch.where(draws[:, 0], x.transpose(-2, -1), x)
    x = torch.where(draws[:, 1], x.flip(-2), x)
    return torch.where(draws[:, 2], x.flip(-1), x)


def train_one_epoch(model, x, y, cfg, optimizer, scheduler, gen,
                    guard: DivergenceGuard) -> dict[str, float]:
    model.train()
    order = torch.randperm(len(x), generator=gen).to(x.device)
    total = torch.zeros((), device=x.device)  # summed on the device: no wait for it each step
    for start in range(0, len(order), cfg.batch_size):
        index = order[start:start + cfg.batch_size]
        if len(index) < 2 and len(order) > 1:
            continue  # batch norm cannot train on a single image
        batch = batch_layout(augment(x[index], gen) if cfg.augment else x[index],
                             cfg.channels_last)
        with autocast(x.device, cfg.precision):
            logits = model(batch)
        loss = F.cross_entropy(logits.float(), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.detach() * len(index)
    mean = total.item() / len(x)
    guard.check(loss=mean)
    return {"train_loss": mean, "lr": scheduler.get_last_lr()[0]}


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 128,
                  precision: str = "fp32", tta: bool = False) -> torch.Tensor:
    """Class probabilities; with `tta`, averaged over each image's 8 quarter turns and flips."""
    model.eval()

    def probabilities(batch: torch.Tensor) -> torch.Tensor:
        with autocast(x.device, precision):
            logits = model(batch)
        return F.softmax(logits.float(), 1)

    probs = []
    for i in range(0, len(x), batch_size):
        batch = x[i:i + batch_size]
        probs.append(with_tta(lambda b: b, batch, probabilities, images=False) if tta
                     else probabilities(batch))
    return torch.cat(probs)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             precision: str = "fp32", tta: bool = False) -> tuple[dict, np.ndarray]:
    """Validation loss, accuracy and macro ROC AUC; also the probabilities. With `tta`, also
    accuracy and AUC of the probabilities averaged over the 8 symmetries (val_acc_tta,
    val_auc_tta); the plain ones stay the search's metric."""
    probs = predict_proba(model, x, precision=precision)
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), y).item()
    p, labels = probs.cpu().numpy(), y.cpu().numpy()
    metrics = {"val_loss": loss, "val_acc": accuracy(labels, p), "val_auc": macro_auc(labels, p)}
    if tta:
        averaged = predict_proba(model, x, precision=precision, tta=True).cpu().numpy()
        metrics |= {"val_acc_tta": accuracy(labels, averaged),
                    "val_auc_tta": macro_auc(labels, averaged)}
    return metrics, p


def fit(cfg: ClassifyTrialConfig, data: ClassSplit, report: Report, state: dict | None = None,
        logdir: str | Path | None = None,
        hparams: dict | None = None) -> dict[str, float]:
    """Train on data.train, validate on data.val each epoch, report metrics and a state."""
    x_train, y_train, x_val, y_val = _tensors(data, cfg.device)
    classes = list(data.train.classes)

    def start(resuming: bool) -> Trial:
        model = build_classifier(cfg.model, len(classes),
                                 pretrained=cfg.pretrained and not resuming,
                                 drop_rate=cfg.dropout, weights_dir=cfg.weights_dir)

        def train(epoch, optimizer, scheduler, gen, guard):
            return train_one_epoch(model, x_train, y_train, cfg, optimizer, scheduler, gen, guard)

        def validate(net: nn.Module) -> Validation:
            metrics, probs = evaluate(net, x_val, y_val, cfg.precision, cfg.tta)
            summary = evaluation_summary(y_val.cpu().numpy(), probs, classes)

            def draw(log, epoch: int) -> None:
                for tag, figure in (("val/roc", roc_figure(summary)),
                                    ("val/confusion", confusion_figure(summary))):
                    log.writer.add_figure(tag, figure, epoch)
                    plt.close(figure)

            return Validation(metrics, {"evaluation": summary}, draw)

        return Trial(model, len(x_train), train, validate, cfg.net_spec(data))

    return fit_epochs(cfg, start, report, METRIC_TAGS, state, logdir, hparams)
