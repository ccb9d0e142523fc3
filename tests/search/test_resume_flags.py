"""--resume runs the saved search: a flag that would not apply is refused, not ignored."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from search.config import SearchConfig
from search.run import check_resume_flags, given_flags, write_manifest
from trainables.errors import UserError


def _manifest(tmp_path, data: Path | None = None) -> dict:
    cfg = SearchConfig(task="classify", name="run1", storage=str(tmp_path), data=data,
                       num_samples=6, image_size=48, seed=0)
    cfg_source = data or tmp_path / "cache" / "classify-n300-seed0"
    split = SimpleNamespace(train=[0] * 9, val=[0])
    data_info = SimpleNamespace(source=str(cfg_source), simulated=data is None, split=split,
                                baseline=None, baseline_name=None)
    write_manifest(cfg, data_info, "sqlite:///x/optuna.db")
    return json.loads((tmp_path / "run1" / "lenstune.json").read_text())


def _resume(*flags):
    return given_flags(["--task", "classify", "--name", "run1", "--resume", *flags])


def test_the_flags_a_command_line_sets_are_told_from_the_defaults():
    assert given_flags(["--task", "superres"]) == {"task": "superres"}
    given = _resume("--seed", "0", "--no-dashboard", "--lr-range", "1e-4", "1e-3")
    assert given == {"task": "classify", "name": "run1", "resume": True, "seed": 0,
                     "no_dashboard": True, "lr_range": [1e-4, 1e-3]}


def test_the_command_that_started_the_search_resumes_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    manifest = _manifest(tmp_path, Path("mine"))
    check_resume_flags(manifest, _resume("--data", "mine", "--num-samples", "6", "--seed", "0",
                                         "--image-size", "48", "--preset", "laptop",
                                         "--cpus-per-trial", "1", "--no-dashboard",
                                         "--address", "auto", "--storage", str(tmp_path),
                                         "--optuna-storage", "sqlite:///x/optuna.db"))


@pytest.mark.parametrize("flags, message", [
    (["--seed", "3"], "where --seed is 0, not 3"),
    (["--lr-range", "1e-4", "3e-3"], "where --lr-range is 0.0001 0.001, not 0.0001 0.003"),
    (["--data", "elsewhere"], "where --data is the simulated default, not elsewhere"),
    (["--val-fraction", "0.2"], "where --val-fraction is its default, not 0.2"),
    (["--asha", "stop"], "where --asha is pause, not stop"),
    (["--optuna-storage", "sqlite:///y.db"], "where --optuna-storage is sqlite:///x/optuna.db"),
])
def test_a_flag_the_saved_search_would_override_is_refused(tmp_path, flags, message):
    with pytest.raises(UserError, match="--resume continues run1 with its saved settings") as err:
        check_resume_flags(_manifest(tmp_path), _resume(*flags))
    assert message in str(err.value)


def test_more_trials_extend_the_search_and_fewer_are_refused(tmp_path):
    check_resume_flags(_manifest(tmp_path), _resume("--num-samples", "10"))
    with pytest.raises(UserError, match="run1 has --num-samples 6; a search can be given more "
                                        "trials, not fewer"):
        check_resume_flags(_manifest(tmp_path), _resume("--num-samples", "4"))


def test_the_manifest_keeps_the_data_folder_absolute(tmp_path, monkeypatch):
    # A search started with a relative --data resumes from any working folder.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    assert _manifest(tmp_path, Path("mine"))["data"] == str(tmp_path / "mine")
