"""Search efficiency: TPE + ASHA vs the same number of trials without early stopping.

Two classify searches on the same simulated data and seed, through `search.run`: one with
ASHA (by default grace 1 epoch, reduction factor 3, and Ray's stopping ASHA; `--asha pause` for
the promotion-based one), one whose grace period is the whole run (ASHA then never stops a
trial). Reported: the epochs each consumed and the best validation
macro AUC each found. Target: the same best AUC within 0.005 using <= 1/3 of the epochs.

An AUC difference means little unless it exceeds what chance alone moves the AUC by, so the
benchmark also retrains the no-stopping search's best configuration with other seeds (same
data, same split) and reports the spread of its best AUC: the resolution of the comparison.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from ray.tune.experiment import Trial
from ray.tune.search import Searcher

from bench.common import add_gpu_option, finish, parser, training_device
from bench.fixed_search import (
    best_trial,
    epochs_and_best,
    run_fixed,
    search_argv,
    train_alone,
    trial_histories,
    trial_results,
)
from search.config import ASHA_MODES, default_cache_dir
from search.data import prepare_data
from search.manifest import MANIFEST, read_manifest
from search.promotion_asha import PauseAwareLimiter, rung_epochs
from search.run import manifest_settings, parse_args
from search.tuner import asha_scheduler
from tasks import get_task
from trainables.errors import UserError, exits_cleanly

TASK = "classify"
METRIC = get_task(TASK).metric
CURVE = f"{METRIC}_by_epoch"
"""The key of a trial's metric, epoch by epoch, in `trial_histories`."""


def _count_by_epochs(epochs) -> dict[str, int]:
    """How many trials trained each number of epochs, as the JSON keeps it."""
    trained = Counter(epochs)
    return {str(n): trained[n] for n in sorted(trained)}


def _argv(storage: Path, name: str, grace: int, args, cache: Path) -> list[str]:
    return search_argv(TASK, args.trials, args.epochs, args.concurrency, storage, name, cache,
                       ["--reduction-factor", str(args.reduction_factor), "--asha", args.asha,
                        "--gpus-per-trial", str(args.gpus_per_trial),
                        "--sim-count", str(args.sim_count), "--image-size", str(args.image_size),
                        "--val-fraction", str(args.val_fraction), "--seed", str(args.seed)],
                       grace=grace)


def _resumable(experiment: Path, argv: list[str]) -> bool:
    """Whether the search `argv` asks for is already in `experiment` (--workdir): resume it.

    A resumed search runs on its saved settings, so one saved with others is refused."""
    if not experiment.exists():
        return False
    if not (experiment / MANIFEST).is_file():
        raise UserError(f"--workdir: {experiment} holds no search to resume (no {MANIFEST}); "
                        "remove it or give another --workdir")
    saved = read_manifest(str(experiment))["search"]
    wanted = json.loads(json.dumps(manifest_settings(parse_args(argv))))  # as JSON reads back
    for key, value in wanted.items():
        # Where it is, search.run checks itself (a moved experiment is refused there).
        if key not in ("storage", "resume") and key in saved and saved[key] != value:
            raise UserError(f"--workdir: {experiment} is a search with {key} {saved[key]!r},"
                            f" not {value!r}; give another --workdir")
    return True


def search(storage: Path, name: str, grace: int, args, cache: Path,
           resumed: bool = False) -> dict:
    """One search in storage/name; `resumed`, the one already there goes on from its
    checkpoints (a finished one is only read back)."""
    argv = _argv(storage, name, grace, args, cache) + (["--resume"] if resumed else [])
    phases = run_fixed(TASK, None, argv)
    epochs, best = epochs_and_best(storage / name, TASK)
    return {"epochs": epochs, "best_val_auc": best,
            "trials_by_epochs": _count_by_epochs(len(r) for r in trial_results(storage / name)),
            "search_s": phases["total"] - phases["data"] - phases["ray_start"],
            "resumed": resumed,  # then search_s is this run's part only
            "trials": trial_histories(storage / name, TASK)}


