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


def _gaussian_kernel(sigma: float, dtype, device) -> torch.Tensor:
    """torchmetrics' 1-D Gaussian: side int(3.5 sigma + 0.5) * 2 + 1 (11 for 1.5), sums to one."""
    size = int(3.5 * sigma + 0.5) * 2 + 1
    dist = torch.arange((1 - size) / 2, (1 + size) / 2, 1, dtype=dtype, device=device)
    g = torch.exp(-((dist / sigma) ** 2) / 2)
    return g / g.sum()


def _band(g: torch.Tensor, n: int) -> torch.Tensor:
    """(n, n - len(g) + 1) matrix whose column j holds g at rows j..j + len(g) - 1: a 'valid'
    1-D convolution with g along an axis of length n as one matrix product."""
    offset = (torch.arange(n, device=g.device)[:, None]
              - torch.arange(n - len(g) + 1, device=g.device)[None, :])
    inside = (offset >= 0) & (offset < len(g))
    return torch.where(inside, g[offset.clamp(0, len(g) - 1)], 0.0)


def _gaussian_filter(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """x (..., H, W) filtered by the 2-D window outer(g, g), 'valid' (no padding).

    The window is separable: a row pass and a column pass, each one matrix product with a band
    matrix. A 1-channel convolution is oneDNN's slowest case; the two products are ~5x faster
    than the 11 x 11 convolution torchmetrics uses, and sum the same terms (validation
    computes SSIM on every image of every epoch, and the SSIM losses on every batch).
    """
    h, w = x.shape[-2:]
    return _band(g, h).T @ (x @ _band(g, w))


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over the batch (Gaussian window 11, sigma 1.5, data range 1), as torchmetrics'
    structural_similarity_index_measure (1.9): reflect padding, every pixel averaged."""
    g = _gaussian_kernel(SSIM_SIGMA, pred.dtype, pred.device)
    pad = (len(g) - 1) // 2
    pred, target = (F.pad(t, (pad,) * 4, mode="reflect") for t in (pred, target))
    stats = _gaussian_filter(
        torch.cat((pred, target, pred * pred, target * target, pred * target)), g
    ).split(pred.shape[0])
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
