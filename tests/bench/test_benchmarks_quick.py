"""Every benchmark runs end to end in --quick mode and writes its JSON (speed is never asserted:
quick sizes measure nothing, and CI machines are shared)."""

import importlib
import json

import pytest

BENCHMARKS = ["simulator", "throughput", "search_overhead", "concurrency", "memory",
              "search_efficiency", "versus_reference", "layouts", "learning_curves", "families"]
EXTRA = {"versus_reference": ["--task", "superres", "anomaly"],
         "learning_curves": ["--task", "anomaly"],
         "families": ["--nets", "resnet18,mobilenetv3_small_100", "--families", "mobilenetv3"]}
"""versus_reference: one task of each data kind (pairs, class folders) is its every code path;
the three tasks' searches, warm-start points included, are tested in tests/search."""


@pytest.mark.parametrize("name", BENCHMARKS)
def test_quick_run_writes_its_figures_and_ratio(name, tmp_path, monkeypatch, capsys, ray_runtime):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"{name}.json"
    argv = ["--quick", "--out", str(out), *EXTRA.get(name, [])]
    assert importlib.import_module(f"bench.{name}").main(argv) == 0
    result = json.loads(out.read_text())
    assert result["benchmark"] == name and result["quick"] is True
    assert result["figures"] and isinstance(result["ratio"]["value"], float)
    assert result["machine"]["cores"] >= 1
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-2].startswith("RATIO ")  # the ratio last, then where it was written
    if name == "versus_reference":
        _replot_and_reuse_the_references(importlib.import_module(f"bench.{name}"), out, capsys)


def _replot_and_reuse_the_references(versus, out, capsys):
    """Per-task runs are drawn together afterwards; a rerun of only the search takes the
    reference side of an earlier run of the same preset and test set."""
    png = out.with_name("both.png")
    assert versus.main(["--replot", str(out), "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000
    again = out.with_name("again.json")
    assert versus.main(["--quick", "--out", str(again), "--task", "superres",
                        "--reference-from", str(out)]) == 0
    saved, reused = (json.loads(f.read_text())["figures"]["superres"] for f in (out, again))
    assert {k: reused[k] for k in versus.REFERENCE_SIDE} == {
        k: saved[k] for k in versus.REFERENCE_SIDE}
    assert reused["search_trials"]
    capsys.readouterr()
    assert versus.main(["--task", "superres", "--reference-from", str(out)]) == 2  # 6 test items
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another preset or test set" in err[0]


@pytest.mark.parametrize("name, argv", [
    ("simulator", ["--count", "many"]),
    ("search_overhead", ["--features", "8"]),  # not a width the superres space offers
    ("concurrency", ["--features", "8"]),
    ("concurrency", ["--repeats", "0"]),
    ("throughput", ["--sim-count", "3"]),
    ("layouts", ["--models", "resnet9"]),
    ("versus_reference", ["--replot", "no-such-run.json", "--plot", "x.png"]),
    ("layouts", ["--sizes", "48,150", "--batch-sizes", "1,2,3"]),
])
def test_a_bad_flag_is_one_line_and_exit_2(name, argv, capsys):
    assert importlib.import_module(f"bench.{name}").main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_replot_refuses_a_result_of_another_benchmark(tmp_path, capsys):
    other = tmp_path / "families.json"
    other.write_text(json.dumps({"benchmark": "families", "figures": {"speed_img_per_s": {}}}))
    argv = ["--replot", str(other), "--plot", str(tmp_path / "x.png")]
    assert importlib.import_module("bench.versus_reference").main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no task's side by side" in err[0]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("name, argv", [
    ("gpu_utilisation", ["--quick"]),
    ("search_overhead", ["--quick", "--gpus-per-trial", "1"]),
    ("search_efficiency", ["--quick", "--gpus-per-trial", "0.5"]),
    ("throughput", ["--quick", "--device", "cuda"]),
    ("layouts", ["--quick", "--device", "cuda"]),
])
def test_gpu_runs_without_a_gpu_say_so_in_one_line(name, argv, tmp_path, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    assert importlib.import_module(f"bench.{name}").main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "GPU" in err[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_figures_print_rounded_with_small_tables_inline():
    from bench.common import _fmt

    assert _fmt(0.123456) == "0.1235"
    assert _fmt({"epochs": 7, "share": 0.777777, "by": {"1": 1, "3": 2}}) == (
        "{epochs: 7, share: 0.7778, by: {1: 1, 3: 2}}")
    assert _fmt([{"epoch": 3, "auc": 0.51234}]) == "epoch 3, auc 0.5123"
    assert _fmt([{"auc": 0.5}] * 5) == "5 records (in the JSON file)"



@pytest.mark.parametrize("task, reference_epochs, epochs", [
    ("superres", 24, 24),  # 4 references x 24 = 96; search 8 x 4 + 4 x 4 = 48; 48 / 2 refits
    ("classify", 24, 16),  # 3 x 24 = 72; search 6 x 4 + 3 x 4 = 36; 36 / 2 = 18, whole cycles
    ("anomaly", 16, 8),  # 1 x 16 is less than the search alone: the preset's refit length
])
def test_the_side_by_side_refit_ends_at_the_lr_low_point_within_the_reference_images(
        task, reference_epochs, epochs):
    from bench.versus_reference import refit_epochs

    assert refit_epochs(task, "laptop", reference_epochs) == epochs
