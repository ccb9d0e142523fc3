"""Super-resolution pairs on disk (`DIR/LR/<id>.npy`, `DIR/HR/<id>.npy`) and in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainables import __version__
from trainables.data import data_folder, split_fraction
from trainables.data.dataset_folder import METADATA_FILE, parallel_map, staged_folder
from trainables.data.image_files import load_image
from trainables.data.lensing import LensingRecipe, simulate_sr_pair
from trainables.errors import UserError


@dataclass(frozen=True)
class SRPairs:
    """Compact in-memory pairs: lr (N,1,h,w) and hr (N,1,2h,2w) float32 in [0, 1]."""

    lr: np.ndarray
    hr: np.ndarray
    ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: np.ndarray) -> SRPairs:
        return SRPairs(self.lr[index], self.hr[index], tuple(self.ids[i] for i in index))


@dataclass(frozen=True)
class SRSplit:
    train: SRPairs
    val: SRPairs


def _simulate_one(args: tuple[int, int, LensingRecipe]) -> tuple[int, np.ndarray, np.ndarray]:
    index, seed, recipe = args
    lr, hr = simulate_sr_pair(index, seed, recipe)
    return index, lr, hr


def simulate_sr_pairs(
    n: int, seed: int, recipe: LensingRecipe = LensingRecipe(), workers: int | None = None,
    progress: bool = True,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (index, lr, hr) for n pairs, simulated on `workers` processes (default: all cores)."""
    jobs = [(i, seed, recipe) for i in range(n)]
    yield from parallel_map(_simulate_one, jobs, workers, "simulating SR pairs", "pair", progress)


def write_simulated_sr_pairs(
    out: Path, n: int, seed: int, recipe: LensingRecipe = LensingRecipe(),
    workers: int | None = None, progress: bool = True,
) -> Path:
    """Simulate n pairs into the new folder `out`, which appears only when complete."""
    with staged_folder(out) as staging:
        (staging / "LR").mkdir()
        (staging / "HR").mkdir()
        width = max(6, len(str(n - 1)))
        for index, lr, hr in simulate_sr_pairs(n, seed, recipe, workers, progress):
            np.save(staging / "LR" / f"{index:0{width}d}.npy", lr)
            np.save(staging / "HR" / f"{index:0{width}d}.npy", hr)
        metadata = {"task": "superres", "count": n, "seed": seed, "recipe": recipe.to_dict(),
                    "lenstune_version": __version__}
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return Path(out)


def read_sr_pairs(root: Path) -> SRPairs:
    """Read and check `root/LR/<id>.npy` + `root/HR/<id>.npy`; UserError on the first fault."""
    root = data_folder(root)
    folders = {}
    for name in ("LR", "HR"):
        folder = root / name
        if not folder.is_dir():
            raise UserError(f"{folder}: missing; a superres data set needs LR/ and HR/ folders")
        folders[name] = {p.stem: p for p in folder.glob("*.npy")}
    lr_files, hr_files = folders["LR"], folders["HR"]
    if not lr_files:
        raise UserError(f"{root / 'LR'}: no .npy files")
    for stem in sorted(lr_files.keys() ^ hr_files.keys()):
        present, missing = ("LR", "HR") if stem in lr_files else ("HR", "LR")
        path = root / present / f"{stem}.npy"
        raise UserError(f"{path}: has no matching {root / missing / (stem + '.npy')}")
    ids = sorted(lr_files)
    lr_list, hr_list = [], []
    for stem in ids:
        lr, hr = load_image(lr_files[stem]), load_image(hr_files[stem])
        if lr_list and lr.shape != lr_list[0].shape:
            raise UserError(f"{lr_files[stem]}: shape {lr.shape} differs from {lr_list[0].shape}")
        if hr.shape != (2 * lr.shape[0], 2 * lr.shape[1]):
            raise UserError(
                f"{hr_files[stem]}: shape {hr.shape} is not exactly 2x its LR shape {lr.shape}"
            )
        lr_list.append(lr)
        hr_list.append(hr)
    return SRPairs(np.stack(lr_list)[:, None], np.stack(hr_list)[:, None], tuple(ids))


def split_sr_pairs(pairs: SRPairs, val_fraction: float | None, seed: int) -> SRSplit:
    """A seeded random split (None: the default fraction); at least one pair on each side."""
    n = len(pairs)
    if n < 2:
        raise UserError(f"a superres data set needs at least 2 pairs, found {n}")
    n_val = min(n - 1, max(1, round(n * split_fraction(val_fraction))))
    order = np.random.default_rng(seed).permutation(n)
    return SRSplit(train=pairs.subset(np.sort(order[n_val:])),
                   val=pairs.subset(np.sort(order[:n_val])))
