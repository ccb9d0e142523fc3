"""The classify and anomaly training loop: fit(cfg, data, report) from train_one_epoch, evaluate.

Cross-entropy on logits (never softmax before the loss). For anomaly (two classes) the same
two-logit cross-entropy is used rather than BCE on one logit: one loop, one checkpoint format,
and the positive-class probability for the AUC is simply softmax[:, 1]. Never imports Ray.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
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
from trainables.config_dict import config_from_dict, require
from trainables.cyclic_adam import cyclic_adam
from trainables.data.class_images import ClassSplit
from trainables.models.classifiers import FAMILIES, build_classifier
from trainables.models.layout import batch_layout, to_layout
from trainables.precision import PRECISIONS, autocast
from trainables.training_state import epoch_state, resume
from trainables.trial_log import TrialLog

METRIC_TAGS = ["val/loss", "val/acc", "val/auc", "epoch"]


@dataclass(frozen=True)
class ClassifyTrialConfig:
    """One classify trial: the net, pretrained or not, regularisation, optimiser, epochs."""

    TASK = "classify"

    family: str
    """resnet, efficientnet or mobilevit."""
    model: str
    """The timm name, one of the family's (resnet18, efficientnet_b2, mobilevit_ref...)."""
    resnet_model: str | None = None
    """The space's conditional suggestion for the family (repeated in `model`)."""
    efficientnet_model: str | None = None
    mobilevit_model: str | None = None
    pretrained: bool = False
    """Start from ImageNet weights (first convolution summed to one channel)."""
    dropout: float = 0.0
    batch_size: int = 64
    base_lr: float = 1e-4
    lr_ratio: float = 5.0
    """max_lr / base_lr of the cyclic schedule (>= 1)."""
    weight_decay: float = 0.0
    augment: bool = True
    """Random flips and quarter turns of each training image (lensing has no orientation)."""
    max_epochs: int = 10
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    weights_dir: str | None = None
    """Folder of local ImageNet weights (<model>.pth); default $LENSTUNE_WEIGHTS or the cache."""
    channels_last: bool = True
    """Train and validate in the NHWC memory layout (faster convolutions; see models.layout)."""
    precision: str = "fp32"
    """fp32, or bf16 autocast of the net's forward passes (see trainables.precision)."""

    def __post_init__(self) -> None:
        require(self.precision in PRECISIONS,
                f"unknown precision {self.precision!r}; known: {list(PRECISIONS)}")
        require(self.family in FAMILIES, f"unknown family {self.family!r}; known: "
                f"{sorted(FAMILIES)}")
        require(self.model in FAMILIES[self.family],
                f"unknown {self.family} model {self.model!r}; known: {FAMILIES[self.family]}")
        require(0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}")
        require(self.batch_size >= 1, f"batch_size must be positive, got {self.batch_size}")
        require(self.base_lr > 0, f"base_lr must be positive, got {self.base_lr}")
        require(self.lr_ratio >= 1, f"lr_ratio (max_lr/base_lr) must be >= 1, got {self.lr_ratio}")
        require(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        require(self.max_epochs >= 1 and self.threads >= 1, "max_epochs and threads must be >= 1")

    @classmethod
    def from_dict(cls, values: dict):
        return config_from_dict(cls, values)

    def net_spec(self, data: ClassSplit | None = None) -> dict:
        """What builds the net and prepares its input again, without the search."""
        spec = {"task": self.TASK, "model": self.model, "dropout": self.dropout,
                "lenstune_version": __version__}
        if data is not None:
            spec |= {"classes": list(data.train.classes), "mean": data.mean, "std": data.std,
                     "image_size": list(data.train.x.shape[-2:])}
        return spec


@dataclass(frozen=True)
class AnomalyTrialConfig(ClassifyTrialConfig):
    TASK = "anomaly"


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


def train_one_epoch(model, x, y, cfg, optimizer, scheduler, gen) -> dict[str, float]:
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
    return {"train_loss": total.item() / len(x), "lr": scheduler.get_last_lr()[0]}


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 128,
                  precision: str = "fp32") -> torch.Tensor:
    model.eval()
    probs = []
    for i in range(0, len(x), batch_size):
        with autocast(x.device, precision):
            logits = model(x[i:i + batch_size])
        probs.append(F.softmax(logits.float(), 1))
    return torch.cat(probs)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             precision: str = "fp32") -> tuple[dict, np.ndarray]:
    """Validation loss, accuracy and macro ROC AUC; also the probabilities."""
    probs = predict_proba(model, x, precision=precision)
    loss = F.nll_loss(torch.log(probs.clamp_min(1e-12)), y).item()
    p, labels = probs.cpu().numpy(), y.cpu().numpy()
    return {"val_loss": loss, "val_acc": accuracy(labels, p), "val_auc": macro_auc(labels, p)}, p


def fit(cfg: ClassifyTrialConfig, data: ClassSplit, report, state: dict | None = None,
        logdir: str | Path | None = None) -> dict[str, float]:
    """Train on data.train, validate on data.val each epoch, report metrics and a state."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    x_train, y_train, x_val, y_val = _tensors(data, cfg.device)
    classes = list(data.train.classes)
    model = build_classifier(cfg.model, len(classes), pretrained=cfg.pretrained and state is None,
                             drop_rate=cfg.dropout, weights_dir=cfg.weights_dir).to(cfg.device)
    model = to_layout(model, cfg.channels_last)
    optimizer, scheduler = cyclic_adam(model, cfg.base_lr, cfg.lr_ratio, cfg.weight_decay,
                                       math.ceil(len(x_train) / cfg.batch_size))
    gen = torch.Generator().manual_seed(cfg.seed)
    first_epoch = resume(state, model, optimizer, scheduler, gen)
    log = TrialLog(logdir, asdict(cfg), METRIC_TAGS) if logdir is not None else None
    metrics: dict = {}
    try:
        for epoch in range(first_epoch, cfg.max_epochs + 1):
            metrics = train_one_epoch(model, x_train, y_train, cfg, optimizer, scheduler, gen)
            val, probs = evaluate(model, x_val, y_val, cfg.precision)
            metrics |= val | {"epoch": epoch}
            summary = evaluation_summary(y_val.cpu().numpy(), probs, classes)
            if log is not None:
                log.scalars(epoch, {"train/loss": metrics["train_loss"], "train/lr": metrics["lr"]}
                            | {tag: metrics[tag.replace("/", "_")] for tag in METRIC_TAGS})
                if epoch == 1 or epoch % 2 == 0 or epoch == cfg.max_epochs:
                    for tag, figure in (("val/roc", roc_figure(summary)),
                                        ("val/confusion", confusion_figure(summary))):
                        log.writer.add_figure(tag, figure, epoch)
                        plt.close(figure)
            report(metrics, epoch_state(model, optimizer, scheduler, gen, epoch,
                                        cfg.net_spec(data), extras={"evaluation": summary}))
    finally:
        if log is not None:
            log.close()
    return metrics
