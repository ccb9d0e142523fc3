"""A task: its data, trial config and loop, space, metric, baseline, leaderboard, and what
evaluate and predict do with its models. `search/` asks these; it never branches on a name."""

from __future__ import annotations

import importlib
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from trainables.errors import UserError

if TYPE_CHECKING:
    import torch
    from torch import nn


class Task:
    """One task. A subclass sets the class attributes and the data and model-use methods; the
    rest follows from its loop module (trainables) and space module (spaces)."""

    name: str
    loop_module: str
    """The training loop's module: its config class (`config_name`), fit(), build_net()."""
    config_name: str
    space: ModuleType
    """Its spaces module: space(), WARM_START, NETS (family -> nets), net_of(), and FAMILY (the
    parameter that picks the family) where it has more than one."""
    metric: str
    """The validation metric trials are ranked by (a key the loop reports)."""
    mode: str = "max"
    leaderboard_params: tuple[str, ...] = ()
    """Config keys shown on the leaderboard."""
    leaderboard_metrics: tuple[str, ...] = ()
    counts: str = "images per class"
    """What --sim-count counts for this task."""
    presets: dict[str, dict] = {}
    """Per search preset (laptop, cluster): this task's own defaults, over the preset's
    (sim_count, image_size: None = as stored, num_samples, models...)."""

    # ---- the loop (imported when first used: torch and the nets' libraries take seconds) ----

    @property
    def loop(self) -> ModuleType:
        return importlib.import_module(self.loop_module)

    @property
    def trial_config(self) -> type:
        """A frozen TrialConfig subclass with from_dict()."""
        return getattr(self.loop, self.config_name)

    @property
    def fit(self):
        """fit(cfg, data, report, state=None, logdir=None) -> last metrics."""
        return self.loop.fit

    def build_net(self, spec: dict) -> nn.Module:
        """The net of a checkpoint's model.json."""
        return self.loop.build_net(spec)

    # ---- what a search tries ----

    def known_models(self) -> list[str]:
        """The family and net names --models takes."""
        nets = self.space.NETS
        return list(dict.fromkeys([*nets, *(n for names in nets.values() for n in names)]))

    def resolve_models(self, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The nets `names` select (a family name selects all of its nets); None selects all."""
        if names is None:
            return None
        unknown = [n for n in names if n not in self.known_models()]
        if unknown or not names:
            raise UserError(f"--models {','.join(names)}: unknown "
                            f"{', '.join(unknown) or 'empty'}; known for {self.name}: "
                            f"{', '.join(self.known_models())}")
        nets = self.space.NETS
        return tuple(dict.fromkeys(n for name in names for n in nets.get(name, (name,))))

    def warm_start(self, models: tuple[str, ...] | None = None) -> tuple[list[dict], list[str]]:
        """The reference configurations whose nets `models` (resolved) selects, and the nets
        of those it leaves out."""
        points = self.space.WARM_START
        kept = [p for p in points if models is None or self.space.net_of(p) in models]
        return kept, [self.space.net_of(p) for p in points if p not in kept]

    def first_points(self, models: tuple[str, ...] | None = None) -> list[dict]:
        """The search's first trials: the reference configurations `models` keeps, then one
        trial of each family (space.FAMILY: its value, the rest sampled) none of them is of.
        With few trials TPE is still sampling at random, and a family the draws miss is never
        tried: bench.versus_reference's 6-trial classify search drew EfficientNet-B2, ResNet-18
        and ResNet-34 beside its three references, no equivariant net, although those beat every
        other family by 0.06 AUC at equal images (docs/benchmarks.md section 11)."""
        kept = self.warm_start(models)[0]
        family = getattr(self.space, "FAMILY", None)  # a space of one family may have none
        covered = {self.space.net_of(p) for p in kept}
        return kept + [{family: name} for name, nets in self.space.NETS.items()
                       if family and covered.isdisjoint(nets)
                       and any(models is None or n in models for n in nets)]

    def space_options(self, cfg) -> dict:
        """What the space needs to know of this search (a SearchConfig)."""
        return {"lr_range": cfg.lr_range, "max_lr_ratio": cfg.max_lr_ratio, "models": cfg.nets}

    def search_space(self, cfg):
        """The define-by-run space of this search: space(trial) -> constants."""
        return partial(self.space.space, **self.space_options(cfg))

    def refit_constants(self) -> dict:
        """What a refit trial's config adds to the searched one (e.g. extra validation)."""
        return {}

    def trial_constants(self, cfg) -> dict:
        """Fields of every trial's config that the command line sets, not the space."""
        return {"task": self.name, "precision": cfg.precision}

    # ---- data ----

    def read(self, folder: Path, val_fraction: float | None, seed: int,
             image_size: int | None):
        """The data set in `folder`, checked and split into train and val (a split object
        the loop's fit takes)."""
        raise NotImplementedError

    def simulate(self, folder: Path, count: int, seed: int, recipe, workers: int | None = None,
                 progress: bool = True) -> Path:
        """Write a simulated data set of `count` (see `counts`) into the new `folder`."""
        raise UserError(f"task {self.name} has no simulator: give it --data")

    def baseline(self, split) -> tuple[str, dict] | None:
        """The name and validation metrics of what every trial is read against, if any."""
        return None

    def validation_size(self, split) -> tuple[int, str]:
        """The smallest part of the validation split (images of its rarest class, or all of
        it), and how to say so."""
        raise NotImplementedError

    # ---- a trained model's use ----

    def outputs(self, out: torch.Tensor) -> torch.Tensor:
        """The net's raw output as search.predict and search.evaluate give it."""
        return out

    def evaluate(self, net, spec: dict, data: Path, split: tuple | None, out: Path,
                 device: str, tta: bool = False) -> dict:
        """Metrics of `net` on the data set in `data` (only its validation split of
        (val_fraction, seed) when `split` is given); figures written into `out`. `tta`
        averages the net's outputs over each image's 8 quarter turns and flips."""
        raise UserError(f"task {self.name} has no evaluation")

    def predict(self, net, spec: dict, files: list[Path], images: list, out: Path, device: str,
                batch_size: int, tta: bool = False) -> Path:
        """Predictions for `images` (read from `files`) written into `out`; where they went."""
        raise UserError(f"task {self.name} has no prediction")
