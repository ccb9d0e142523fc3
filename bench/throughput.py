"""Trial throughput: training images/s of lenstune's loops vs the usual Dataset + DataLoader.

The reference is the way such a loop is usually written (and was in the reference notebooks):
a torchvision-style Dataset reading one .npy file per sample from the published layout,
per-sample transforms (resize, normalise, random flip and quarter turn; for SR an aligned
random crop), a DataLoader batching them. lenstune's loops train from in-memory tensors with
batched augmentation. Same model, optimiser, batch size, threads and data on all sides;
lenstune's loops also train in the channels-last layout (their default), and a third column
shows them in NCHW to separate the two gains. Also reported: the share of the reference's
epochs spent waiting for its DataLoader, and the speed-up a data path costing nothing would
give it (its ceiling, 1 / (1 - share)). Target: >= 1.3x.

On a GPU (`--device cuda`) the data sit on the GPU for lenstune's loops, the reference's
DataLoader feeds it from `--workers` processes into pinned memory, each epoch ends with a CUDA
synchronisation. Where the device computes bf16 in hardware (a GPU; a CPU with AVX512-BF16 or AMX
units), lenstune's loop also trains in bf16 autocast (`precision="bf16"`), and so does the
reference with the one `torch.autocast` line a notebook would add: lenstune in bf16 against the
fp32 reference is what a trial gains, against the bf16 reference what is lenstune's own.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from bench.common import finish, parser, require_cuda
from search.config import default_cache_dir, preset_defaults
from search.data import cached_default
from trainables import classify, superres
from trainables.cyclic_adam import cyclic_adam
from trainables.data.class_images import read_class_images, write_simulated_classes
from trainables.data.lensing import LensingRecipe
from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs, write_simulated_sr_pairs
from trainables.epochs import DivergenceGuard
from trainables.errors import UserError, exits_cleanly
from trainables.models.classifiers import build_classifier
from trainables.models.layout import to_layout
from trainables.precision import autocast, has_bf16_units

TARGET = 1.3


# ---- the reference: files, per-sample transforms, a DataLoader ---------------------------------

def _random_dihedral(*images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The same random flip and quarter turn of each image of one sample."""
    k = int(torch.randint(0, 4, (1,)))
    flip = bool(torch.randint(0, 2, (1,)))
    out = tuple(torch.rot90(image, k, (-2, -1)) for image in images)
    return tuple(image.flip(-1) for image in out) if flip else out


class ClassFiles(Dataset):
    """DIR/train/<class>/<n>.npy, read, resized and normalised one sample at a time."""

    def __init__(self, files: list[str], labels: np.ndarray, size: int, mean: float, std: float):
        self.files, self.labels, self.size = files, labels, size
        self.mean, self.std = mean, std

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        image = torch.from_numpy(np.load(self.files[i]).astype(np.float32))
        image = F.interpolate(image.reshape(1, 1, *image.shape[-2:]), size=(self.size, self.size),
                              mode="bilinear", antialias=True, align_corners=False)[0]
        (image,) = _random_dihedral((image - self.mean) / self.std)
        return image, int(self.labels[i])


class SRFiles(Dataset):
    """DIR/LR/<id>.npy + DIR/HR/<id>.npy, an aligned random crop of each pair."""

    def __init__(self, root: Path, ids: list[str], crop: int):
        self.root, self.ids, self.crop = root, ids, crop

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        lr = torch.from_numpy(np.load(self.root / "LR" / f"{self.ids[i]}.npy"))[None]
        hr = torch.from_numpy(np.load(self.root / "HR" / f"{self.ids[i]}.npy"))[None]
        h, w = lr.shape[-2:]
        y = int(torch.randint(0, h - self.crop + 1, (1,)))
        x = int(torch.randint(0, w - self.crop + 1, (1,)))
        lr = lr[:, y:y + self.crop, x:x + self.crop]
        hr = hr[:, 2 * y:2 * y + 2 * self.crop, 2 * x:2 * x + 2 * self.crop]
        return _random_dihedral(lr, hr)


