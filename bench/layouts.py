"""Memory layout: classifier training steps in channels-last (NHWC) vs NCHW, per model and size.

channels_last is on by default in every trial (`trainables.models.layout`); whether it pays
depends on the net, the image size and the CPU (oneDNN picks different kernels per ISA). Each
model trains in both layouts from the same initial weights on the same batch, the layouts
alternated step by step (which goes first swaps each round) so that a noisy machine's drift
falls on both; the median step of each. The ratio is the smallest channels-last speed-up at
the largest size given (the reference data's 150x150 by default): the default layout should
never lose there.
"""

from __future__ import annotations

import statistics
import time

import torch

from bench.common import finish, parser, require_cuda
from trainables import classify
from trainables.cyclic_adam import cyclic_adam
from trainables.epochs import DivergenceGuard
from trainables.errors import UserError, exits_cleanly
from trainables.models.classifiers import CLASSIFIERS, FAMILIES, build_classifier
from trainables.models.layout import to_layout

DEFAULT_MODELS = ("resnet18", "resnet34", "resnet50", "efficientnet_b0", "mobilevit_xs")


def _steps(model_name: str, size: int, batch_size: int, steps: int, device: str) -> dict:
    """Median seconds of a classify trial's training step (`classify.train_one_epoch` over one
    batch, unaugmented) in each layout."""
    torch.manual_seed(0)
    first = build_classifier(model_name, 3)
    x = torch.randn(batch_size, 1, size, size, device=device)
    y = torch.randint(0, 3, (batch_size,), device=device)
    sides = {}
    for channels_last in (False, True):
        model = build_classifier(model_name, 3)
        model.load_state_dict(first.state_dict())
        model = to_layout(model.to(device), channels_last)
        cfg = classify.ClassifyTrialConfig(
            family=next(f for f, names in FAMILIES.items() if model_name in names),
            model=model_name, batch_size=batch_size, augment=False, device=device,
            channels_last=channels_last)
        sides[channels_last] = (model, cfg, *cyclic_adam(model, 1e-4, 5.0, 0.0, steps + 1))
    gen = torch.Generator().manual_seed(0)
    times: dict[bool, list[float]] = {False: [], True: []}
    for step in range(steps + 1):  # step 0 warms both up (oneDNN primitives, allocator)
        for channels_last in ((False, True) if step % 2 == 0 else (True, False)):
            model, cfg, optimizer, scheduler = sides[channels_last]
            start = time.perf_counter()
            # Ends with the loss's .item(), which waits for a GPU.
            classify.train_one_epoch(model, x, y, cfg, optimizer, scheduler, gen,
                                     DivergenceGuard())
            if step:
                times[channels_last].append(time.perf_counter() - start)
    nchw, nhwc = (statistics.median(times[side]) for side in (False, True))
    return {"model": model_name, "image_size": size, "batch_size": batch_size,
            "nchw_ms": round(nchw * 1e3, 1), "channels_last_ms": round(nhwc * 1e3, 1),
            "channels_last_speedup": round(nchw / nhwc, 3)}


def _positive_ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"{flag} {text!r}: expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise UserError(f"{flag} {text!r}: every value must be positive")
    return values


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("layouts", __doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help="comma-separated classifier names (timm names lenstune builds)")
    p.add_argument("--sizes", default="48,150",
                   help="image sizes (the laptop preset trains at 48, the reference data is 150)")
    p.add_argument("--batch-sizes", default="64,16",
                   help="batch size at each size (one value: all sizes)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per layout")
    p.add_argument("--threads", type=int, default=1, help="torch threads (a laptop trial's 1)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = p.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in CLASSIFIERS]
    if unknown or not models:
        raise UserError(f"--models: unknown {unknown or args.models!r}; known: "
                        f"{', '.join(CLASSIFIERS)}")
    sizes = _positive_ints(args.sizes, "--sizes")
    batches = _positive_ints(args.batch_sizes, "--batch-sizes")
    if len(batches) not in (1, len(sizes)):
        raise UserError(f"--batch-sizes: give one, or one per size ({len(sizes)})")
    if args.steps < 1 or args.threads < 1:
        raise UserError("--steps and --threads must be positive")
    if args.device == "cuda":
        require_cuda("--device cuda")
    if args.quick:
        models, sizes, batches, steps = ["resnet18"], [32], [4], 1
    else:
        steps = args.steps
    batches = batches * len(sizes) if len(batches) == 1 else batches
    torch.set_num_threads(args.threads)
    rows = []
    for size, batch_size in zip(sizes, batches):
        for model_name in models:
            row = _steps(model_name, size, batch_size, steps, args.device)
            print(f"{model_name:>16} {size:>4}px batch {batch_size:<3} NCHW "
                  f"{row['nchw_ms']:8.1f} ms  channels-last {row['channels_last_ms']:8.1f} ms  "
                  f"{row['channels_last_speedup']:.2f}x", flush=True)
            rows.append(row)
    largest = max(sizes)
    at_largest = [r for r in rows if r["image_size"] == largest]
    worst = min(at_largest, key=lambda r: r["channels_last_speedup"])
    figures = {"threads": args.threads, "device": args.device, "steps": steps, "rows": rows,
               "slowest_at_largest": f"{worst['model']} at {largest}px"}
    finish("layouts", args, figures,
           (f"channels-last speed-up, smallest at {largest}px", worst["channels_last_speedup"],
            ">= 1.0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