def synchronous_epochs(trials: int, grace: int, reduction_factor: int, max_t: int) -> float:
    """The epochs successive halving spends when every rung waits for all its trials: 1/rf^k of
    the trials train from rung k-1 to rung k (ASHA's rungs, then max_t). ASHA, which promotes
    on the results seen so far, spends more."""
    total, previous = 0.0, 0
    for k, rung in enumerate([*rung_epochs(grace, reduction_factor, max_t), max_t]):
        total += trials / reduction_factor ** k * (rung - previous)
        previous = rung
    return total


def rung_promotions(histories: list[dict], grace: int, reduction_factor: int,
                    max_t: int) -> list[dict]:
    """Per rung of an ASHA search: the trials that reached it, those ASHA let past it (it
    promotes a trial in the top 1/rf of the results recorded there *so far*), and those in the
    top 1/rf of all that reached it (what a rung waiting for every trial would promote). Also
    how much better the later half of the arrivals was than the first: with a searcher that
    learns (TPE), later trials score higher, and ASHA promotes more than 1/rf of them.
    `histories` in start order, as `trial_histories` gives them."""
    rows = []
    for rung in rung_epochs(grace, reduction_factor, max_t):
        reached = [h[CURVE] for h in histories if len(h[CURVE]) >= rung]
        if not reached:
            break
        at_rung = np.array([values[rung - 1] for values in reached], dtype=float)
        cutoff = np.nanpercentile(at_rung, (1 - 1 / reduction_factor) * 100)  # as Ray's ASHA
        half = len(at_rung) // 2
        rows.append({"epoch": rung, "reached": len(reached),
                     "promoted": sum(len(values) > rung for values in reached),
                     "top_of_all_arrivals": int((at_rung >= cutoff).sum()),
                     "later_half_minus_first_half": (float(np.nanmean(at_rung[half:]) -
                                                           np.nanmean(at_rung[:half]))
                                                     if half else None)})
    return rows


class _Recorded(Searcher):
    """Stands for the searcher: the trials to replay are already proposed."""

    def suggest(self, trial_id: str) -> dict:
        return {}

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        pass


class _ReplayController:
    """What a scheduler sees of Tune's controller, over trials that replay recorded curves."""

    def __init__(self, trials: int, concurrency: int) -> None:
        self.search_alg = self
        self.searcher = PauseAwareLimiter(_Recorded(), max_concurrent=concurrency)
        self.total, self.trials = trials, []

    def is_finished(self) -> bool:
        return len(self.trials) >= self.total

    def get_trials(self) -> list:
        return self.trials

    def stop_trial(self, trial) -> None:
        trial.status = Trial.TERMINATED
        self.searcher.on_trial_complete(trial.trial_id)

    def _mark_trial_to_checkpoint(self, trial) -> None:
        pass


