"""`python -m search.run --task superres`: parse, prepare data, fit, report."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from search import storage
from search.config import (
    ASHA_MODES,
    PRESETS,
    SearchConfig,
    default_cache_dir,
    experiment_path,
    preset_defaults,
)
from search.manifest import MANIFEST, read_manifest
from search.mlflow_log import check_available, log_best_model, prepare_experiment, tracking_uri
from search.study import default_study_url, open_study_storage
from tasks import get_task, task_names
from trainables import __version__
from trainables.errors import OneLineArgumentParser, UserError, exits_cleanly
from trainables.precision import SEARCH_PRECISIONS

# Ray Tune, torch, Optuna and the report's libraries take seconds to import: they are imported
# once the command line has been read, so that --help and a bad flag answer at once.
if TYPE_CHECKING:
    from search.data import PreparedData
    from search.report import Report

INTERRUPTED = 130
DASHBOARD_TOKEN = ("it asks for the cluster's token: `ray get-auth-token` prints it, or read "
                   "~/.ray/auth_token")


def _per_task(default) -> str:
    """A default each task's space gives (`default(space)`), for the help text."""
    return ", ".join(f"{name} {default(get_task(name).space)}" for name in task_names())


def _short(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default where it has one; a None default (the preset's or the task's,
    which the help text says) would only add "(default: None)"."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> OneLineArgumentParser:
    parser = OneLineArgumentParser(
        prog="python -m search.run",
        description="Hyperparameter search (Optuna TPE + ASHA on Ray Tune) for a DeepLense task.",
        formatter_class=_DefaultsHelp)
    add = parser.add_argument
    add("--task", required=True, help=f"one of: {', '.join(task_names())}")
    add("--preset", choices=sorted(PRESETS), default="laptop",
        help="defaults of the size options: laptop (2 CPU cores, minutes) or cluster "
             "(reference scale, GPUs); any flag below overrides its preset value")
    add("--data", type=Path, help="a data set in the task's layout; default: simulate (once, "
        "cached) the embedded default data set")
    add("--sim-count", type=int, help="size of the simulated default data set (pairs for "
        "superres, images per class for classify and anomaly)")
    add("--image-size", type=int, help="classify/anomaly: resize images to N x N on load "
        "(laptop preset: 64; cluster: as stored, 150)")
    add("--weights-dir", type=Path, help="classify/anomaly: folder of ImageNet weights "
        "(<model>.pth or .safetensors) that make `pretrained` a searched option (env "
        "LENSTUNE_WEIGHTS; the timm/torch cache is also used)")
    add("--models", type=_names, metavar="NAME[,NAME...]",
        help="search only these nets (a family name selects all of its nets); the reference "
             "configurations of other nets are not run")
    add("--num-samples", type=int, help="trials to run, the reference configurations included")
    add("--max-epochs", type=int, help="epochs of a trial that ASHA never stops")
    add("--grace-epochs", type=int, help="epochs before ASHA may stop a trial")
    add("--reduction-factor", type=int, default=2,
        help="ASHA keeps the best 1/N of the trials at each rung (rungs at grace * N^k epochs); "
             "3 or 4 stop more, sooner")
    add("--asha", choices=ASHA_MODES,
        help="a trial outside its rung's top 1/N: pause it there, resuming it from its "
             "checkpoint if later arrivals make it top 1/N (ASHA as published; the presets'), or "
             "stop it there (Ray's ASHA, where a rung's first arrivals always pass)")
    add("--refit-top", type=int, help="after the search, train its best K configurations "
        "again from scratch to full length with fresh seeds (0: no refit)")
    add("--refit-epochs", type=int, help="epochs of each refit trial (default: --max-epochs)")
    add("--refit-seeds", type=int, help="fresh seeds per refit configuration (the leaderboard "
        "shows their mean and std)")
    add("--concurrency", type=int, help="trials running at once")
    add("--cpus-per-trial", type=float, help="CPUs per trial (also its torch threads)")
    add("--gpus-per-trial", type=float, help="GPUs per trial; fractions pack trials on one GPU")
    add("--precision", choices=SEARCH_PRECISIONS, default="auto",
        help="auto: bf16 autocast of every trial's forward passes where its device computes "
             "bf16 (GPUs since Ampere; CPUs with AVX512-BF16 or AMX, where trials train "
             "1.4-1.9x faster), else fp32; fp32 or bf16: that, everywhere (other CPUs emulate "
             "bf16, many times slower)")
    add("--lr-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
        help="bounds of the searched base learning rate of the cyclic schedule (default: the "
             "task's: " + _per_task(lambda s: " ".join(map(_short, s.LR_RANGE))) + ")")
    add("--max-lr-ratio", type=float,
        help="largest max_lr/base_lr of the cyclic schedule the search tries (default: the "
             "task's: " + _per_task(lambda s: f"{s.MAX_LR_RATIO:g}") + ")")
    add("--val-fraction", type=float,
        help="seeded validation split (default: the data's own val/ folder, else 0.1); "
             "given, it re-splits data with a val/ folder too")
    add("--storage", default="lenstune_results", help="results folder or URI (s3://, gs://)")
    add("--name", help="experiment name; default: TASK-DATE-TIME")
    add("--resume", action="store_true",
        help="continue the interrupted experiment --name on its saved settings (a flag "
        "given beside it must agree with them)")
    add("--seed", type=int, default=0, help="seeds the search, the split and the trials")
    add("--optuna-storage", metavar="URL",
        help="database URL for the Optuna study, e.g. postgresql://user@host/db (shared by a "
             "cluster); default: sqlite:///STORAGE/NAME/optuna.db")
    add("--address", help="a running Ray cluster (auto, HOST:PORT, ray://HOST:10001); "
        "default: start a local one")
    add("--no-dashboard", action="store_true", help="do not start the Ray dashboard")
    add("--mlflow", metavar="URI",
        help="log every trial (parameters, metrics per epoch) and the best model to this MLflow "
             "tracking store: a folder or a server's URL (needs pip install -e '.[mlflow]')")
    add("--verbose", action="store_true",
        help="Ray Tune's own console output (each trial's config, every result and "
             "checkpoint) instead of the compact table")
    add("--cache-dir", type=Path, default=default_cache_dir(),
        help="where the simulated default data set is kept (env LENSTUNE_CACHE)")
    return parser


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def given_flags(argv: list[str] | None) -> dict:
    """The options the command line sets itself (by dest, as parsed), none of the defaults."""
    parser = build_parser()
    for action in parser._actions:  # not set_defaults: it would set them as values too
        action.default = argparse.SUPPRESS
    return vars(parser.parse_args(argv))


def parse_args(argv: list[str] | None) -> SearchConfig:
    args = build_parser().parse_args(argv)
    if args.resume and not args.name:
        raise UserError("--resume needs --name of the experiment to continue")
    defaults = preset_defaults(args.preset, args.task) if args.task in task_names() else {}
    sizes = {k: v for k, v in vars(args).items() if k in defaults and v is not None}
    if args.data is not None and args.image_size is None:
        defaults = defaults | {"image_size": None}  # a preset never resizes the user's data
    return SearchConfig(
        task=args.task, name=args.name or f"{args.task}-{time.strftime('%Y%m%d-%H%M%S')}",
        storage=storage.resolve_storage(args.storage), data=args.data,
        val_fraction=args.val_fraction, lr_range=args.lr_range and tuple(args.lr_range),
        max_lr_ratio=args.max_lr_ratio, seed=args.seed, resume=args.resume,
        reduction_factor=args.reduction_factor, precision=args.precision,
        optuna_storage=args.optuna_storage,
        address=args.address, dashboard=not args.no_dashboard, verbose=args.verbose,
        mlflow=args.mlflow and tracking_uri(args.mlflow),
        cache_dir=args.cache_dir,
        weights_dir=args.weights_dir, **(defaults | sizes),
    )


def prepare_data(*args, **kwargs) -> PreparedData:
    """search.data.prepare_data (the data set's readers and simulator, imported when used)."""
    from search.data import prepare_data as prepare

    return prepare(*args, **kwargs)


def note_small_validation(cfg: SearchConfig, data: PreparedData) -> None:
    from search.data import small_validation_note

    note = small_validation_note(cfg.task, data.split)
    if note:
        print(note, file=sys.stderr, flush=True)


def write_report(experiment: str) -> Report:
    """search.report.write_report (Ray Tune's result reader, Optuna and plotting, imported when
    used)."""
    from search.report import write_report as write

    return write(experiment)


def manifest_settings(cfg: SearchConfig) -> dict:
    """The settings as the manifest keeps them (and --resume reads them back)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(cfg).items()}


# Flags a resumed search takes anew; the rest are the saved search's. --preset only sets the
# defaults of the size flags, which the saved sizes replace.
TAKEN_ANEW_ON_RESUME = {"task", "name", "resume", "storage", "address", "no_dashboard", "preset",
                        "verbose"}


def _flag_text(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _same_setting(given, saved) -> bool:
    if isinstance(given, Path):
        return saved is not None and given.resolve() == Path(saved).resolve()
    if isinstance(given, (list, tuple)):
        return saved is not None and list(given) == list(saved)
    return given == saved


def check_resume_flags(manifest: dict, given: dict) -> None:
    """A flag given with --resume must agree with the saved search: it would not apply."""
    saved = manifest["search"] | {
        "data": None if manifest["simulated"] else manifest["data"],
        "optuna_storage": manifest.get("optuna_storage")}
    for dest, value in given.items():
        if dest in TAKEN_ANEW_ON_RESUME or _same_setting(value, saved.get(dest)):
            continue
        if dest == "num_samples" and value > saved[dest]:
            continue  # more trials: the search is extended
        if dest == "num_samples":
            raise UserError(f"--resume: {manifest['name']} has --num-samples {saved[dest]}; a "
                            f"search can be given more trials, not fewer: drop --num-samples, "
                            f"or give more than {saved[dest]}")
        flag = "--" + dest.replace("_", "-")
        was = _flag_text(saved[dest]) if saved.get(dest) is not None else (
            "the simulated default" if dest == "data" else "its default")
        raise UserError(f"--resume continues {manifest['name']} with its saved settings, where "
                        f"{flag} is {was}, not {_flag_text(value)}: drop {flag}, or start a new "
                        "search under another --name")


def resumed_config(cfg: SearchConfig, given: dict | None = None) -> SearchConfig:
    """The saved settings of experiment cfg.name, with this run's cluster options; `given`, the
    flags of this command line, must agree with the saved ones."""
    manifest = read_manifest(cfg.experiment_path)
    saved = manifest["search"]
    if saved["task"] != cfg.task:
        raise UserError(f"--name {cfg.name} is a {saved['task']} search, not {cfg.task}")
    check_resume_flags(manifest, given or {})
    made_in = experiment_path(saved["storage"], cfg.name)
    study_url = manifest.get("optuna_storage")
    if made_in != cfg.experiment_path and study_url and study_url == default_study_url(made_in):
        # Ray's saved state holds the Optuna study's SQLite file by its path and opens it when
        # read back: a moved experiment fails there, a copied one would write to the original.
        raise UserError(f"--resume: experiment {cfg.name} was made in {made_in}, and its saved "
                        f"search opens its Optuna study there: resume it in --storage "
                        f"{saved['storage']}")
    # The data is read again from the folder the search used (for a simulated set, its cache).
    # The experiment is where it was found now: it may have moved since (e.g. copied off a
    # cluster's shared storage).
    saved |= {"storage": cfg.storage, "data": Path(manifest["data"]),
              "cache_dir": Path(saved["cache_dir"]),
              "weights_dir": saved["weights_dir"] and Path(saved["weights_dir"]),
              "lr_range": tuple(saved["lr_range"]), "resume": True, "address": cfg.address,
              "models": saved.get("models") and tuple(saved["models"]),
              "dashboard": cfg.dashboard, "verbose": cfg.verbose,
              "num_samples": max(saved["num_samples"], (given or {}).get("num_samples", 0))}
    return SearchConfig(**saved)


def check_experiment_folder(cfg: SearchConfig) -> None:
    """Never overwrite: a new search needs a new name, a resumed one an existing experiment."""
    from ray import tune

    path = cfg.experiment_path
    if cfg.resume:
        if not storage.exists(f"{path}/{MANIFEST}") or not tune.Tuner.can_restore(path):
            raise UserError(f"--resume: no experiment to continue at {path}")
    elif storage.exists(path):
        raise UserError(f"experiment {path} already exists; pass --resume to continue it, "
                        "or choose another --name")


def dropped_references(cfg: SearchConfig) -> list[str]:
    """The nets of the reference configurations that --models leaves out of the search."""
    return get_task(cfg.task).warm_start(cfg.nets)[1]


def write_manifest(cfg: SearchConfig, data: PreparedData, study_url: str | None) -> None:
    manifest = {
        "name": cfg.name, "task": cfg.task, "lenstune_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # Absolute: --resume reads the data again, perhaps from another working folder.
        "data": str(Path(data.source).resolve()),
        "simulated": data.simulated, "train_count": len(data.split.train),
        "val_count": len(data.split.val), "max_epochs": cfg.max_epochs,
        "num_samples": cfg.num_samples, "baseline_name": data.baseline_name,
        "baseline": data.baseline,
        "optuna_storage": study_url, "study_name": cfg.name, "search": manifest_settings(cfg),
        "warm_start_dropped": dropped_references(cfg),
    }
    storage.write_text(f"{cfg.experiment_path}/{MANIFEST}", json.dumps(manifest, indent=2))


def extend_manifest(cfg: SearchConfig) -> None:
    """Record a resumed search's trial count (more than it was saved with, if extended)."""
    manifest = read_manifest(cfg.experiment_path)
    if cfg.num_samples > manifest["num_samples"]:
        print(f"--resume: {cfg.name} goes on to {cfg.num_samples} trials (it had "
              f"{manifest['num_samples']})", flush=True)
        manifest["num_samples"] = manifest["search"]["num_samples"] = cfg.num_samples
        storage.write_text(f"{cfg.experiment_path}/{MANIFEST}", json.dumps(manifest, indent=2))


def fit(cfg: SearchConfig, data: PreparedData, study_url: str | None, study_storage) -> None:
    """Run (or continue) the search on the Ray runtime already started (local or cfg.address)."""
    from cluster.runtime import (
        check_concurrency_fits,
        check_precision_pays,
        check_storage_reachable,
        check_trial_fits,
    )
    from search.extend import request
    from search.tuner import build_trainable, build_tuner, restore_tuner, tune_output

    # Both before anything is written.
    check_storage_reachable(cfg.storage)
    check_trial_fits(cfg.cpus_per_trial, cfg.gpus_per_trial, resumed=cfg.resume)
    check_concurrency_fits(cfg.concurrency, cfg.cpus_per_trial, cfg.gpus_per_trial,
                           cfg.num_samples)
    check_precision_pays(cfg.precision, cfg.gpus_per_trial)
    note_small_validation(cfg, data)
    dropped = dropped_references(cfg)
    if dropped:
        print(f"note: --models leaves out the reference configurations of {', '.join(dropped)}",
              file=sys.stderr, flush=True)
    trainable = build_trainable(cfg, data.split)
    if cfg.resume:
        extend_manifest(cfg)
        request(cfg.name, num_samples=cfg.num_samples)
        tuner = restore_tuner(cfg.experiment_path, trainable)
    else:
        write_manifest(cfg, data, study_url)
        if study_storage is None and study_url is not None:
            study_storage = open_study_storage(study_url)
        tuner = build_tuner(cfg, trainable, study_storage)
    with tune_output(cfg.verbose):
        results = tuner.fit()
    if cfg.refits and results.num_terminated + results.num_errors >= cfg.num_samples:
        fit_refit(cfg, trainable)


def fit_refit(cfg: SearchConfig, trainable) -> None:
    """Train the search's winners again (or continue their interrupted refit)."""
    from search.extend import request
    from search.refit import (
        build_refit_tuner,
        has_refit,
        refit_key,
        refit_path,
        refit_trial_configs,
    )
    from search.report import search_winners
    from search.tuner import restore_tuner, tune_output

    winners = search_winners(cfg.experiment_path, cfg.refit_top)
    if has_refit(cfg.experiment_path):
        # A search extended since its refit may have new winners: the refit takes them on.
        request(refit_key(cfg.name), configs=refit_trial_configs(cfg, winners))
        tuner = restore_tuner(refit_path(cfg.experiment_path), trainable)
    else:
        configs = refit_trial_configs(cfg, winners)
        if not configs:
            return
        print(f"refit: the search's best {len(configs) // cfg.refit_seeds} configuration(s), "
              f"{cfg.refit_seeds} fresh seed(s) each, {cfg.refit_length} epochs", flush=True)
        tuner = build_refit_tuner(cfg, trainable, configs)
    with tune_output(cfg.verbose):
        tuner.fit()


@contextmanager
def no_ray_handle_freed_off_the_main_thread():
    """Free the garbage Tune left (cycles holding Ray object refs and actor handles) now, while
    Ray is up, and keep the cyclic collector off until the report is written.

    A Ray handle freed in another thread while `ray.shutdown` runs makes Ray end the process
    at once, silently, exit code 1 ("The core worker has already been shutdown"); the report
    thread allocates enough to run the collector, which would free Tune's leftovers there.
    """
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def report_while_stopping(experiment: str, stop) -> Report:
    """Write the report while Ray shuts down: the shutdown is mostly waiting for Ray's processes
    to exit (~1.4 s), the report (~1 s) needs only the files Tune has finished writing."""
    with no_ray_handle_freed_off_the_main_thread(), ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(write_report, experiment)
        stop()  # in the main thread, where Ray's signal handling expects it
        return report.result()


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    storage.check_writable(cfg.storage)
    if cfg.mlflow:
        check_available(cfg.mlflow)
    if cfg.address:
        from cluster.auth import prepare_to_join

        prepare_to_join(cfg.address)  # a token the cluster refuses is said now, not after data
    check_experiment_folder(cfg)
    if cfg.mlflow:
        prepare_experiment(cfg.mlflow, cfg.name)
    if cfg.resume:
        cfg = resumed_config(cfg, given_flags(argv))
    study_storage = None
    if cfg.optuna_storage and not cfg.resume:
        study_storage = open_study_storage(cfg.optuna_storage)  # refuse a bad URL before work
    from cluster.runtime import start_ray, stop_ray

    try:
        # Data before Ray: the simulator forks worker processes, which a Ray driver should not.
        data = prepare_data(cfg.task, cfg.data, cfg.sim_count, cfg.cache_dir, cfg.val_fraction,
                            cfg.seed, cfg.image_size)
        study_url = cfg.optuna_storage or default_study_url(cfg.experiment_path)
        dashboard = start_ray(cfg.address, dashboard=cfg.dashboard)
        if dashboard:
            print(f"Ray dashboard: http://{dashboard} ({DASHBOARD_TOKEN})", flush=True)
        try:
            fit(cfg, data, study_url, study_storage)
        except BaseException:
            stop_ray()
            raise
        report = report_while_stopping(cfg.experiment_path, stop_ray)
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: python -m search.run --task {cfg.task} "
              f"--storage {cfg.storage} --name {cfg.name} --resume", file=sys.stderr)
        return INTERRUPTED
    best = Path(cfg.experiment_path) / "best" / "metrics.json"
    if cfg.mlflow and not cfg.is_uri and best.is_file():
        log_best_model(cfg.mlflow, cfg.name, json.loads(best.read_text())["trial"], best.parent)
    print()
    print(report.markdown)
    print(f"Results:     {cfg.experiment_path} (leaderboard.md, best_config.json, best/)")
    print(f"TensorBoard: tensorboard --logdir {cfg.experiment_path}")
    if dashboard:
        print(f"Ray dashboard (live while a search runs): http://{dashboard} "
              f"({DASHBOARD_TOKEN})")
    if report.unfinished:
        print(f"{report.unfinished} trial(s) unfinished; continue with: python -m search.run "
              f"--task {cfg.task} --storage {cfg.storage} --name {cfg.name} --resume",
              file=sys.stderr)
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
