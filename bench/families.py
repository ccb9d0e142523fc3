"""The classifier families side by side: each net's training speed and size beside ResNet-18,
and the best of each family after the same search budget on the simulated classify set.

1. Speed: a classify trial's training step (channels-last, one thread by default) on random
   images at each `--sizes`, in images per second, and each net's parameter count.
2. Search: for each of `--families`, `search.run --task classify --models FAMILY` with the same
   trials, epochs and data (no early stopping, no refit, so every family gets the same images),
   and its best validation macro AUC and wall time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.common import finish, parser
from bench.fixed_search import epochs_and_best, run_fixed
from search.config import default_cache_dir
from trainables import classify
from trainables.cyclic_adam import cyclic_adam
from trainables.epochs import DivergenceGuard
from trainables.errors import UserError, exits_cleanly
from trainables.models.classifiers import CLASSIFIERS, FAMILIES, build_classifier
from trainables.models.layout import to_layout

DEFAULT_NETS = ("resnet18", "mobilenetv3_small_100", "mobilenetv3_large_100", "c8_resnet18",
                "d8_resnet18")
DEFAULT_FAMILIES = ("resnet18", "mobilenetv3", "equivariant", "mobilevit_ref")


def speed(name: str, size: int, batch_size: int, steps: int) -> float:
    """Images per second of a classify trial's training step (median of `steps`)."""
    torch.manual_seed(0)
    model = to_layout(build_classifier(name, 3), True)
    family = next(f for f, names in FAMILIES.items() if name in names)
    cfg = classify.ClassifyTrialConfig(family=family, model=name, batch_size=batch_size,
                                       augment=False)
    optimizer, scheduler = cyclic_adam(model, 1e-4, 5.0, 0.0, steps + 1)
    x, y = torch.randn(batch_size, 1, size, size), torch.randint(0, 3, (batch_size,))
    gen, times = torch.Generator().manual_seed(0), []
    for step in range(steps + 1):  # the first warms up oneDNN and the allocator
        start = time.perf_counter()
        classify.train_one_epoch(model, x, y, cfg, optimizer, scheduler, gen, DivergenceGuard())
        if step:
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def parameters(name: str) -> int:
    return sum(p.numel() for p in build_classifier(name, 3).parameters())


def search_family(family: str, args, storage: Path, cache: Path) -> dict:
    name = f"family-{family}"
    start = time.perf_counter()
    run_fixed("classify", None, [
        "--task", "classify", "--models", family, "--num-samples", str(args.trials),
        "--max-epochs", str(args.epochs), "--grace-epochs", str(args.epochs), "--refit-top", "0",
        "--sim-count", str(args.sim_count), "--image-size", str(args.image_size),
        "--concurrency", "2", "--storage", str(storage), "--name", name, "--cache-dir",
        str(cache), "--no-dashboard", "--seed", "0"])
    epochs, best = epochs_and_best(storage / name, "classify")
    return {"best_val_auc": best, "epochs": epochs,
            "seconds": round(time.perf_counter() - start, 1)}


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("families", __doc__.splitlines()[0])
    p.add_argument("--nets", default=",".join(DEFAULT_NETS))
    p.add_argument("--sizes", default="64,150")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--families", default=",".join(DEFAULT_FAMILIES),
                   help="--models values to search, one search each")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--sim-count", type=int, default=600, help="simulated images per class")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    nets = [n for n in args.nets.split(",") if n]
    unknown = [n for n in nets if n not in CLASSIFIERS]
    if unknown:
        raise UserError(f"--nets: unknown {', '.join(unknown)}; known: {', '.join(CLASSIFIERS)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    families = [f for f in args.families.split(",") if f]
    if args.quick:
        sizes, args.steps, args.trials, args.epochs = [16], 1, 1, 1
        args.sim_count, args.image_size, families = 6, 16, families[:1]
    torch.set_num_threads(args.threads)
    figures: dict = {"speed_img_per_s": {}, "parameters": {n: parameters(n) for n in nets}}
    for size in sizes:
        batch = 64 if size <= 64 else 16
        figures["speed_img_per_s"][size] = {n: round(speed(n, size, batch, args.steps), 1)
                                            for n in nets}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        figures["search"] = {f: search_family(f, args, Path(tmp), cache) for f in families}
        figures["search_settings"] = {"trials": args.trials, "epochs": args.epochs,
                                      "sim_count": args.sim_count, "image_size": args.image_size}
    speeds = figures["speed_img_per_s"][sizes[0]]
    base = speeds.get("resnet18")
    ratio = min(speeds.values()) / base if base else float("nan")
    finish("families", args, figures,
           ("slowest net's speed / ResNet-18's at the first size", ratio,
            "what a net costs a search beside ResNet-18"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