def asha_replay(histories: list[dict], grace: int, reduction_factor: int, max_t: int,
                concurrency: int, mode: str = "stop") -> dict:
    """What ASHA alone would spend on these trials: the scheduler `search.run` builds for
    `--asha mode`, fed each trial's recorded metric epoch by epoch, `concurrency` trials at a
    time, new ones in their start order (pause mode resumes a promoted trial first), every
    epoch taking as long. Replayed on a no-stopping search's trials it separates ASHA's own
    share of the epochs from what stopping does to the searcher's later proposals (the ASHA
    search's searcher learns from the trials ASHA let finish)."""
    if any(len(h[CURVE]) < max_t for h in histories):
        raise ValueError(f"a replay needs every trial's {max_t} epochs: replay a search "
                         "that stopped none")
    scheduler = asha_scheduler(TASK, max_t, grace, reduction_factor, mode)
    controller = _ReplayController(len(histories), concurrency)
    epochs = [0] * len(histories)
    while True:
        running = [t for t in controller.trials if t.status == Trial.RUNNING]
        while len(running) < concurrency:
            trial = scheduler.choose_trial_to_run(controller)
            if trial is None and not controller.is_finished():
                trial = SimpleNamespace(trial_id=str(len(controller.trials)), status=None)
                if controller.searcher.suggest(trial.trial_id) is None:
                    break
                controller.trials.append(trial)
                scheduler.on_trial_add(controller, trial)
            if trial is None:
                break
            trial.status = Trial.RUNNING
            running.append(trial)
        if not running:
            break
        for trial in sorted(running, key=lambda t: int(t.trial_id)):  # same-length epochs
            index = int(trial.trial_id)
            epochs[index] += 1
            result = {"training_iteration": epochs[index],
                      METRIC: histories[index][CURVE][epochs[index] - 1]}
            decision = scheduler.on_trial_result(controller, trial, result)
            if decision == scheduler.PAUSE:
                trial.status = Trial.PAUSED
            elif decision == scheduler.STOP:
                trial.status = Trial.TERMINATED
                controller.searcher.on_trial_complete(trial.trial_id)
                scheduler.on_trial_complete(controller, trial, result)
    best = max(max(h[CURVE][:n]) for h, n in zip(histories, epochs))
    return {"epochs": sum(epochs), "share": sum(epochs) / (len(histories) * max_t),
            "trials_by_epochs": _count_by_epochs(epochs), "best_val_auc": best,
            "best_difference": best - max(max(h[CURVE]) for h in histories)}


