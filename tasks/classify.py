"""classify (no / sphere / vort) and anomaly (no_sub / sub): lensing images in class folders,
one loop for both; val macro ROC AUC (anomaly: the AUC of `sub`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from spaces import anomaly as anomaly_space
from spaces import classify as classify_space
from tasks.task import Task
from trainables.errors import UserError

LAPTOP_ANOMALY = ("resnet18", "mobilevit_ref", "mobilevit_xxs", "mobilenetv3_small_100",
                  "mobilenetv3_large_100")
"""The nets a laptop's anomaly search tries: those that train fastest on 2 cores (at 64x64 on one
core ResNet-18 72 images/s, MobileNetV3 150-290, the small MobileViTs 240; ResNet-34 38,
EfficientNet-B2 48). EfficientNet-B0 (83) reached only 0.61-0.76 AUC in 8 epochs where ResNet-18
reached 0.95 (docs/benchmarks.md, section 9)."""

LAPTOP_CLASSIFY = ("resnet18", "c8_resnet18", "d8_resnet18", "mobilevit_ref")
"""The nets a laptop's classify search tries: at equal images the equivariant ResNet-18s reached
0.964 macro AUC where ResNet-18 reached 0.906 and MobileNetV3 0.719 (docs/benchmarks.md, section
11), so they are worth their 1.45x time per image; the reference MobileViT is cheap."""


class ClassImagesTask(Task):
    """Images in class folders, classified by a timm net trained with cross-entropy."""

    loop_module = "trainables.classify"
    config_name = "ClassifyTrialConfig"
    metric = "val_auc"
    leaderboard_params = ("model", "pretrained", "batch_size", "dropout", "weight_decay",
                          "augment")
    leaderboard_metrics = ("val_acc", "val_auc", "val_loss", "val_auc_tta")
    """val_auc_tta: a refit trial's AUC with test-time augmentation (search trials skip it)."""

    def refit_constants(self) -> dict:
        return {"tta": True}  # measured beside the plain metric: does TTA help these winners?

    def space_options(self, cfg) -> dict:
        # `pretrained` is only searched for nets whose ImageNet weights are on this machine.
        from trainables.models.classifiers import pretrained_weights  # timm: seconds to import
        from trainables.models.families import CLASSIFIERS

        return super().space_options(cfg) | {"pretrained_models": tuple(
            name for name in CLASSIFIERS if pretrained_weights(name, cfg.weights_dir))}

    def trial_constants(self, cfg) -> dict:
        return super().trial_constants(cfg) | {
            "weights_dir": str(cfg.weights_dir) if cfg.weights_dir else None}

    def read(self, folder, val_fraction, seed, image_size):
        from trainables.data.class_images import read_class_images

        return read_class_images(folder, val_fraction, seed, image_size)

    def simulate(self, folder, count, seed, recipe, workers=None, progress=True):
        from trainables.data.class_images import write_simulated_classes

        return write_simulated_classes(folder, self.name, count, seed, recipe,
                                       workers=workers, progress=progress)

    def validation_size(self, split):
        counts = np.bincount(split.val.y, minlength=len(split.val.classes))
        label = int(counts.argmin())
        return int(counts[label]), (f"{int(counts[label])} images of class "
                                    f"'{split.val.classes[label]}' ({len(split.val)} in all)")

    def outputs(self, out):
        import torch.nn.functional as F

        return F.softmax(out, 1)

    def _inputs(self, spec: dict, x: np.ndarray, name: str):
        from trainables.inference import prepare_classify_inputs

        return prepare_classify_inputs(spec, x, name)

    def evaluate(self, net, spec, data, split, out, device, tta=False):
        from trainables.class_metrics import evaluation_summary, save_evaluation_figures
        from trainables.data.class_images import read_all_class_images, read_class_images
        from trainables.inference import run_batched

        images = (read_all_class_images(data) if split is None
                  else read_class_images(data, *split).val)
        if list(images.classes) != spec["classes"]:
            raise UserError(f"{data}: classes {list(images.classes)} differ from the model's "
                            f"{spec['classes']}")
        probs = run_batched(net, self._inputs(spec, images.x, str(data)), self.outputs,
                            device=device, progress=True, tta=tta)
        summary = evaluation_summary(images.y, probs, spec["classes"]) | {"tta": tta}
        (out / "evaluation.json").write_text(json.dumps(summary))
        save_evaluation_figures(summary, out)
        return {"count": len(images), "tta": tta, "accuracy": summary["accuracy"],
                "auc": summary["auc"],
                **{f"auc_{name}": curve["auc"] for name, curve in summary["roc"].items()}}

    def predict(self, net, spec, files, images, out, device, batch_size, tta=False):
        """predictions.csv: file, predicted class, one probability per class."""
        import torch

        from trainables.inference import run_batched

        x = torch.cat([self._inputs(spec, image[None, None], str(f))
                       for f, image in zip(files, images)])
        probs = run_batched(net, x, self.outputs, batch_size, device,
                            progress=len(files) > 256, tta=tta)
        path = Path(out) / "predictions.csv"
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "predicted", *(f"p_{c}" for c in spec["classes"])])
            for file, p in zip(files, probs):
                writer.writerow([str(file), spec["classes"][int(p.argmax())],
                                 *(f"{v:.6f}" for v in p)])
        return path


def _presets(laptop_models: tuple[str, ...], cluster_count: int) -> dict:
    """Laptop: 1000 simulated images per class at 64x64 (section 9 of docs/benchmarks.md);
    cluster: the reference data's size, stored images unresized."""
    return {"laptop": {"sim_count": 1000, "image_size": 64, "num_samples": 6,
                       "models": laptop_models},
            "cluster": {"sim_count": cluster_count, "image_size": None}}


class Classify(ClassImagesTask):
    name = "classify"
    space = classify_space
    presets = _presets(LAPTOP_CLASSIFY, cluster_count=10000)


class Anomaly(ClassImagesTask):
    name = "anomaly"
    space = anomaly_space
    presets = _presets(LAPTOP_ANOMALY, cluster_count=5000)

    def read(self, folder, val_fraction, seed, image_size):
        split = super().read(folder, val_fraction, seed, image_size)
        if len(split.train.classes) != 2:
            raise UserError(f"{folder}: anomaly detection needs exactly two class folders, "
                            f"found {list(split.train.classes)}")
        return split


CLASSIFY = Classify()
ANOMALY = Anomaly()
