"""Building the Ray Tune run: OptunaSearch (TPE) + ASHA over the task's trainable."""

from __future__ import annotations

import os
from contextlib import contextmanager

from ray import tune
from ray.tune.schedulers import TrialScheduler

from cluster import runtime
from search.checkpoint_repair import repair_saved_state
from search.config import SearchConfig
from search.console import SearchConsole
from search.extend import ExtendableSearch
from search.interrupt import InterruptBetweenSaves
from search.optuna_searcher import PruningAwareOptunaSearch, tpe_sampler
from search.promotion_asha import PauseAwareLimiter, PromotionASHA
from search.result_files import CsvResults, JsonResults
from search.resumable_asha import ResumableASHA
from search.tune_internals import QUIET_TRIAL_LOGGERS
from tasks import get_task
from trainables.tune_adapter import run_trial

# Each trial writes its own TensorBoard log (HParams from the first epoch); Ray's automatic
# TBXLoggerCallback would add a second, hyperparameters-at-the-end copy beside it.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
# Keeping CHECKPOINTS_KEPT per trial makes Tune snapshot the experiment state often, and warn
# each time with short GPU epochs, though a snapshot costs ~20 ms; its warning for a slow one
# (30 s) stays on.
os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")

NEW_OUTPUT = "RAY_AIR_NEW_OUTPUT"
CHECKPOINTS_KEPT = 2
MAX_FAILURES = 3
"""A crashed trial is retried this many times, from its last checkpoint (a dead node can cost
a trial two quick failures before Ray has marked the node dead)."""


def trial_dirname(trial) -> str:
    """Short trial folder names (Ray's default spells out every hyperparameter)."""
    return f"trial_{trial.trial_id}"


def build_trainable(cfg: SearchConfig, data, trial_fn=run_trial,
                    max_epochs: int | None = None) -> tune.trainable:
    """trial_fn (run_trial) with the data in Ray's object store, put there once by the driver
    and read by every trial on every node, and with the trial's resources; its trials train
    `max_epochs` (default: the search's) unless stopped. The task's config class and fit travel
    with it (by reference: a trial worker imports that loop, and no other)."""
    from search.refit import RUN_KEYS  # the refit's module builds on this one

    task = get_task(cfg.task)
    settings = {"task": cfg.task, "trial_config": task.trial_config, "fit": task.fit,
                "max_epochs": max_epochs or cfg.max_epochs, "seed": cfg.seed,
                "cpus_per_trial": cfg.cpus_per_trial, "gpus_per_trial": cfg.gpus_per_trial,
                "trial_constants": task.trial_constants(cfg),
                "quiet_loggers": () if cfg.verbose else QUIET_TRIAL_LOGGERS,
                "not_hparams": RUN_KEYS}
    trainable = tune.with_parameters(trial_fn, data=data, settings=settings)
    return tune.with_resources(trainable, {"cpu": cfg.cpus_per_trial, "gpu": cfg.gpus_per_trial})


def build_searcher(cfg: SearchConfig, study_storage=None) -> PruningAwareOptunaSearch:
    """TPE over the task's space; the study lives in `study_storage` (an RDBStorage) if given."""
    task = get_task(cfg.task)
    return PruningAwareOptunaSearch(
        space=task.search_space(cfg),
        # With a define-by-run space, metric and mode must be given to OptunaSearch itself.
        metric=task.metric,
        mode=task.mode,
        points_to_evaluate=task.first_points(cfg.nets)[: cfg.num_samples],
        sampler=tpe_sampler(cfg.seed),
        storage=study_storage,
        study_name=cfg.name,
        max_t=cfg.max_epochs,
    )


def asha_scheduler(task: str, max_epochs: int, grace_epochs: int, reduction_factor: float,
                   mode: str = "stop") -> TrialScheduler:
    """ASHA on the task's metric, one rung step per epoch."""
    metric, order = get_task(task).metric, get_task(task).mode
    if mode == "pause":
        return PromotionASHA(metric=metric, mode=order, max_t=max_epochs,
                             grace_period=grace_epochs, reduction_factor=reduction_factor)
    return ResumableASHA(
        time_attr="training_iteration", metric=metric, mode=order,
        max_t=max_epochs, grace_period=grace_epochs, reduction_factor=reduction_factor,
    )


def run_config(cfg: SearchConfig, phase: str, trials: int, max_epochs: int) -> tune.RunConfig:
    """Where a run's trials write (the search in STORAGE/NAME, its refit in NAME/refit), what
    they keep, how they are retried, what the console shows and MLflow logs of them."""
    the_task = get_task(cfg.task)
    console = SearchConsole(phase, the_task.metric, the_task.mode, trials,
                            the_task.space.net_of, max_epochs)
    callbacks = [JsonResults(), CsvResults(), InterruptBetweenSaves()]
    if cfg.mlflow:
        from search.mlflow_log import trial_runs

        callbacks.append(trial_runs(cfg.mlflow, cfg.name, phase))
    return tune.RunConfig(
        name=cfg.name if phase == "search" else phase,
        storage_path=cfg.storage if phase == "search" else cfg.experiment_path,
        checkpoint_config=tune.CheckpointConfig(
            num_to_keep=CHECKPOINTS_KEPT, checkpoint_score_attribute=the_task.metric,
            checkpoint_score_order=the_task.mode,
        ),
        failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
        sync_config=tune.SyncConfig(sync_artifacts=True),
        callbacks=callbacks,
        progress_reporter=console,
        verbose=1,
    )


@contextmanager
def tune_output(verbose: bool):
    """Tune's own console output (its new output engine) with `verbose`, else lenstune's
    SearchConsole, which Tune uses only with its legacy engine."""
    before = os.environ.get(NEW_OUTPUT)
    os.environ[NEW_OUTPUT] = "1" if verbose else "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ[NEW_OUTPUT]
        else:
            os.environ[NEW_OUTPUT] = before


def reuse_actors() -> bool:
    """Reusing actors saves ~3 s per trial, but on a cluster a cached actor can sit on a node
    that has just died, failing every trial handed to it: reuse them only on a runtime this
    process started (a cluster may also be joined without --address: RAY_ADDRESS, a notebook's
    ray.init(address=...))."""
    return runtime.runtime_started_in_this_process()


def build_tuner(cfg: SearchConfig, trainable, study_storage=None) -> tune.Tuner:
    scheduler = asha_scheduler(cfg.task, cfg.max_epochs, cfg.grace_epochs,
                               cfg.reduction_factor, cfg.asha)
    # In place of Tune's max_concurrent_trials, whose limiter counts paused trials as running
    # (the same limiter while no trial pauses).
    searcher = ExtendableSearch(PauseAwareLimiter(build_searcher(cfg, study_storage),
                                                  max_concurrent=cfg.concurrency), key=cfg.name)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher, scheduler=scheduler, num_samples=cfg.num_samples,
            reuse_actors=reuse_actors(), trial_dirname_creator=trial_dirname,
        ),
        run_config=run_config(cfg, "search", cfg.num_samples, cfg.max_epochs),
    )


def restore_tuner(experiment_path: str, trainable) -> tune.Tuner:
    """Continue an interrupted search: finished trials are kept, unfinished ones resume."""
    for change in repair_saved_state(experiment_path):
        print(f"--resume: {change}", flush=True)
    return tune.Tuner.restore(
        experiment_path, trainable=trainable, resume_unfinished=True, resume_errored=True
    )
