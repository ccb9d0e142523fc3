"""`search.run` over a fixed list of trial configurations, and the same trials without Ray.

The benchmarks of search overhead, concurrency and memory need the same trials run both ways:
they hand `search.run` their configurations as the task's warm-start points (which Optuna runs
first, exactly as given), ask for just that many trials, and give ASHA a grace period of the
whole run so that nothing stops early. Everything else is the real command.

Also runnable, for measuring a whole run from outside (bench.memory):
    python -m bench.fixed_search CONFIGS.json -- <search.run arguments>
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

from search import run as search_run
from tasks import get_task
from trainables.errors import UserError


def spread_lrs(n: int, low: float = 1e-4, high: float = 9e-4) -> list[float]:
    """n base learning rates, evenly from low to high: the fixed trials differ only in these,
    and they stay inside the search space's range (Optuna's fANOVA fails on trials outside)."""
    return [low + (high - low) * i / max(n - 1, 1) for i in range(n)]


def search_argv(task: str, trials: int, max_epochs: int, concurrency: int, storage: Path,
                name: str, cache_dir: Path, extra: list[str] = (), cpus_per_trial: str = "1",
                grace: int | None = None) -> list[str]:
    """search.run arguments for `trials` trials of at most max_epochs, in fp32 (as the loops
    they are compared with), no refit; with no `grace`, ASHA's grace period is the whole run,
    so no trial is stopped early. `extra` may set any of these otherwise."""
    return ["--task", task, "--num-samples", str(trials), "--max-epochs", str(max_epochs),
            "--grace-epochs", str(grace or max_epochs), "--concurrency", str(concurrency),
            "--cpus-per-trial", cpus_per_trial, "--storage", str(storage), "--name", name,
            "--cache-dir", str(cache_dir), "--no-dashboard", "--refit-top", "0",
            "--precision", "fp32", *extra]


def run_fixed(task: str, configs: list[dict] | None, argv: list[str]) -> dict:
    """Run search.run.main(argv) in this process with `configs` as the only trials (None: the
    search as it is, warm-start points and TPE).

    Returns the seconds spent in each phase: data (prepare_data), ray_start, ray_stop, report,
    stop_and_report (the last two, which overlap: the report is written while Ray shuts down)
    and total (all of main).
    """
    import cluster.runtime as runtime

    phases: dict[str, float] = {}

    def timing(name, fn):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
        return wrapped

    patches = [] if configs is None else [(get_task(task).space, "WARM_START", list(configs))]
    patches += [(search_run, "prepare_data", timing("data", search_run.prepare_data)),
                (search_run, "write_report", timing("report", search_run.write_report)),
                (search_run, "report_while_stopping",
                 timing("stop_and_report", search_run.report_while_stopping)),
                (runtime, "start_ray", timing("ray_start", runtime.start_ray)),
                (runtime, "stop_ray", timing("ray_stop", runtime.stop_ray))]
    with ExitStack() as stack:
        for target, attribute, value in patches:
            stack.enter_context(mock.patch.object(target, attribute, value))
        start = time.perf_counter()
        code = search_run.main(argv)
        phases["total"] = time.perf_counter() - start
    if code != 0:  # search.run has printed why
        raise UserError(f"search.run exited with {code}")
    return phases


def trial_configs(experiment: Path) -> list[dict]:
    """The configurations the experiment's trials actually ran (from Ray's params.json)."""
    return [json.loads(p.read_text()) for p in sorted(experiment.glob("trial_*/params.json"))]


def _results(result_file: Path) -> list[dict]:
    return [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]


def _by_epoch(results: list[dict]) -> list[dict]:
    """One result per epoch, the last reported: a trial resumed from an older checkpoint than
    its last (search/checkpoint_repair.py) reports the epochs after that checkpoint again."""
    latest = {result["training_iteration"]: result for result in results}
    return [latest[epoch] for epoch in sorted(latest)]


def trial_results(experiment: Path) -> list[list[dict]]:
    """Every trial's reported results, epoch by epoch (from Ray's result.json)."""
    return [_by_epoch(_results(p)) for p in sorted(experiment.glob("trial_*/result.json"))]


def _pick(task: str):
    """max or min: whichever picks the best value of the task's metric."""
    return max if get_task(task).mode == "max" else min


