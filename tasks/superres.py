"""superres: 75x75 -> 150x150 lensing images; val PSNR, beside the bicubic baseline."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from spaces import superres as space
from tasks.task import Task


class Superres(Task):
    name = "superres"
    loop_module = "trainables.superres"
    config_name = "SRTrialConfig"
    space = space
    metric = "val_psnr"
    leaderboard_params = ("model", "blocks", "features", "upsample", "loss", "batch_size",
                          "adv_weight")
    leaderboard_metrics = ("val_mse", "val_psnr", "val_ssim")
    counts = "pairs"
    presets = {"laptop": {"sim_count": 600, "image_size": None, "refit_epochs": 16},
               "cluster": {"sim_count": 10000, "image_size": None}}

    def read(self, folder, val_fraction, seed, image_size):
        from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs

        return split_sr_pairs(read_sr_pairs(folder), val_fraction, seed)

    def simulate(self, folder, count, seed, recipe, workers=None, progress=True):
        from trainables.data.sr_pairs import write_simulated_sr_pairs

        return write_simulated_sr_pairs(folder, count, seed, recipe, workers=workers,
                                        progress=progress)

    def baseline(self, split):
        from trainables.superres import bicubic_baseline

        return "bicubic", bicubic_baseline(split.val.lr, split.val.hr)

    def validation_size(self, split):
        return len(split.val), f"{len(split.val)} pairs"

    def outputs(self, out):
        return out.clamp(0, 1)

    def evaluate(self, net, spec, data, split, out, device, tta=False):
        import torch
        from torchvision.utils import save_image

        from trainables.data.sr_pairs import read_sr_pairs, split_sr_pairs
        from trainables.inference import run_batched
        from trainables.sr_metrics import sr_scores
        from trainables.superres import bicubic_baseline, sample_grid

        pairs = read_sr_pairs(data)
        if split is not None:
            pairs = split_sr_pairs(pairs, *split).val
        lr, hr = torch.as_tensor(pairs.lr), torch.as_tensor(pairs.hr)
        sr = torch.as_tensor(run_batched(net, lr, self.outputs, device=device, progress=True,
                                         tta=tta, images=True))
        scores = {k: v / len(lr) for k, v in sr_scores(sr, hr).items()}
        metrics = {"count": len(lr), "tta": tta, **{f"model_{k}": v for k, v in scores.items()},
                   **{k.replace("val_", "bicubic_"): v
                      for k, v in bicubic_baseline(pairs.lr, pairs.hr).items()}}
        save_image(sample_grid(net.cpu(), lr, hr), out / "samples.png")
        return metrics

    def predict(self, net, spec, files, images, out, device, batch_size, tta=False):
        """One <name>.npy (float32, [0, 1]) and a <name>.png preview per input image."""
        import torch
        from PIL import Image

        from trainables.inference import run_batched

        by_shape = defaultdict(list)  # images of one size go through the net together
        for file, image in zip(files, images):
            by_shape[image.shape].append((file, image))
        names = {}
        for file in files:
            stem, n = file.stem, 1
            while stem in names.values():
                n += 1
                stem = f"{file.stem}-{n}"
            names[file] = stem
        for group in by_shape.values():
            x = torch.as_tensor(np.stack([image for _, image in group])[:, None])
            sr = run_batched(net, x, self.outputs, batch_size, device,
                             progress=len(files) > 256, tta=tta, images=True)
            for (file, _), image in zip(group, sr[:, 0]):
                np.save(out / f"{names[file]}.npy", image.astype(np.float32))
                Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
                    out / f"{names[file]}.png")
        return Path(out)


SUPERRES = Superres()
