"""Learning curves: a task's reference configurations trained alone, epoch by epoch.

Each configuration is trained by the task's own loop (no Ray, no early stopping) on the
simulated default data set at the given size, and its validation metric and the seconds spent
are recorded after every epoch: where a configuration's curve flattens is how long it needs,
and the seconds say what that costs on this machine. `--set KEY=VALUE` overrides a field of
every configuration (e.g. `--set base_lr=3e-4 --set lr_ratio=3`), to compare LR ranges.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.common import finish, parser
from search.config import default_cache_dir
from search.data import prepare_data
from tasks import get_task
from trainables.errors import UserError, exits_cleanly

TASKS = ("superres", "classify", "anomaly")


def full_config(task: str, point: dict) -> dict:
    """A point of the task's space with the constants its branch of the space adds."""
    import optuna

    return point | (get_task(task).space.space(optuna.trial.FixedTrial(point)) or {})


def curve(task: str, config: dict, data, epochs: int, seed: int, threads: int,
          precision: str) -> dict:
    """The metric and the cumulative seconds after each of `epochs` epochs of `config`."""
    loop = get_task(task)
    config = full_config(task, config)
    metric = loop.metric
    cfg = loop.trial_config.from_dict({**config, "task": task, "max_epochs": epochs, "seed": seed,
                                     "threads": threads, "precision": precision})
    values, seconds = [], []
    start = time.perf_counter()

    def report(metrics: dict, state) -> None:
        values.append(metrics[metric])
        seconds.append(round(time.perf_counter() - start, 2))
        print(f"epoch {len(values)}: {metric} {values[-1]:.4f} at {seconds[-1]:.0f} s", flush=True)

    loop.fit(cfg, data, report)
    best = max(values) if loop.mode == "max" else min(values)
    return {"config": config, metric: values, "seconds": seconds, "best": best,
            "best_epoch": values.index(best) + 1}


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--set {pair!r}: expected KEY=VALUE")
        out[key] = _value(value)
    return out


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("learning_curves", __doc__.splitlines()[0])
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--configs", type=Path,
                   help="JSON list of configurations (default: the task's reference ones)")
    p.add_argument("--only", type=int, nargs="+", help="indices of the configurations to train")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of every configuration")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--sim-count", type=int, default=1000)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    configs = (json.loads(args.configs.read_text()) if args.configs
               else [dict(c) for c in get_task(args.task).space.WARM_START])
    if args.only:
        configs = [configs[i] for i in args.only]
    configs = [c | _overrides(args.set) for c in configs]
    if args.quick:
        args.epochs, args.sim_count, args.image_size = 2, 8, 16
    image_size = None if args.task == "superres" else args.image_size
    cache = Path("bench_results/cache-quick") if args.quick else default_cache_dir()
    data = prepare_data(args.task, None, args.sim_count, cache, None, 0, image_size)
    curves = [curve(args.task, c, data.split, args.epochs, args.seed, args.threads,
                    args.precision) for c in configs]
    figures = {"task": args.task, "sim_count": args.sim_count, "image_size": image_size,
               "epochs": args.epochs, "precision": args.precision, "threads": args.threads,
               "baseline": data.baseline, "curves": curves}
    for c in curves:
        print(json.dumps({"config": c["config"], "best": c["best"],
                          "best_epoch": c["best_epoch"], "seconds": c["seconds"][-1]}))
    best = max(c["best"] for c in curves)
    finish("learning_curves", args, figures, ("best metric of the configurations", best,
                                              "where the curves flatten"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