def _best(task: str, results: list[dict]) -> float | None:
    """The best value of the task's metric among `results` (None if none reports it)."""
    metric = get_task(task).metric
    values = [r[metric] for r in results if metric in r]
    return _pick(task)(values) if values else None


def epochs_and_best(experiment: Path, task: str) -> tuple[int, float]:
    """Total epochs the experiment's trials trained (an epoch trained again after a resume
    counts once, as in the search that was not interrupted), and the best value of the task's
    metric reported at any epoch of any trial (what the report's best checkpoint holds)."""
    results = trial_results(experiment)
    best = _best(task, [r for trial in results for r in trial])
    if best is None:
        raise UserError(f"{experiment}: no trial reported {get_task(task).metric}")
    return sum(len(trial) for trial in results), best


def trial_start(results: list[dict]) -> float:
    """When a trial started, from its first result (Ray's timestamp less the time it took)."""
    return results[0]["timestamp"] - results[0]["time_total_s"]


def trial_histories(experiment: Path, task: str) -> list[dict]:
    """Each trial's configuration and its metric epoch by epoch, in the order the trials
    started: what a rung saw of each trial, and where the search went."""
    metric = get_task(task).metric
    trials = []
    for result_file in experiment.glob("trial_*/result.json"):
        results = _results(result_file)
        if not results:
            continue
        config = json.loads((result_file.parent / "params.json").read_text())
        trials.append((trial_start(results), {"config": config,
                               f"{metric}_by_epoch": [r.get(metric) for r in _by_epoch(results)]}))
    return [trial for _, trial in sorted(trials, key=lambda pair: pair[0])]


def best_trial(experiment: Path, task: str) -> dict:
    """The configuration of the trial that reported the experiment's best metric value."""
    scored = [(_best(task, _results(p)), json.loads((p.parent / "params.json").read_text()))
              for p in sorted(experiment.glob("trial_*/result.json"))]
    scored = [(value, config) for value, config in scored if value is not None]
    return _pick(task)(scored, key=lambda pair: pair[0])[1]


def train_alone(task: str, config: dict, data, max_epochs: int, seed: int,
                device: str = "cpu") -> list[float]:
    """The task's metric after each epoch of `config` trained by the task's fit, without Ray."""
    fit = get_task(task)
    metric = fit.metric
    values: list[float] = []
    cfg = fit.trial_config.from_dict({**config, "task": task, "max_epochs": max_epochs,
                                      "seed": seed, "threads": 1, "device": device})
    fit.fit(cfg, data, lambda metrics, state: values.append(metrics[metric]))
    return values


def plain_loop(task: str, configs: list[dict], data, max_epochs: int, seed: int = 0,
               device: str = "cpu") -> float:
    """Seconds to train `configs` one after the other by calling the task's fit directly: the
    trainable's training function with no Ray, no checkpoints and no TensorBoard."""
    fit = get_task(task)
    start = time.perf_counter()
    for config in configs:
        cfg = fit.trial_config.from_dict({**config, "task": task, "max_epochs": max_epochs,
                                          "seed": seed,
                                        "threads": 1, "device": device})
        fit.fit(cfg, data, lambda metrics, state: None)
    return time.perf_counter() - start


def main() -> int:
    configs_file, separator, *argv = sys.argv[1:]
    if separator != "--":
        raise SystemExit("usage: python -m bench.fixed_search CONFIGS.json -- <search.run args>")
    task = argv[argv.index("--task") + 1]
    phases = run_fixed(task, json.loads(Path(configs_file).read_text()), argv)
    print(json.dumps({"phases": phases}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
