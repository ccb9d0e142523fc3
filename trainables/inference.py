"""Running a trained net on new images: the same input preparation as in training, batched."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from trainables.errors import UserError


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
                batch_size: int = 64, device: str = "cpu", progress: bool = False) -> np.ndarray:
    """`outputs` (the task's: class probabilities, or images clamped to [0, 1]) of the net's
    output for every image of x, in batches."""
    net = net.to(device).eval()
    results = []
    for start in tqdm(range(0, len(x), batch_size), desc="predicting", unit="batch",
                      disable=not progress):
        results.append(outputs(net(x[start:start + batch_size].to(device))).cpu())
    return torch.cat(results).numpy()
