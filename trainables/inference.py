"""Running a trained net on new images: the same input preparation as in training, batched."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from trainables.errors import UserError

SYMMETRIES = 8
"""The quarter turns and flips of a square image (the dihedral group D4)."""


def symmetry(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 quarter turns and flips of a batch of images (k = 0: as it is)."""
    x = torch.rot90(x, k % 4, (-2, -1))
    return x.flip(-1) if k >= 4 else x


def undo_symmetry(x: torch.Tensor, k: int) -> torch.Tensor:
    """symmetry(x, k) undone."""
    x = x.flip(-1) if k >= 4 else x
    return torch.rot90(x, -(k % 4), (-2, -1))


def with_tta(net: nn.Module, x: torch.Tensor,
             outputs: Callable[[torch.Tensor], torch.Tensor], images: bool) -> torch.Tensor:
    """Test-time augmentation: `outputs` of the net averaged over the 8 symmetries of x (a
    net's image output turned back first). Lensing has no preferred orientation."""
    total = None
    for k in range(SYMMETRIES):
        out = outputs(net(symmetry(x, k)))
        out = undo_symmetry(out, k) if images else out
        total = out if total is None else total + out
    return total / SYMMETRIES


def best_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def prepare_classify_inputs(spec: dict, x: np.ndarray, name: str = "input") -> torch.Tensor:
    """(N,1,H,W) images -> resized to the model's image size, normalised with its statistics."""
    height, width = spec["image_size"]
    if x.shape[-2] * width != x.shape[-1] * height:
        raise UserError(f"{name}: images of {x.shape[-2]}x{x.shape[-1]} do not have the model's "
                        f"aspect ratio ({height}x{width})")
    tensor = torch.as_tensor(x, dtype=torch.float32)
    if tuple(tensor.shape[-2:]) != (height, width):
        tensor = F.interpolate(tensor, size=(height, width), mode="bilinear", antialias=True,
                               align_corners=False)
    return (tensor - spec["mean"]) / spec["std"]


@torch.no_grad()
def run_batched(net: nn.Module, x: torch.Tensor, outputs: Callable[[torch.Tensor], torch.Tensor],
                batch_size: int = 64, device: str = "cpu", progress: bool = False,
                tta: bool = False, images: bool = False) -> np.ndarray:
    """`outputs` (the task's: class probabilities, or images clamped to [0, 1]) of the net's
    output for every image of x, in batches; with `tta`, averaged over the images' 8
    symmetries (`images`: the output is an image, turned back before averaging)."""
    net = net.to(device).eval()
    results = []
    for start in tqdm(range(0, len(x), batch_size), desc="predicting", unit="batch",
                      disable=not progress):
        batch = x[start:start + batch_size].to(device)
        out = with_tta(net, batch, outputs, images) if tta else outputs(net(batch))
        results.append(out.cpu())
    return torch.cat(results).numpy()
