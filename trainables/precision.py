"""Training precision: fp32, or bf16 autocast of the nets' forward passes.

Under `bf16` the nets' matrix products and convolutions run in bfloat16 (torch's autocast picks
which ops); weights, optimiser state, losses and metrics stay fp32 (a net's output is cast back
before the loss). bf16 has fp32's exponent range, so unlike fp16 it needs no loss scaling.
It pays on GPUs with bf16 tensor cores (Ampere and later) and on CPUs with bf16 units
(AVX512-BF16, AMX): ResNet18 and SRResNet trials train 1.4-1.9x faster than in fp32 on a
2-core AMD EPYC (Zen 4) VM. Elsewhere torch emulates it, and a CPU without them trains 10-40x slower
(an AMD EPYC without AVX-512; docs/benchmarks.md, section 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PRECISIONS = ("fp32", "bf16")
SEARCH_PRECISIONS = ("auto", *PRECISIONS)
"""What a search may ask for: `auto` is bf16 where the trial's device has bf16 units, else fp32."""


def resolve_precision(precision: str, device: str) -> str:
    """The precision a trial on `device` trains in when its search asked for `precision`."""
    if precision != "auto":
        return precision
    return "bf16" if has_bf16_units(device) else "fp32"


def autocast(device: str | torch.device, precision: str) -> torch.autocast:
    """The autocast context of `precision` on `device` (a no-op for fp32)."""
    import torch  # here, so that search.config's PRECISIONS does not import torch

    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16,
                          enabled=precision == "bf16")


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_bf16_units(device: str = "cpu") -> bool:
    """Whether `device` (cpu or cuda) computes bf16 in hardware rather than emulating it: a GPU
    of compute capability 8 or more, an x86 CPU with AVX512-BF16 or AMX, an Arm CPU with BF16."""
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(
            including_emulation=False)
    # oneDNN's own check (torch.ops.mkldnn._is_mkldnn_bf16_supported) also says yes for plain
    # AVX-512, where bf16 is converted to fp32 and computed there: not faster.
    if torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return True
    return "bf16" in _cpu_flags()  # aarch64 lists its BF16 extension so; x86 names it avx512_bf16
