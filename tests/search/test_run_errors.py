"""Every bad input: one `error:` line on stderr, exit code 2, nothing overwritten."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from search.run import main

ROOT = str(Path(__file__).resolve().parents[2])


def _run(capsys, *argv):
    code = main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("argv, message", [
    (["--task", "segment"], "unknown task"),
    (["--task", "superres", "--num-samples", "0"], "--num-samples must be positive"),
    (["--task", "superres", "--max-epochs", "-1"], "--max-epochs must be positive"),
    (["--task", "superres", "--concurrency", "0"], "--concurrency must be positive"),
    (["--task", "superres", "--grace-epochs", "9", "--max-epochs", "3"], "exceeds --max-epochs"),
    (["--task", "superres", "--reduction-factor", "1"], "--reduction-factor must be at least 2"),
    (["--task", "superres", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--task", "superres", "--cpus-per-trial", "0"], "--cpus-per-trial must be positive"),
    (["--task", "superres", "--lr-range", "1e-3", "1e-4"], "inverted"),
    (["--task", "superres", "--lr-range", "0", "1e-4"], "must be positive"),
    (["--task", "superres", "--max-lr-ratio", "0.5"], "--max-lr-ratio must be >= 1"),
    (["--task", "superres", "--num-samples", "many"], "invalid int value"),
    (["--task", "superres", "--resume"], "--resume needs --name"),
    (["--task", "superres", "--optuna-storage", "nonsense"], "--optuna-storage nonsense"),
    (["--task", "superres", "--precision", "fp16"], "--precision: invalid choice"),
    (["--task", "classify", "--val-fraction", "1"], "--val-fraction must be between 0 and 1"),
    (["--task", "superres", "--refit-top", "-1"], "--refit-top must be >= 0"),
    (["--task", "superres", "--refit-seeds", "-2"], "--refit-seeds must be >= 0"),
    (["--task", "classify", "--refit-epochs", "0"], "--refit-epochs must be at least 1"),
    (["--task", "superres", "--models", "srcnn,vdsr"], "--models srcnn,vdsr: unknown vdsr; "
     "known for superres: srresnet, edsr, srcnn, srgan"),
])
def test_bad_flags(capsys, tmp_path, argv, message):
    code, err = _run(capsys, *argv, "--storage", str(tmp_path))
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


def test_missing_and_malformed_data(capsys, tmp_path, sr_data):
    code, err = _run(capsys, "--task", "superres", "--data", str(tmp_path / "none"),
                     "--storage", str(tmp_path / "res"), "--name", "a")
    assert code == 2 and "does not exist" in err[0]
    (tmp_path / "images.zip").write_bytes(b"")
    code, err = _run(capsys, "--task", "classify", "--data", str(tmp_path / "images.zip"),
                     "--storage", str(tmp_path / "res"), "--name", "c")
    assert code == 2 and len(err) == 1 and "images.zip is a file, not a folder" in err[0]
    (tmp_path / "bad" / "LR").mkdir(parents=True)
    (tmp_path / "bad" / "HR").mkdir()
    (tmp_path / "bad" / "LR" / "x.npy").write_bytes(b"junk")
    (tmp_path / "bad" / "HR" / "x.npy").write_bytes(b"junk")
    code, err = _run(capsys, "--task", "superres", "--data", str(tmp_path / "bad"),
                     "--storage", str(tmp_path / "res"), "--name", "b")
    assert code == 2 and len(err) == 1 and "LR/x.npy: not a readable" in err[0]


def test_existing_name_is_never_overwritten(capsys, tmp_path):
    experiment = tmp_path / "exp"
    experiment.mkdir()
    (experiment / "leaderboard.md").write_text("precious")
    code, err = _run(capsys, "--task", "superres", "--storage", str(tmp_path), "--name", "exp")
    assert code == 2 and "already exists" in err[0] and "--resume" in err[0]
    assert (experiment / "leaderboard.md").read_text() == "precious"


def test_resume_of_a_missing_experiment(capsys, tmp_path):
    code, err = _run(capsys, "--task", "superres", "--storage", str(tmp_path), "--name", "ghost",
                     "--resume")
    assert code == 2 and "no experiment to continue" in err[0]


def test_unwritable_storage(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = _run(capsys, "--task", "superres", "--storage", str(blocker / "sub"))
    assert code == 2 and "not writable" in err[0]


def test_the_real_command_prints_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "search.run", "--task", "superres", "--lr-range", "1", "0.1",
         "--storage", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr


@pytest.mark.parametrize("module, argv, message", [
    ("search.run", ["--task", "superres", "--seed", "-1"], "--seed must be >= 0"),
    ("search.evaluate", ["--model", "m", "--data", "d", "--split", "some"], "--split"),
    ("search.predict", ["--model", "m", "--input", "i", "--out", "o", "--batch-size", "0"],
     "--batch-size must be positive"),
    ("search.simulate", ["--task", "superres", "--n", "0", "--out", "o"], "--n must be positive"),
    ("search.report", ["no-such-experiment"], "not a lenstune experiment"),
])
def test_a_bad_flag_is_answered_before_the_heavy_libraries_are_imported(tmp_path, module, argv,
                                                                          message):
    # torch, Ray Tune, Optuna, matplotlib and lenstronomy take seconds to import (a mistyped
    # search.run flag took 9 s to answer): the commands import them once the flags are checked.
    code = (f"import sys; from {module} import main; code = main({argv!r}); "
            "print([m for m in ('torch', 'ray.tune', 'optuna', 'matplotlib', 'lenstronomy') "
            "if m in sys.modules]); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=os.environ | {"PYTHONPATH": ROOT})
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_trial_no_machine_here_can_hold_is_refused_before_anything_is_written(capsys, tmp_path,
                                                                                 sr_data):
    code, err = _run(capsys, "--task", "superres", "--data", str(sr_data), "--gpus-per-trial", "64",
                     "--storage", str(tmp_path / "res"), "--name", "big")
    assert code == 2
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and "--gpus-per-trial 64: this machine's Ray runtime has" in errors[0]
    assert not (tmp_path / "res" / "big").exists()
