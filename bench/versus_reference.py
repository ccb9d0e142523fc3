"""Versus the reference: the search plus the refit of its winners against the hand-picked
configurations trained to their plateau, at equal compute, on identical data.

Per task, on the simulated default data of the laptop preset (`--preset`):
1. the search as a user runs it (`search.run --task T`, the preset's trials and refit), which
   processes some number of training images S (each trial's epochs times the training images);
2. the task's reference configurations (its warm-start points, all of them), each trained
   without early stopping for `--reference-epochs` or, if the search processed more, for as many
   epochs as give them S images in all: their learning curves show where they flatten;
3. each side's best model (selected on the validation split, as the report selects it) scored
   on a fresh test set simulated with another seed, so that neither side's selection on the
   validation split flatters it; and again with test-time augmentation, on both sides.
The search's refit is given the epochs that bring the search side's images to the reference
side's (`refit_epochs`); the reference side gets more if the search spent more.
`--reference-from` takes the reference side of an earlier run of the same preset and test set
instead (the references do not change when only the search does).
The JSON holds, per task, `metric`, `search_best` and `reference_best` (test set), the
validation figures, the images and seconds of each side, and every curve (`--plot` draws them).
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

from bench.common import finish, parser
from bench.fixed_search import run_fixed, search_argv, trial_histories
from search.config import SearchConfig, default_cache_dir, preset_defaults
from tasks import get_task
from trainables.cyclic_adam import EPOCHS_PER_HALF_CYCLE
from trainables.errors import UserError, exits_cleanly

TASKS = ("superres", "classify", "anomaly")
TARGETS = {"superres": 0.5, "classify": 0.01, "anomaly": 0.005}
"""How far the search's best must beat the reference's (dB, AUC, AUC)."""
CLOSE_TO_PERFECT = {"anomaly": (0.995, 0.002)}
"""Where the reference reaches the first figure, being within the second counts as meeting it."""
TEST_SEED = 1
"""The simulated test set's seed (the search's data is simulated with seed 0)."""
TEST_METRIC = {"superres": "model_psnr", "classify": "auc", "anomaly": "auc"}
"""search.evaluate's name for the task's metric."""
REDUCTION_FACTOR = SearchConfig.reduction_factor  # the search side leaves it as it is


def _test_data(task: str, count: int, cache: Path) -> Path:
    """A fresh simulated test set (seed TEST_SEED) of the recipe the search's data follows."""
    from trainables.data.class_images import write_simulated_classes
    from trainables.data.lensing import LensingRecipe
    from trainables.data.sr_pairs import write_simulated_sr_pairs

    folder = cache / f"{task}-test-n{count}-seed{TEST_SEED}"
    if not folder.is_dir():
        if task == "superres":
            write_simulated_sr_pairs(folder, count, TEST_SEED, LensingRecipe())
        else:
            write_simulated_classes(folder, task, count, TEST_SEED, LensingRecipe())
    return folder


def _test_scores(task: str, model: Path, data: Path, out: Path) -> tuple[float, float]:
    """The model's test metric, plain and with test-time augmentation."""
    from search.evaluate import main as evaluate

    scores = []
    for suffix, tta in (("", []), ("-tta", ["--tta"])):
        folder = out.with_name(out.name + suffix)
        if evaluate(["--model", str(model), "--data", str(data), "--out", str(folder), *tta]):
            raise UserError(f"search.evaluate failed on {model}")
        scores.append(json.loads((folder / "metrics.json").read_text())[TEST_METRIC[task]])
    return scores[0], scores[1]


def _images(experiment: Path) -> tuple[int, list[dict]]:
    """Training images processed by an experiment's trials (its refit's included): the epochs
    each trial trained times the training split; and every trial's history."""
    manifest = _manifest(experiment)
    task = manifest["task"]
    trials = trial_histories(experiment, task)
    refits = trial_histories(experiment / "refit", task) if (experiment / "refit").is_dir() else []
    metric = get_task(task).metric
    epochs = sum(len(t[f"{metric}_by_epoch"]) for t in trials + refits)
    return epochs * manifest["train_count"], [
        {"phase": "search", **t} for t in trials] + [{"phase": "refit", **t} for t in refits]


def _best_val(experiment: Path) -> float:
    return json.loads((experiment / "best" / "metrics.json").read_text())["metrics"][
        get_task(_manifest(experiment)["task"]).metric]


def _data_flags(task: str, preset: str, quick: bool) -> list[str]:
    """The data both sides train on: the preset's simulated default (tiny with --quick)."""
    sizes = preset_defaults(preset, task) | (
        {"sim_count": 24 if task == "superres" else 8, "image_size": 16} if quick else {})
    flags = ["--sim-count", str(sizes["sim_count"])]
    if sizes.get("image_size") and task != "superres":
        flags += ["--image-size", str(sizes["image_size"])]
    return flags


