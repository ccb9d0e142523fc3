"""The epoch driver every task's loop runs on: seeding, resume, Adam with the cyclic LR, the
divergence guard, logging and checkpoint cadence, written once.

A task's `fit` hands `fit_epochs` a `start` function that builds its net and returns a `Trial`:
how one epoch trains and how the net is validated. Never imports Ray.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from trainables.cyclic_adam import cyclic_adam
from trainables.models.layout import to_layout
from trainables.trial_config import TrialConfig
from trainables.trial_log import TrialLog

Report = Callable[[dict, dict | None], None]
"""report(metrics, state): called after each epoch with the metrics and a checkpointable state
(None for the final report of a diverged trial: there is nothing worth keeping)."""


class Diverged(Exception):
    """A trial's losses became NaN or infinite, or its discriminator collapsed."""


class DivergenceGuard:
    """Watches a trial's losses; raises Diverged on a non-finite loss, or when a
    discriminator's loss (`d_loss`) stays below `collapse_below` for `collapse_steps` checks in
    a row."""

    def __init__(self, collapse_steps: int = 100, collapse_below: float = 1e-3) -> None:
        self.collapse_steps = collapse_steps
        self.collapse_below = collapse_below
        self._low_steps = 0

    def check(self, **losses: float) -> None:
        for name, value in losses.items():
            if not math.isfinite(value):
                raise Diverged(f"{name} became {value}")
        d_loss = losses.get("d_loss")
        if d_loss is not None:
            self._low_steps = self._low_steps + 1 if d_loss < self.collapse_below else 0
            if self._low_steps >= self.collapse_steps:
                raise Diverged(f"discriminator collapsed: d_loss < {self.collapse_below} for "
                               f"{self.collapse_steps} steps")


@dataclass
class Validation:
    """One epoch's validation: its metrics, the documents its checkpoint carries (name ->
    JSON-able, e.g. an evaluation summary), and how to draw its samples into the trial's log."""

    metrics: dict[str, float]
    documents: dict = field(default_factory=dict)
    draw: Callable[[TrialLog, int], None] | None = None


@dataclass
class Trial:
    """What a task's loop gives the driver once its net is built."""

    model: nn.Module
    train_size: int
    """Training items per epoch (the steps per epoch follow from the batch size)."""
    train_one_epoch: Callable[..., dict[str, float]]
    """(epoch, optimizer, scheduler, gen, guard) -> train metrics; raises Diverged via guard."""
    validate: Callable[[nn.Module], Validation]
    net_spec: dict
    """What builds the net again (and prepares its input) without the search."""
    guard: DivergenceGuard = field(default_factory=DivergenceGuard)
    extra_state: Callable[[], dict] = dict
    """More to checkpoint beside the net (e.g. a discriminator), by name."""
    load_extra_state: Callable[[dict], None] = lambda state: None


def epoch_state(model: nn.Module, optimizer, scheduler, gen: torch.Generator, epoch: int,
                net_spec: dict, extra: dict | None = None, documents: dict | None = None) -> dict:
    """Everything needed to continue after `epoch` (see trainables.checkpoint for the files)."""
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "generator": gen.get_state(), "epoch": epoch,
            "net_spec": net_spec, "extra": extra or {}, "documents": documents or {}}


def resume(state: dict | None, model: nn.Module, optimizer, scheduler,
           gen: torch.Generator) -> int:
    """Load a reported state into the training objects; returns the first epoch to run."""
    if state is None:
        return 1
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    return state["epoch"] + 1


def fit_epochs(cfg: TrialConfig, start: Callable[[bool], Trial], report: Report,
               metric_tags: list[str], state: dict | None = None,
               logdir: str | Path | None = None,
               hparams: dict | None = None) -> dict[str, float]:
    """Train for cfg.max_epochs (from after `state`'s epoch when resuming), validating,
    logging and reporting after each epoch; returns the last metrics.

    `start(resuming)` builds the task's net and data after the seed is set. A diverged epoch
    ends the trial: its last good metrics are reported once more, flagged, with no state.
    `metric_tags` are the TensorBoard tags of the reported metrics ("val/psnr" is val_psnr);
    `hparams` what TensorBoard's HParams tab shows of the trial (default: its whole config).
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    trial = start(state is not None)
    model = to_layout(trial.model.to(cfg.device), cfg.channels_last)
    optimizer, scheduler = cyclic_adam(model, cfg.base_lr, cfg.lr_ratio, cfg.weight_decay,
                                       math.ceil(trial.train_size / cfg.batch_size))
    gen = torch.Generator().manual_seed(cfg.seed)
    first_epoch = resume(state, model, optimizer, scheduler, gen)
    if state is not None:
        trial.load_extra_state(state["extra"])
    log = (TrialLog(logdir, asdict(cfg) if hparams is None else hparams, metric_tags)
           if logdir is not None else None)
    metrics: dict[str, float] = {}
    try:
        for epoch in range(first_epoch, cfg.max_epochs + 1):
            try:
                train = trial.train_one_epoch(epoch, optimizer, scheduler, gen, trial.guard)
                validation = trial.validate(model)
                trial.guard.check(val_loss=validation.metrics["val_loss"])
            except Diverged as why:
                last = metrics or {tag.replace("/", "_"): math.nan for tag in metric_tags
                                   if tag.startswith("val/")}
                report(last | {"epoch": epoch, "diverged": 1, "diverged_reason": str(why)}, None)
                return last
            metrics = train | validation.metrics | {"epoch": epoch, "diverged": 0}
            if log is not None:
                log.scalars(epoch, {f"train/{k[6:]}": v for k, v in train.items()
                                    if k.startswith("train_")} | {"train/lr": train["lr"]}
                            | {tag: metrics[tag.replace("/", "_")] for tag in metric_tags})
                if validation.draw is not None and (
                        epoch == 1 or epoch % cfg.image_every == 0 or epoch == cfg.max_epochs):
                    validation.draw(log, epoch)
            report(metrics, epoch_state(model, optimizer, scheduler, gen, epoch, trial.net_spec,
                                        trial.extra_state(), validation.documents))
    finally:
        if log is not None:
            log.close()
    return metrics