def rung_by_value(histories: list[dict], param: str, rung: int, max_t: int) -> list[dict]:
    """Per value of one searched parameter: how often the searcher proposed it (in all, and in
    the later half of the search), its trials' mean metric at `rung`, and the mean best of those
    that ran all `max_t` epochs. Set side by side, what a rung favours and what ends best: on
    the benchmark's data, batch 32 leads at epoch 3 (four times the steps of batch 128), where
    batch 128 is still at chance, whatever each ends at."""
    later = set(range(len(histories) // 2, len(histories)))
    rows = []
    proposed = {h["config"].get(param) for h in histories}
    try:
        proposed = sorted(proposed)
    except TypeError:  # mixed types, or a value missing from some configs
        proposed = sorted(proposed, key=str)
    for value in proposed:
        mine = [(i, h[CURVE]) for i, h in enumerate(histories) if h["config"].get(param) == value]
        at_rung = [curve[rung - 1] for _, curve in mine if len(curve) >= rung]
        ended = [max(curve) for _, curve in mine if len(curve) >= max_t]
        rows.append({"value": value, "trials": len(mine),
                     "in_later_half": sum(i in later for i, _ in mine),
                     "mean_at_rung": float(np.mean(at_rung)) if at_rung else None,
                     "ran_all_epochs": len(ended),
                     "mean_best_of_those": float(np.mean(ended)) if ended else None})
    return rows


def seed_spread(config: dict, args, cache: Path, device: str) -> list[float]:
    """Best validation AUC of `config` trained with each of the extra seeds."""
    data = prepare_data(TASK, None, args.sim_count, cache, args.val_fraction, args.seed,
                        args.image_size)
    return [max(train_alone(TASK, config, data.split, args.epochs, seed, device))
            for seed in range(args.seed + 1, args.seed + 1 + args.seeds)]


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("search_efficiency", __doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=24,
                   help="ASHA promotes on the results a rung has seen so far: the first "
                        "arrivals, and later ones while TPE's proposals improve, pass it "
                        "more often than 1/rf (16 -> 32 trials: 0.39 -> 0.51 of the epochs)")
    p.add_argument("--epochs", type=int, default=9, help="max epochs of a trial")
    p.add_argument("--grace-epochs", type=int, default=1,
                   help="ASHA's grace period; too short and the first rung ranks trials by the "
                        "optimizer steps taken (small batches lead), not by what ends best")
    p.add_argument("--reduction-factor", type=int, default=3)
    p.add_argument("--asha", choices=ASHA_MODES, default="stop",
                   help="search.run's --asha: stop (Ray's ASHA) or pause (promotion-based)")
    p.add_argument("--sim-count", type=int, default=400, help="simulated images per class")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--val-fraction", type=float, default=0.5,
                   help="a large validation set, so that AUCs differing by 0.005 can be told apart")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=3,
                   help="extra seeds the no-stopping search's best configuration is retrained with")
    p.add_argument("--concurrency", type=int, default=2, help="trials at once in each search")
    p.add_argument("--workdir", type=Path,
                   help="keep the two searches here (asha/, full/), not in a temporary folder: "
                        "run again with the same arguments, an interrupted benchmark resumes "
                        "its searches and reads back the finished ones")
    add_gpu_option(p)
    args = p.parse_args(argv)
    device = training_device(args.gpus_per_trial)  # no GPU when asked for: say so before starting
    if args.seeds < 1:  # checked before the searches, which take half an hour
        p.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.workdir is not None and args.workdir.exists() and not args.workdir.is_dir():
        p.error(f"--workdir {args.workdir} is not a folder")
    if args.quick:
        args.trials, args.epochs, args.sim_count, args.image_size, args.seeds = 3, 3, 8, 16, 1
    with (nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory()) as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        # Both checked before either runs: the first search may take hours.
        resumed = {name: _resumable(Path(tmp) / name, _argv(Path(tmp), name, grace, args, cache))
                   for name, grace in (("asha", args.grace_epochs), ("full", args.epochs))}
        asha = search(Path(tmp), "asha", args.grace_epochs, args, cache, resumed["asha"])
        full = search(Path(tmp), "full", args.epochs, args, cache, resumed["full"])
        best_config = best_trial(Path(tmp) / "full", TASK)
        spread = seed_spread(best_config, args, cache, device) + [full["best_val_auc"]]
    figures = {"trials": args.trials, "max_epochs": args.epochs,
               "grace_epochs": args.grace_epochs, "asha": args.asha,
               "concurrency": args.concurrency, "gpus_per_trial": args.gpus_per_trial,
               "reduction_factor": args.reduction_factor, "images_per_class": args.sim_count,
               "image_size": args.image_size, "val_fraction": args.val_fraction}
    figures |= {f"asha_{k}": v for k, v in asha.items()}
    figures |= {f"no_stopping_{k}": v for k, v in full.items()}
    figures["asha_epochs_if_synchronous"] = synchronous_epochs(
        args.trials, args.grace_epochs, args.reduction_factor, args.epochs)
    figures["asha_rung_promotions"] = rung_promotions(
        asha["trials"], args.grace_epochs, args.reduction_factor, args.epochs)
    if all(len(h[CURVE]) >= args.epochs for h in full["trials"]):
        figures["asha_replayed_on_no_stopping_trials"] = asha_replay(
            full["trials"], args.grace_epochs, args.reduction_factor, args.epochs,
            args.concurrency, args.asha)
    else:  # a trial that failed for good ends short: keep the hour's other figures
        figures["asha_replayed_on_no_stopping_trials"] = (
            "not replayed: a no-stopping trial ended before its last epoch")
    first_rung = min(args.grace_epochs, args.epochs)
    for leg, run in (("asha", asha), ("no_stopping", full)):
        figures[f"{leg}_batch_size_at_first_rung"] = rung_by_value(
            run["trials"], "batch_size", first_rung, args.epochs)
    figures["best_auc_difference"] = asha["best_val_auc"] - full["best_val_auc"]
    figures |= {"best_config": best_config, "best_config_auc_by_seed": spread,
                "best_config_auc_seed_stdev": statistics.stdev(spread),
                "best_config_auc_seed_range": max(spread) - min(spread)}
    finish("search_efficiency", args, figures,
           ("epochs, ASHA / no early stopping", asha["epochs"] / full["epochs"],
            "<= 0.333 with best AUC within 0.005"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
