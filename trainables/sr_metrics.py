"""Super-resolution losses and metrics on [0, 1] images.

SSIM and PSNR are torchmetrics' definitions, written out here (tests check them against
torchmetrics to 1e-6): importing torchmetrics pulls in torchvision, scipy.signal and its audio
metrics, ~5 s of start-up for every new trial actor on a small machine.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from trainables.errors import UserError

SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _gaussian_window(channels: int, sigma: float, dtype, device) -> torch.Tensor:
    """torchmetrics' window: side int(3.5 sigma + 0.5) * 2 + 1 (11 for 1.5), sums to one."""
    size = int(3.5 * sigma + 0.5) * 2 + 1
    dist = torch.arange((1 - size) / 2, (1 + size) / 2, 1, dtype=dtype, device=device)
    g = torch.exp(-((dist / sigma) ** 2) / 2)
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, size, size)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over the batch (Gaussian window 11, sigma 1.5, data range 1), as torchmetrics'
    structural_similarity_index_measure (1.9): reflect padding, every pixel averaged."""
    channels = pred.shape[1]
    window = _gaussian_window(channels, SSIM_SIGMA, pred.dtype, pred.device)
    pad = (window.shape[-1] - 1) // 2
    pred, target = (F.pad(t, (pad,) * 4, mode="reflect") for t in (pred, target))
    stats = F.conv2d(torch.cat((pred, target, pred * pred, target * target, pred * target)),
                     window, groups=channels).split(pred.shape[0])
    mu_p, mu_t = stats[0], stats[1]
    var_p = torch.clamp(stats[2] - mu_p**2, min=0.0)
    var_t = torch.clamp(stats[3] - mu_t**2, min=0.0)
    cov = stats[4] - mu_p * mu_t
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    index = ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1)
                                                           * (var_p + var_t + c2))
    return index.reshape(index.shape[0], -1).mean(-1).mean()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image, averaged over the batch (identical images give inf)."""
    mse = ((pred - target) ** 2).flatten(1).mean(-1)
    return (10 * torch.log10(1.0 / mse)).mean()


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
