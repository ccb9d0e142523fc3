"""The one place in `trainables` that imports Ray Tune: config dict in, tune.report out.

A trial's config is the space's suggestion; `settings` are the run-wide constants (the task's
name, trial config class and fit; max_epochs, seed, cpus and gpus per trial, and
`trial_constants` for the task's config) that the driver passes with tune.with_parameters,
together with the data set, which Ray then holds once per node in its object store.
"""

from __future__ import annotations

import logging
import tempfile

import ray
import torch
from ray import tune

from trainables.checkpoint import load_training_state, save_checkpoint
from trainables.precision import resolve_precision


def _device(gpus_per_trial: float) -> str:
    """CUDA when Ray gave this trial a GPU and it is usable; the CPU otherwise."""
    if gpus_per_trial > 0 and ray.get_gpu_ids() and torch.cuda.is_available():
        if gpus_per_trial < 1:
            # Fractional GPUs are only a scheduling count: cap this trial's share of the memory.
            torch.cuda.set_per_process_memory_fraction(gpus_per_trial)
        return "cuda"
    return "cpu"


def run_trial(config: dict, data, settings: dict) -> None:
    """Train one trial of settings['fit'] on data, reporting and checkpointing every epoch."""
    device = _device(settings.get("gpus_per_trial", 0))
    constants = dict(settings.get("trial_constants", {}))
    if "precision" in constants:
        constants["precision"] = resolve_precision(constants["precision"], device)
    cfg = settings["trial_config"].from_dict({
        # A refit trial's config names its own length and seed; a search trial's does not.
        "max_epochs": settings["max_epochs"], "seed": settings["seed"], **config,
        "threads": max(1, int(settings["cpus_per_trial"])), "device": device, **constants,
    })
    node_id = ray.get_runtime_context().get_node_id()
    for name in settings.get("quiet_loggers", ()):
        logging.getLogger(name).setLevel(logging.WARNING)

    state = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            state = load_training_state(folder)

    def report(metrics: dict, epoch_state: dict | None) -> None:
        metrics = metrics | {"node_id": node_id, "device": device, "precision": cfg.precision}
        if epoch_state is None:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory() as folder:
            save_checkpoint(folder, epoch_state)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    # TensorBoard's HParams tab: what the search chose for this trial (its branch of the space).
    hparams = {k: v for k, v in config.items() if k not in settings.get("not_hparams", ())}
    settings["fit"](cfg, data, report, state=state, logdir=tune.get_context().get_trial_dir(),
                    hparams=hparams)
