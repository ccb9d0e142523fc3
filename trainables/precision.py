"""Training precision: fp32, or bf16 autocast of the nets' forward passes.

Under `bf16` the nets' matrix products and convolutions run in bfloat16 (torch's autocast picks
which ops); weights, optimiser state, losses and metrics stay fp32 (a net's output is cast back
before the loss). bf16 has fp32's exponent range, so unlike fp16 it needs no loss scaling.
It pays on GPUs with bf16 tensor cores (Ampere and later) and on CPUs with bf16 units
(AVX512-BF16, AMX); elsewhere torch emulates it, and a CPU without them trains 10-40x slower
(measured on the development VM's AMD EPYC, docs/benchmarks.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16")


def autocast(device: str | torch.device, precision: str) -> torch.autocast:
    """The autocast context of `precision` on `device` (a no-op for fp32)."""
    import torch  # here, so that search.config's PRECISIONS does not import torch

    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16,
                          enabled=precision == "bf16")
