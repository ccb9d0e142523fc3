"""What every benchmark shares: its command line, the machine it ran on, and its JSON result.

A benchmark measures the things it compares side by side, in one run on one machine (these
machines are shared and noisy: an absolute time means little, a ratio taken in one run means
more). It prints its figures, the ratio last, and writes them all to a JSON file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from trainables.errors import OneLineArgumentParser, UserError

RESULTS_DIR = Path("bench_results")


def parser(name: str, description: str) -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog=f"python -m bench.{name}", description=description)
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes: checks the benchmark works (seconds), measures nothing")
    p.add_argument("--out", type=Path, default=None,
                   help=f"JSON result file (default: {RESULTS_DIR}/{name}[-quick].json)")
    return p


def add_gpu_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpus-per-trial", type=float, default=0.0,
                   help="train on the GPU: the searches get this share of it per trial, and the "
                        "loops without Ray train on it too (default: the CPU)")


def require_cuda(asked_by: str) -> None:
    """A clear error, naming what asked for it, when torch sees no CUDA GPU."""
    import torch

    if not torch.cuda.is_available():
        raise UserError(f"{asked_by}: torch sees no CUDA GPU here")


def training_device(gpus_per_trial: float) -> str:
    """cuda when the benchmark was asked to train on a GPU, cpu otherwise; a clear error when
    it was asked to and torch sees none."""
    if gpus_per_trial <= 0:
        return "cpu"
    require_cuda(f"--gpus-per-trial {gpus_per_trial:g}")
    return "cuda"


# Modules each fresh process imports (a trial actor, a cold loop), the slowest to compile.
STARTUP_MODULES = (("torch", "__init__.py"), ("torch", "_dynamo/__init__.py"),
                   ("ray", "__init__.py"), ("ray", "tune/__init__.py"))


def uncompiled_startup_modules(modules=STARTUP_MODULES) -> list[str]:
    """Those of `modules` (package, source file in it) with no bytecode on disk. Installed with
    pip's --no-compile while PYTHONDONTWRITEBYTECODE is set, they stay uncompiled, and every
    fresh process compiles them again: seconds that start-up figures count (benchmark 1's
    once-per-search part went from 17 to 30 s so)."""
    missing = []
    for package, relative in modules:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            continue
        source = Path(spec.origin).parent / relative
        if source.exists() and not Path(importlib.util.cache_from_source(str(source))).exists():
            missing.append(f"{package}/{relative}")
    return missing


def uncompiled_note(missing: list[str]) -> str | None:
    if not missing:
        return None
    return (f"note: no bytecode on disk for {', '.join(missing)}: each fresh process compiles "
            "them again, which start-up figures count; run `python -m compileall -q` on the "
            "environment's site-packages (or import once without PYTHONDONTWRITEBYTECODE)")


def machine() -> dict:
    """What the figures were measured on."""
    import psutil
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from trainables.precision import has_bf16_units

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": model, "cpu_bf16_units": has_bf16_units("cpu"),
            "cores": len(os.sched_getaffinity(0)),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__,
            "hostname": platform.node(), "uncompiled_modules": uncompiled_startup_modules(),
            "glibc_tunables": os.environ.get("GLIBC_TUNABLES")}


@contextmanager
def timed(into: dict, key: str):
    """Adds the wall-clock seconds of the block to into[key]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = into.get(key, 0.0) + time.perf_counter() - start


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        if len(value) <= 4 and all(not isinstance(v, (dict, list))
                                   for record in value for v in record.values()):
            return "; ".join(", ".join(f"{k} {_fmt(v)}" for k, v in record.items())
                             for record in value)  # a few flat rows, e.g. per rung
        return f"{len(value)} records (in the JSON file)"  # e.g. every trial's history
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def finish(name: str, args, figures: dict, ratio: tuple[str, float, str]) -> dict:
    """Print the figures and then the ratio (`label`, value, target); write them as JSON."""
    label, value, target = ratio
    result = {"benchmark": name, "quick": args.quick, "command": " ".join(
        ["python -m", f"bench.{name}", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
        "figures": figures, "ratio": {"name": label, "value": value, "target": target}}
    note = uncompiled_note(result["machine"]["uncompiled_modules"])
    if note:
        print(note, file=sys.stderr, flush=True)
    width = max(len(k) for k in figures) if figures else 0
    for key, val in figures.items():
        print(f"{key:<{width}}  {_fmt(val)}")
    print(f"RATIO {label}: {value:.3f} (target {target})")
    out = args.out or RESULTS_DIR / f"{name}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"written: {out}")
    return result

