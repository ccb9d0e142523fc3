"""`python -m search.simulate`: a data set in the layout `search.run --data` reads, or an error."""

import numpy as np
import pytest

from search.simulate import main


def test_writes_sr_pairs_in_the_published_layout(capsys, tmp_path):
    out = tmp_path / "sr"
    assert main(["--task", "superres", "--n", "2", "--num-pix", "16", "--workers", "1",
                 "--out", str(out)]) == 0
    assert "wrote superres data (2 pairs)" in capsys.readouterr().out
    lr, hr = sorted((out / "LR").glob("*.npy")), sorted((out / "HR").glob("*.npy"))
    assert len(lr) == len(hr) == 2
    assert np.load(lr[0]).shape[-2:] == (8, 8) and np.load(hr[0]).shape[-2:] == (16, 16)


@pytest.mark.parametrize("argv, message", [
    (["--n", "0"], "--n must be positive, got 0"),
    (["--n", "2", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--n", "2", "--workers", "0"], "--workers must be positive"),
    (["--n", "2", "--num-pix", "7"], "--num-pix must be even and >= 8"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, argv, message):
    out = tmp_path / "sr"
    assert main(["--task", "superres", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not out.exists()


def test_an_existing_folder_is_never_written_into(capsys, tmp_path):
    (tmp_path / "keep.txt").write_text("precious")
    assert main(["--task", "classify", "--n", "2", "--out", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