def refit_epochs(task: str, preset: str, reference_epochs: int) -> int:
    """Epochs of each refit trial that bring the search plus its refit to the images of the
    reference configurations trained `reference_epochs` each (counted in passes over the
    training split, which both sides share): the search's ASHA spends about grace epochs on
    every trial and max on the top 1/rf; the refit gets the rest, or its preset's length.
    Whole LR cycles: a refit ending at the cycle's peak ends where its curve stands lowest."""
    sizes = preset_defaults(preset, task)
    trials, grace, full = sizes["num_samples"], sizes["grace_epochs"], sizes["max_epochs"]
    search = trials * grace + math.ceil(trials / REDUCTION_FACTOR) * (full - grace)
    budget = len(get_task(task).space.WARM_START) * reference_epochs
    refit = sizes["refit_top"] * sizes["refit_seeds"]
    cycle = 2 * EPOCHS_PER_HALF_CYCLE
    return max(sizes["refit_epochs"] or full, (budget - search) // refit // cycle * cycle)


def compare(task: str, args, storage: Path, cache: Path) -> dict:
    """One task's side by side."""
    data = _data_flags(task, args.preset, args.quick)
    search = storage / f"{task}-search"
    refit = ([] if args.quick else
             ["--refit-epochs", str(refit_epochs(task, args.preset, args.reference_epochs[task]))])
    references = [dict(p) for p in get_task(task).space.WARM_START]
    nets = list(dict.fromkeys(get_task(task).space.net_of(p) for p in references))
    # The search may try every reference net, whatever its preset leaves out for time: at equal
    # images, a net that learns more per image than the preset's is fair game.
    chosen = preset_defaults(args.preset, task).get("models")
    models = ["--models", ",".join(dict.fromkeys([*chosen, *nets]))] if chosen else []
    start = time.perf_counter()
    run_fixed(task, None, ["--task", task, "--preset", args.preset, "--storage", str(storage),
                           "--name", search.name, "--cache-dir", str(cache), "--no-dashboard",
                           "--seed", "0", *data, *refit, *models, *args.search_flags])
    search_seconds = time.perf_counter() - start
    search_images, search_trials = _images(search)
    test = _test_data(task, args.test_count[task], cache)
    search_best, search_tta = _test_scores(task, search / "best", test,
                                           storage / f"{task}-search-test")
    reference = args.reference_from.get(task) or _reference_side(
        task, args, storage, cache, data, references, nets, search_images, test)
    gap = search_best - reference["reference_best"]
    near, within = CLOSE_TO_PERFECT.get(task, (math.inf, 0.0))
    met = search_images <= reference["reference_images"] and (
        gap >= TARGETS[task] or (reference["reference_best"] >= near and gap >= -within))
    return {"metric": get_task(task).metric, "preset": args.preset, "search_best": search_best,
            "reference_best": reference["reference_best"], "search_minus_reference": gap,
            "target": TARGETS[task], "met": met, "search_best_tta": search_tta,
            "search_best_val": _best_val(search), "search_images": search_images,
            "search_seconds": round(search_seconds, 1), "test_count": args.test_count[task],
            "search_trials": search_trials,
            **{k: reference[k] for k in REFERENCE_SIDE}}


REFERENCE_SIDE = ("reference_best", "reference_best_tta", "reference_best_val",
                  "reference_images", "reference_seconds", "reference_epochs_each",
                  "reference_trials")
"""What a result holds of its reference side (--reference-from takes these)."""


def _reference_side(task: str, args, storage: Path, cache: Path, data: list[str],
                    references: list[dict], nets: list[str], search_images: int,
                    test: Path) -> dict:
    """The reference configurations trained to their plateau, and at least to the search's
    images; their best scored on the test set."""
    per_epoch = _manifest(storage / f"{task}-search")["train_count"] * len(references)
    epochs = max(args.reference_epochs[task], math.ceil(search_images / per_epoch))
    reference = storage / f"{task}-reference"
    start = time.perf_counter()
    run_fixed(task, references, search_argv(
        task, len(references), epochs, args.concurrency, storage, reference.name, cache,
        ["--seed", "0", "--precision", "auto", "--models", ",".join(nets), *data]))
    seconds = time.perf_counter() - start
    images, trials = _images(reference)
    best, tta = _test_scores(task, reference / "best", test, storage / f"{task}-reference-test")
    return dict(zip(REFERENCE_SIDE, (best, tta, _best_val(reference), images, round(seconds, 1),
                                     epochs, trials)))


def _manifest(experiment: Path) -> dict:
    """What search.run wrote of an experiment (its task, training items...)."""
    return json.loads((experiment / "lenstune.json").read_text())


def _saved_references(paths: list[Path], args) -> dict:
    """--reference-from: each task's reference side of earlier runs of this preset and test
    set (the references do not change when only the search does)."""
    saved = _saved_results(paths, "--reference-from")
    for task, r in saved.items():
        # the preset was recorded from 2026-12-05; runs before were all of the default, laptop
        if (r.get("preset", "laptop"), r["test_count"]) != (args.preset, args.test_count[task]):
            raise UserError(f"--reference-from: its {task} run was of another preset or test "
                            f"set ({r.get('preset', 'laptop')}, {r['test_count']} test items)")
    return {task: {k: r[k] for k in REFERENCE_SIDE} for task, r in saved.items()}


def plot(results: dict, path: Path) -> None:
    """Each task's learning curves: reference configurations, search trials and refits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (task, result) in zip(axes[0], results.items()):
        metric = result["metric"]
        styles = {"search": dict(color="0.7", lw=0.8), "refit": dict(color="tab:blue", lw=1.8)}
        for trial in result["search_trials"]:
            values = trial[f"{metric}_by_epoch"]
            ax.plot(range(1, len(values) + 1), values, **styles[trial["phase"]])
        for trial in result["reference_trials"]:
            values = trial[f"{metric}_by_epoch"]
            ax.plot(range(1, len(values) + 1), values, color="tab:orange", lw=1.5, ls="--")
        ax.plot([], [], color="0.7", label="search trials")
        ax.plot([], [], color="tab:blue", label="refit of the winners")
        ax.plot([], [], color="tab:orange", ls="--", label="reference configurations")
        ax.set_title(f"{task}: test {result['search_best']:.4g} vs {result['reference_best']:.4g}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {metric}")
        lows = [v for t in result["reference_trials"] + result["search_trials"]
                for v in t[f"{metric}_by_epoch"] if v is not None]
        if lows:
            top = max(lows)
            ax.set_ylim(max(min(lows), top - (10 if task == "superres" else 0.3)), None)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _saved_results(paths: list[Path], flag: str) -> dict:
    results = {}
    for path in paths:
        try:
            figures = json.loads(path.read_text())["figures"]
        except (OSError, ValueError, KeyError) as e:
            raise UserError(f"{flag}: {path} is not a versus_reference result ({e})") from None
        results.update({task: r for task, r in figures.items() if task in TASKS})
    if not results:
        raise UserError(f"{flag}: no task's side by side in " + ", ".join(map(str, paths)))
    return results


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("versus_reference", __doc__.splitlines()[0])
    p.add_argument("--task", nargs="+", choices=TASKS, default=list(TASKS), dest="tasks")
    p.add_argument("--preset", choices=("laptop", "cluster"), default="laptop")
    p.add_argument("--concurrency", type=int, default=2,
                   help="reference configurations trained at once")
    p.add_argument("--plot", type=Path, help="draw both sides' learning curves into this PNG")
    p.add_argument("--reference-from", type=Path, nargs="+", metavar="JSON", default=[],
                   help="take each task's reference side from earlier runs of the same preset "
                        "(trained and scored then) and run only the search")
    p.add_argument("--replot", type=Path, nargs="+", metavar="JSON",
                   help="only draw --plot from the JSON files of earlier runs (one task each)")
    args = p.parse_args(argv)
    if args.replot:
        if not args.plot:
            raise UserError("--replot needs --plot FILE.png")
        plot(_saved_results(args.replot, "--replot"), args.plot)
        print(f"written: {args.plot}")
        return 0
    args.reference_epochs = {"superres": 24, "classify": 24, "anomaly": 16}
    args.test_count = {"superres": 300, "classify": 300, "anomaly": 300}
    args.search_flags = []
    if args.quick:
        args.reference_epochs = dict.fromkeys(TASKS, 1)
        args.test_count = dict.fromkeys(TASKS, 6)
        args.search_flags = ["--num-samples", "2", "--max-epochs", "1", "--grace-epochs", "1",
                             "--refit-top", "1", "--concurrency", "1"]
    args.reference_from = _saved_references(args.reference_from, args) if args.reference_from \
        else {}
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.quick else default_cache_dir()
        for task in args.tasks:
            results[task] = compare(task, args, Path(tmp), cache)
    if args.plot:
        plot(results, args.plot)
    for task, r in results.items():
        print(f"{task}: {r['metric']} on the test set, search {r['search_best']:.4f} against "
              f"reference {r['reference_best']:.4f} ({r['search_minus_reference']:+.4f}, target "
              f"+{r['target']}); images {r['search_images']} against {r['reference_images']}")
    figures = dict(results)
    met = float(sum(r["met"] for r in results.values()))
    finish("versus_reference", args, figures,
           ("tasks where the search beats the reference by its target", met,
            f"{len(results)} of {len(results)}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
