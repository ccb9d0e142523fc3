"""Super-resolution losses and metrics on [0, 1] images, from torchmetrics."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from trainables.errors import UserError


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over the batch (Gaussian window 11, sigma 1.5, data range 1)."""
    return structural_similarity_index_measure(pred, target, data_range=1.0)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image, averaged over the batch (identical images give inf)."""
    return peak_signal_noise_ratio(pred, target, data_range=1.0, dim=(1, 2, 3))


SR_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": F.mse_loss,
    "ssim": lambda pred, target: 1.0 - ssim(pred, target),
    "mse+ssim": lambda pred, target: F.mse_loss(pred, target) + 1.0 - ssim(pred, target),
}


def sr_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if name not in SR_LOSSES:
        raise UserError(f"unknown SR loss {name!r}; known: {', '.join(SR_LOSSES)}")
    return SR_LOSSES[name]


def bicubic_x2(lr: torch.Tensor) -> torch.Tensor:
    """The baseline every SR result is read against: bicubic x2, clamped to [0, 1]."""
    return F.interpolate(lr, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)


@torch.no_grad()
def sr_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, PSNR and SSIM summed over the batch, for averaging across batches by the caller."""
    pred = pred.clamp(0, 1)
    n = pred.shape[0]
    return {
        "mse": F.mse_loss(pred, target).item() * n,
        "psnr": psnr(pred, target).item() * n,
        "ssim": ssim(pred, target).item() * n,
    }