def reference_epoch(net: tuple, loader, loss_fn, device: str = "cpu",
                    waits: list[float] | None = None, precision: str = "fp32") -> int:
    """One epoch of the usual loop; net is (model, optimizer, scheduler). The seconds it spent
    waiting for the loader's batches are appended to `waits`."""
    model, optimizer, scheduler = net
    model.train()
    seen, waited = 0, 0.0
    batches = iter(loader)
    while True:
        start = time.perf_counter()
        batch = next(batches, None)
        waited += time.perf_counter() - start
        if batch is None:
            break
        inputs, targets = batch
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        with autocast(device, precision):
            outputs = model(inputs)
        loss = loss_fn(outputs.float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss.item()  # as a training loop logging its loss would
        seen += len(inputs)
    if waits is not None:
        waits.append(waited)
    return seen


# ---- all sides, epoch after epoch --------------------------------------------------------------

def _finished(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()  # an epoch is done when the GPU is, not when it was queued


def data_share(waits: list[float], epoch_seconds: list[float], prefix: str = "reference") -> dict:
    """The median share of the reference's epochs spent waiting for its DataLoader, and the
    speed-up a data path costing nothing would give it: the most that in-memory tensors and
    batched augmentation can win, whatever else the loop does the same."""
    share = statistics.median(w / t for w, t in zip(waits, epoch_seconds, strict=True))
    ceiling = 1 / max(1 - share, 1e-9)
    return {f"{prefix}_data_share": share,
            f"{prefix.replace('reference', 'data_path')}_ceiling": ceiling}


def _compare(epochs: int, loops: dict, images: int, device: str,
             waits: dict[str, list[float]]) -> dict:
    """Alternate epochs of the loops (so drift on a shared machine hits all alike); rates from
    the median epoch. `waits` collects each reference loop's seconds waiting for data, per
    epoch."""
    times = {name: [] for name in loops}
    for _ in range(epochs):
        for name, run in loops.items():
            _finished(device)
            start = time.perf_counter()
            run()
            _finished(device)
            times[name].append(time.perf_counter() - start)
    rates = {name: images / statistics.median(t) for name, t in times.items()}
    figures = {f"{name}_img_per_s": rate for name, rate in rates.items()} | {
        f"speedup{name.removeprefix('lenstune')}": rate / rates["reference"]
        for name, rate in rates.items() if name.startswith("lenstune")}
    if "reference_bf16" in rates:
        figures["speedup_bf16_vs_reference_bf16"] = (rates["lenstune_bf16"]
                                                     / rates["reference_bf16"])
    for name, waited in waits.items():
        figures |= data_share(waited, times[name], name)
    return figures | {"epochs_timed": epochs, "images_per_epoch": images}


# lenstune's variants: (layout is channels-last, precision); the references train NCHW.
VARIANTS = {"lenstune": (True, "fp32"), "lenstune_nchw": (False, "fp32"),
            "lenstune_bf16": (True, "bf16")}


def _variants(device: str) -> list[str]:
    """bf16 only where the device has bf16 units: elsewhere it is emulated (10-40x slower)."""
    bf16 = has_bf16_units(device)
    return [name for name in VARIANTS if bf16 or VARIANTS[name][1] == "fp32"]


def _references(device: str) -> dict[str, str]:
    """The reference loops, by name: fp32, and bf16 where lenstune's loop trains in bf16."""
    return {"reference": "fp32"} | (
        {"reference_bf16": "bf16"} if "lenstune_bf16" in _variants(device) else {})


def _copies(build, steps: int, device: str) -> dict:
    """Identically initialised (model, optimizer, scheduler) for each of lenstune's variants
    and for the references (NCHW)."""
    torch.manual_seed(0)
    first = build()
    out = {}
    layouts = ({name: VARIANTS[name][0] for name in _variants(device)}
               | dict.fromkeys(_references(device), False))
    for name, channels_last in layouts.items():
        model = build()
        model.load_state_dict(first.state_dict())
        model = to_layout(model.to(device), channels_last)
        out[name] = (model, *cyclic_adam(model, 1e-4, 5.0, 0.0, steps))
    return out


def _loader(dataset: Dataset, batch_size: int, device: str, workers: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                      pin_memory=device == "cuda", persistent_workers=workers > 0)


def _add_references(loops: dict, nets: dict, loader, loss_fn, device: str) -> dict:
    """Add the reference loops to `loops`; returns the lists their data waits go to."""
    waits: dict[str, list[float]] = {}
    for name, precision in _references(device).items():
        waits[name] = []
        loops[name] = partial(reference_epoch, nets[name], loader, loss_fn, device, waits[name],
                              precision)
    return waits


def classify_throughput(folder: Path, image_size: int | None, batch_size: int, epochs: int,
                        model_name: str, device: str = "cpu", workers: int = 0) -> dict:
    split = read_class_images(folder, None, 0, image_size)
    size = split.train.x.shape[-1]
    x, y, _, _ = classify._tensors(split, device)
    nets = _copies(lambda: build_classifier(model_name, len(split.train.classes)),
                   math.ceil(len(x) / batch_size), device)
    dataset = ClassFiles(list(split.train.files), split.train.y, size, split.mean, split.std)
    loader = _loader(dataset, batch_size, device, workers)

    def ours(name: str):
        channels_last, precision = VARIANTS[name]
        cfg = classify.ClassifyTrialConfig(family="resnet", model=model_name, device=device,
                                           batch_size=batch_size, channels_last=channels_last,
                                           precision=precision)
        gen = torch.Generator().manual_seed(0)
        model, optimizer, scheduler = nets[name]
        return lambda: classify.train_one_epoch(model, x, y, cfg, optimizer, scheduler, gen,
                                                DivergenceGuard())

    loops = {name: ours(name) for name in _variants(device)}
    waits = _add_references(loops, nets, loader, F.cross_entropy, device)
    result = _compare(epochs, loops, len(x), device, waits)
    return {"model": model_name, "image_size": size, "batch_size": batch_size} | result


def superres_throughput(folder: Path, batch_size: int, crop: int, epochs: int,
                        device: str = "cpu", workers: int = 0) -> dict:
    split = split_sr_pairs(read_sr_pairs(folder), 0.1, 0)
    spec = superres.SRTrialConfig(model="srresnet", blocks=1).net_spec()
    lr, hr, _, _ = superres._tensors(split, device)
    crop = crop or lr.shape[-1]  # 0: whole images, as the trial config's crop 0
    nets = _copies(lambda: superres.build_net(spec), math.ceil(len(lr) / batch_size), device)
    loader = _loader(SRFiles(folder, list(split.train.ids), crop), batch_size, device, workers)

    def ours(name: str):
        channels_last, precision = VARIANTS[name]
        cfg = superres.SRTrialConfig(model="srresnet", blocks=1, batch_size=batch_size,
                                     crop=crop, channels_last=channels_last, device=device,
                                     precision=precision)
        gen, guard = torch.Generator().manual_seed(0), DivergenceGuard(cfg.collapse_steps)
        model, optimizer, scheduler = nets[name]
        return lambda: superres.train_one_epoch(model, lr, hr, cfg, optimizer, scheduler, gen,
                                                guard)

    loops = {name: ours(name) for name in _variants(device)}
    waits = _add_references(loops, nets, loader, F.mse_loss, device)
    result = _compare(epochs, loops, len(lr), device, waits)
    return {"model": "srresnet-1", "crop": crop, "batch_size": batch_size} | result


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("throughput", __doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads of both loops (a laptop-preset trial uses 1)")
    p.add_argument("--epochs", type=int, default=3, help="epochs timed per loop and task")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: train on the GPU at the reference sizes (classify 150x150, "
                        "superres whole 75x75 images)")
    p.add_argument("--workers", type=int, default=None,
                   help="the reference DataLoader's worker processes (default: 0 on the CPU, "
                        "where a worker would take a trial's core; 4 with --device cuda)")
    p.add_argument("--sim-count", type=int, default=None,
                   help="simulated SR pairs, and images per class (default: the laptop "
                        "preset's; a GPU goes through those in a few steps)")
    args = p.parse_args(argv)
    if args.device == "cuda":
        require_cuda("--device cuda")
    workers = args.workers if args.workers is not None else 4 * (args.device == "cuda")
    if workers < 0:
        raise UserError(f"--workers must be >= 0, got {workers}")
    if args.sim_count is not None and args.sim_count < 10:
        raise UserError(f"--sim-count must be at least 10, got {args.sim_count}")
    torch.set_num_threads(args.threads)
    laptop = preset_defaults("laptop", "classify")
    # On a GPU, the sizes a cluster-preset trial trains at: whole images, classify as stored.
    class_size, sr_crop = (None, 0) if args.device == "cuda" else (laptop["image_size"], 24)
    with tempfile.TemporaryDirectory() as tmp:
        if args.quick:
            recipe = LensingRecipe().at_size(32)
            sr_folder = write_simulated_sr_pairs(Path(tmp) / "sr", 24, 0, recipe, workers=1,
                                                 progress=False)
            class_folder = write_simulated_classes(Path(tmp) / "cls", "classify", 8, 0,
                                                   recipe.at_size(32), workers=1, progress=False)
            sr = superres_throughput(sr_folder, batch_size=8, crop=8, epochs=1,
                                     device=args.device, workers=workers)
            cls = classify_throughput(class_folder, 24, batch_size=8, epochs=1,
                                      model_name="resnet18", device=args.device, workers=workers)
        else:
            sr_count = args.sim_count or preset_defaults("laptop", "superres")["sim_count"]
            class_count = args.sim_count or laptop["sim_count"]
            sr_folder = cached_default("superres", sr_count, default_cache_dir())
            class_folder = cached_default("classify", class_count, default_cache_dir())
            sr = superres_throughput(sr_folder, batch_size=16, crop=sr_crop, epochs=args.epochs,
                                     device=args.device, workers=workers)
            cls = classify_throughput(class_folder, class_size, batch_size=64,
                                      epochs=args.epochs, model_name="resnet18",
                                      device=args.device, workers=workers)
    figures = {"device": args.device, "threads_per_trial": args.threads,
               "dataloader_workers": workers, "bf16_units": has_bf16_units(args.device)}
    figures |= {f"superres_{k}": v for k, v in sr.items()}
    figures |= {f"classify_{k}": v for k, v in cls.items()}
    worst = min(sr["speedup"], cls["speedup"])
    finish("throughput", args, figures,
           ("lenstune / reference img/s (the lower of superres and classify)", worst,
            f">= {TARGET}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
