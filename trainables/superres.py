"""The superres training loop: fit(cfg, data, report) from train_one_epoch and evaluate.

Trains on random aligned LR/HR crops (as BasicSR does: whole 75x75 inputs are ~16x slower per
image on a CPU) and validates on whole images. Never imports Ray.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables import __version__
from trainables.data.sr_pairs import SRSplit
from trainables.epochs import DivergenceGuard, Report, Trial, Validation, fit_epochs
from trainables.models.layout import batch_layout
from trainables.models.sr_nets import SR_NETS, UPSAMPLERS, build_sr_net
from trainables.precision import autocast
from trainables.sr_metrics import SR_LOSSES, bicubic_x2, sr_loss, sr_scores
from trainables.srgan import Adversary
from trainables.trial_config import TrialConfig, require

METRIC_TAGS = ["val/loss", "val/mse", "val/psnr", "val/ssim", "epoch", "diverged"]
GRID_IMAGES = 4
"""Validation images shown in the LR | SR | HR | error sample grid."""


@dataclass(frozen=True, kw_only=True)
class SRTrialConfig(TrialConfig):
    """One superres trial: the net, the loss, the crops, and SRGAN's adversary."""

    task: str = "superres"
    model: str
    """A registered SR net: srcnn, srresnet, edsr or srgan."""
    blocks: int = 1
    """Residual blocks (srresnet, edsr, srgan)."""
    features: int = 64
    """Feature channels of the convolutions."""
    upsample: str = "pixelshuffle"
    """pixelshuffle or deconv (learned transposed convolution); srcnn upsamples by bicubic."""
    loss: str = "mse"
    """mse, ssim (1 - SSIM) or mse+ssim."""
    batch_size: int = 16
    crop: int = 24
    """Side of the random LR training crop (the HR crop is twice that); 0 = whole image."""
    adv_weight: float = 1e-3
    """srgan: weight of the adversarial term in the generator's loss."""
    disc_features: int = 32
    """srgan: width of the discriminator's first convolution."""
    disc_lr: float = 1e-4
    """srgan: the discriminator's own (constant) Adam learning rate."""
    warmup_epochs: int = 0
    """srgan: epochs of content loss alone before the adversarial game starts."""
    collapse_steps: int = 100
    """A trial whose discriminator loss stays near zero this many steps in a row has diverged."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.model in SR_NETS, f"unknown SR model {self.model!r}; known: {sorted(SR_NETS)}")
        require(self.upsample in UPSAMPLERS or self.model == "srcnn",
                f"unknown upsampling {self.upsample!r}; known: {UPSAMPLERS}")
        require(self.loss in SR_LOSSES, f"unknown SR loss {self.loss!r}; known: {list(SR_LOSSES)}")
        require(self.blocks >= 0 and self.features >= 2, "blocks must be >= 0, features >= 2")
        require(self.crop >= 0, "crop must be >= 0")
        require(self.adv_weight >= 0 and self.disc_lr > 0 and self.disc_features >= 2,
                "srgan needs adv_weight >= 0, disc_lr > 0 and disc_features >= 2")
        require(self.warmup_epochs >= 0 and self.collapse_steps >= 1,
                "warmup_epochs must be >= 0 and collapse_steps >= 1")

    def net_spec(self) -> dict:
        """What builds the net again: enough to load a checkpoint without the search."""
        return {"task": self.task, "model": self.model, "blocks": self.blocks,
                "features": self.features, "upsample": self.upsample,
                "lenstune_version": __version__}


def build_net(spec: dict) -> nn.Module:
    return build_sr_net(spec["model"], spec["blocks"], spec["features"], spec["upsample"])


def _tensors(data: SRSplit, device: str) -> tuple[torch.Tensor, ...]:
    with warnings.catch_warnings():
        # Arrays from Ray's object store are read-only; they are only ever indexed (copied) here.
        warnings.simplefilter("ignore", UserWarning)
        return tuple(torch.as_tensor(a).to(device) for a in
                     (data.train.lr, data.train.hr, data.val.lr, data.val.hr))


def _random_crops(
    lr: torch.Tensor, hr: torch.Tensor, index: torch.Tensor, crop: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned random crops (LR crop x crop, HR 2crop x 2crop) and a random dihedral transform,
    gathered for the whole batch at once (no per-sample Python)."""
    h, w = lr.shape[-2:]
    if 0 < crop < min(h, w):
        ys = torch.randint(0, h - crop + 1, (len(index),), generator=gen).to(lr.device)
        xs = torch.randint(0, w - crop + 1, (len(index),), generator=gen).to(lr.device)
        lr_b, hr_b = (_gather_crops(images, index, ys * scale, xs * scale, crop * scale)
                      for images, scale in ((lr, 1), (hr, 2)))
    else:
        lr_b, hr_b = lr[index], hr[index]
    # Lensing physics has no preferred orientation: flips and quarter turns are free data.
    k = torch.randint(0, 4, (1,), generator=gen).item()
    flip = torch.randint(0, 2, (1,), generator=gen).item()
    lr_b, hr_b = torch.rot90(lr_b, k, (-2, -1)), torch.rot90(hr_b, k, (-2, -1))
    if flip:
        lr_b, hr_b = lr_b.flip(-1), hr_b.flip(-1)
    return lr_b, hr_b


