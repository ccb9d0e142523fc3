import json

import numpy as np
import pytest

from tests.conftest import TINY
from trainables.data.sr_pairs import (
    SRPairs,
    read_sr_pairs,
    split_sr_pairs,
    write_simulated_sr_pairs,
)
from trainables.errors import UserError


def test_written_layout_reads_back(sr_data):
    pairs = read_sr_pairs(sr_data)
    assert len(pairs) == 40
    assert pairs.lr.shape == (40, 1, 16, 16) and pairs.hr.shape == (40, 1, 32, 32)
    assert pairs.lr.dtype == np.float32
    assert sorted(p.name for p in (sr_data / "LR").iterdir())[0] == "000000.npy"
    metadata = json.loads((sr_data / "metadata.json").read_text())
    assert metadata["count"] == 40 and metadata["seed"] == 0
    assert metadata["recipe"]["num_pix"] == 32


def test_parallel_simulation_equals_serial(tmp_path):
    serial = write_simulated_sr_pairs(tmp_path / "a", 6, 5, TINY, workers=1, progress=False)
    parallel = write_simulated_sr_pairs(tmp_path / "b", 6, 5, TINY, workers=2, progress=False)
    a, b = read_sr_pairs(serial), read_sr_pairs(parallel)
    assert np.array_equal(a.lr, b.lr) and np.array_equal(a.hr, b.hr)


def test_simulation_refuses_an_existing_folder(sr_data):
    with pytest.raises(UserError, match="already exists"):
        write_simulated_sr_pairs(sr_data, 2, 0, TINY, workers=1, progress=False)


def _copy(sr_data, tmp_path, n=4):
    root = tmp_path / "data"
    for sub in ("LR", "HR"):
        (root / sub).mkdir(parents=True)
        for i in range(n):
            (root / sub / f"{i:06d}.npy").write_bytes((sr_data / sub / f"{i:06d}.npy").read_bytes())
    return root


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "HR" / "000002.npy").unlink(), r"LR/000002\.npy: has no matching"),
    (lambda r: np.save(r / "HR" / "000001.npy", np.zeros((30, 32), np.float32)),
     r"HR/000001\.npy: shape \(30, 32\) is not exactly 2x"),
    (lambda r: np.save(r / "LR" / "000003.npy", np.zeros((1, 17, 17), np.float32)),
     r"LR/000003\.npy: shape \(17, 17\) differs"),
    (lambda r: np.save(r / "LR" / "000001.npy", np.full((16, 16), np.nan, np.float32)),
     r"LR/000001\.npy: contains NaN"),
    (lambda r: (r / "HR" / "000000.npy").write_bytes(b"not an array"),
     r"HR/000000\.npy: not a readable"),
    (lambda r: np.save(r / "LR" / "000000.npy", np.zeros((2, 16, 16), np.float32)),
     r"LR/000000\.npy: expected a 2-D image"),
])
def test_bad_data_names_the_first_offending_file(sr_data, tmp_path, damage, message):
    root = _copy(sr_data, tmp_path)
    damage(root)
    with pytest.raises(UserError, match=message):
        read_sr_pairs(root)


def test_missing_folders_are_named(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_sr_pairs(tmp_path / "nowhere")
    (tmp_path / "pairs.zip").write_bytes(b"")
    with pytest.raises(UserError, match="pairs.zip is a file, not a folder"):
        read_sr_pairs(tmp_path / "pairs.zip")
    (tmp_path / "LR").mkdir()
    with pytest.raises(UserError, match="HR: missing"):
        read_sr_pairs(tmp_path)


def test_split_is_seeded_disjoint_and_complete(sr_data):
    pairs = read_sr_pairs(sr_data)
    a, b = split_sr_pairs(pairs, 0.1, seed=3), split_sr_pairs(pairs, 0.1, seed=3)
    assert a.val.ids == b.val.ids and len(a.val) == 4
    assert not set(a.train.ids) & set(a.val.ids)
    assert set(a.train.ids) | set(a.val.ids) == set(pairs.ids)
    assert split_sr_pairs(pairs, 0.1, seed=4).val.ids != a.val.ids


def test_split_needs_two_pairs():
    one = SRPairs(np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 8, 8), np.float32), ("0",))
    with pytest.raises(UserError, match="at least 2"):
        split_sr_pairs(one, 0.1, 0)