def _gather_crops(images: torch.Tensor, index: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor,
                  size: int) -> torch.Tensor:
    """images[index[i], :, ys[i]:ys[i]+size, xs[i]:xs[i]+size] for each i: (B, C, size, size)."""
    offsets = torch.arange(size, device=images.device)
    rows = (ys[:, None] + offsets)[:, :, None]
    cols = (xs[:, None] + offsets)[:, None, :]
    # Advanced indices around a slice put their broadcast dims first: (B, size, size, C).
    return images[index.to(images.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def train_one_epoch(
    model: nn.Module, lr: torch.Tensor, hr: torch.Tensor, cfg: SRTrialConfig,
    optimizer: torch.optim.Optimizer, scheduler, gen: torch.Generator,
    guard: DivergenceGuard, adversary: Adversary | None = None,
) -> dict[str, float]:
    """One pass over the training pairs (one random crop of each), the discriminator stepping
    beside the generator when there is an adversary. Raises Diverged through `guard`: after the
    step that diverged when there is an adversary (whose collapse is counted in steps), else at
    the epoch's end, so that a GPU never waits for a loss mid-epoch."""
    model.train()
    loss_fn = sr_loss(cfg.loss)
    order = torch.randperm(len(lr), generator=gen)
    names = ("loss", "adv_loss", "d_loss")
    sums = torch.zeros(len(names), device=lr.device)  # summed on the device
    seen = 0
    for start in range(0, len(order), cfg.batch_size):
        lr_b, hr_b = _random_crops(lr, hr, order[start:start + cfg.batch_size], cfg.crop, gen)
        lr_b = batch_layout(lr_b, cfg.channels_last)
        with autocast(lr.device, cfg.precision):
            sr = model(lr_b)
        sr = sr.float()  # the losses (SSIM's sums, MSE's small differences) want fp32
        content = loss_fn(sr, hr_b)
        adv = adversary.generator_term(sr) if adversary is not None else content.new_zeros(())
        optimizer.zero_grad(set_to_none=True)
        (content + adv).backward()
        optimizer.step()
        scheduler.step()
        step = torch.stack([content.detach(), adv.detach(), content.new_zeros(())])
        if adversary is not None:
            step[2] = adversary.step(sr, hr_b)
            guard.check(**dict(zip(names, step.tolist())))
        sums += step * len(lr_b)
        seen += len(lr_b)
    means = dict(zip(names, (sums / seen).tolist()))
    guard.check(**{name: value for name, value in means.items() if name != "d_loss"})
    return {f"train_{name}": value for name, value in means.items()} | {
        "lr": scheduler.get_last_lr()[0]}


@torch.no_grad()
def predict(model: nn.Module, lr: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
    model.eval()
    return torch.cat([model(lr[i:i + batch_size]) for i in range(0, len(lr), batch_size)])


@torch.no_grad()
def evaluate(
    model: nn.Module, lr: torch.Tensor, hr: torch.Tensor, loss_name: str, batch_size: int = 32,
    precision: str = "fp32", samples: int = GRID_IMAGES,
) -> tuple[dict[str, float], torch.Tensor]:
    """Validation loss, MSE, PSNR (dB, mean over images) and SSIM on whole images; also the
    super-resolved first `samples` images, for the sample grid (no second pass over them)."""
    model.eval()
    loss_fn = sr_loss(loss_name)
    sums = {"val_loss": 0.0, "val_mse": 0.0, "val_psnr": 0.0, "val_ssim": 0.0}
    first = []
    for i in range(0, len(lr), batch_size):
        with autocast(lr.device, precision):
            pred = model(lr[i:i + batch_size])
        pred, target = pred.float(), hr[i:i + batch_size]
        if i < samples:
            first.append(pred[:samples - i])
        sums["val_loss"] += loss_fn(pred, target).item() * len(target)
        for name, value in sr_scores(pred, target).items():
            sums[f"val_{name}"] += value
    return {name: value / len(lr) for name, value in sums.items()}, torch.cat(first)


@torch.no_grad()
def bicubic_baseline(lr: np.ndarray, hr: np.ndarray) -> dict[str, float]:
    """MSE, PSNR and SSIM of bicubic x2 on the given pairs: the row every result is read against."""
    lr, hr = torch.as_tensor(np.asarray(lr)), torch.as_tensor(np.asarray(hr))
    sums = {"mse": 0.0, "psnr": 0.0, "ssim": 0.0}
    for i in range(0, len(lr), 64):
        for name, value in sr_scores(bicubic_x2(lr[i:i + 64]), hr[i:i + 64]).items():
            sums[name] += value
    return {f"val_{name}": value / len(lr) for name, value in sums.items()}


def sample_grid(model: nn.Module, lr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Rows of LR (nearest x2) | SR | HR | |error| x4 for the first GRID_IMAGES images."""
    lr, hr = lr[:GRID_IMAGES], hr[:GRID_IMAGES]
    return image_grid(lr, predict(model, lr), hr)


def image_grid(lr: torch.Tensor, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """The grid of sample_grid from the net's predictions `sr` of the images `lr`."""
    sr = sr.clamp(0, 1)
    lr_big = torch.nn.functional.interpolate(lr, scale_factor=2, mode="nearest")
    error = ((sr - hr).abs() * 4).clamp(0, 1)
    # Each tile framed in white; one row per image. (Built here rather than with torchvision's
    # make_grid: importing torchvision costs a new trial actor seconds.)
    framed = [F.pad(t, (2, 2, 2, 2), value=1.0) for t in (lr_big, sr, hr, error)]
    rows = torch.cat(framed, dim=-1)
    return torch.cat(list(rows), dim=-2).cpu()


def fit(cfg: SRTrialConfig, data: SRSplit, report: Report, state: dict | None = None,
        logdir: str | Path | None = None,
        hparams: dict | None = None) -> dict[str, float]:
    """Train cfg's net on data.train, validate on data.val each epoch, and report.

    `state` (as passed to an earlier report) resumes after its epoch. Returns the last metrics.
    """
    train_lr, train_hr, val_lr, val_hr = _tensors(data, cfg.device)

    def start(resuming: bool) -> Trial:
        model = build_net(cfg.net_spec())
        adversary = (Adversary(cfg.disc_features, cfg.disc_lr, cfg.adv_weight, cfg.device)
                     if cfg.model == "srgan" else None)

        def train(epoch, optimizer, scheduler, gen, guard):
            playing = adversary if epoch > cfg.warmup_epochs else None
            return train_one_epoch(model, train_lr, train_hr, cfg, optimizer, scheduler, gen,
                                   guard, playing)

        def validate(net: nn.Module) -> Validation:
            metrics, first_sr = evaluate(net, val_lr, val_hr, cfg.loss, precision=cfg.precision)
            shown = len(first_sr)

            def draw(log, epoch: int) -> None:
                log.image(epoch, "val/LR_SR_HR_error",
                          image_grid(val_lr[:shown], first_sr, val_hr[:shown]))

            return Validation(metrics, draw=draw)

        return Trial(
            model, len(train_lr), train, validate, cfg.net_spec(),
            guard=DivergenceGuard(cfg.collapse_steps),
            extra_state=lambda: {"adversary": adversary.state_dict()} if adversary else {},
            load_extra_state=lambda extra: adversary and adversary.load_state_dict(
                extra["adversary"]))

    return fit_epochs(cfg, start, report, METRIC_TAGS, state, logdir, hparams)
