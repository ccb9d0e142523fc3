import numpy as np
import pytest
from PIL import Image

from trainables.data.class_images import _read_folder, read_class_images, stratified_split
from trainables.errors import UserError


def test_simulated_classify_layout(classify_data):
    for split in ("train", "val"):
        assert sorted(p.name for p in (classify_data / split).iterdir()) == ["no", "sphere",
                                                                              "vort"]
    array = np.load(next((classify_data / "train" / "vort").glob("*.npy")))
    assert array.shape == (1, 32, 32) and array.dtype == np.float32
    assert array.min() == 0.0 and array.max() == 1.0
    n_val = len(list((classify_data / "val" / "no").glob("*.npy")))
    assert n_val == 1 and len(list((classify_data / "train" / "no").glob("*.npy"))) == 11


def test_simulated_anomaly_layout_is_8bit_png(anomaly_data):
    assert sorted(p.name for p in anomaly_data.iterdir() if p.is_dir()) == ["no_sub", "sub"]
    with Image.open(anomaly_data / "sub" / "image_3.png") as image:
        assert image.mode == "L" and image.size == (32, 32)


def test_reader_labels_classes_alphabetically_and_uses_the_val_folder(classify_data):
    split = read_class_images(classify_data, None, seed=0)
    assert split.train.classes == ("no", "sphere", "vort")
    assert len(split.train) == 33 and len(split.val) == 3
    assert sorted(split.val.y.tolist()) == [0, 1, 2]
    assert all("/val/" in f for f in split.val.files)
    assert split.mean == pytest.approx(split.train.x.mean())
    assert split.std == pytest.approx(split.train.x.std())


def test_a_fraction_asked_for_re_splits_a_data_set_with_its_own_val_folder(classify_data):
    a = read_class_images(classify_data, 0.5, seed=0)
    assert len(a.train) == 18 and len(a.val) == 18  # train/ and val/ pooled: 12 per class
    assert np.bincount(a.val.y).tolist() == [6, 6, 6]
    assert not set(a.train.files) & set(a.val.files)
    assert {f for f in a.val.files if "/val/" not in f}  # not just the folder's own split
    assert read_class_images(classify_data, 0.5, seed=0).val.files == a.val.files


def test_without_val_folder_the_split_is_stratified_seeded_and_disjoint(anomaly_data):
    a = read_class_images(anomaly_data, 0.25, seed=1)
    b = read_class_images(anomaly_data, 0.25, seed=1)
    c = read_class_images(anomaly_data, 0.25, seed=2)
    assert a.val.files == b.val.files and a.val.files != c.val.files
    assert not set(a.train.files) & set(a.val.files)
    assert len(a.train) + len(a.val) == 24
    assert np.bincount(a.val.y).tolist() == [3, 3]
    assert a.train.x.max() <= 1.0  # 8-bit images scaled to [0, 1]


def test_image_size_resizes_on_load(classify_data):
    split = read_class_images(classify_data, 0.1, seed=0, image_size=16)
    assert split.train.x.shape[1:] == (1, 16, 16) and split.val.x.shape[1:] == (1, 16, 16)


def _folder(tmp_path, images: dict[str, list]):
    for cls, items in images.items():
        (tmp_path / cls).mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(items):
            if isinstance(item, Image.Image):
                item.save(tmp_path / cls / f"{i}.png")
            elif isinstance(item, bytes):
                (tmp_path / cls / f"{i}.npy").write_bytes(item)
            else:
                np.save(tmp_path / cls / f"{i}.npy", item, allow_pickle=item.dtype == object)
    return tmp_path


GOOD = np.zeros((8, 8), np.float32)


def _objects(*items) -> np.ndarray:
    """A 1-D array of Python objects, as np.array would not make of equal-shaped arrays."""
    array = np.empty(len(items), dtype=object)
    array[:] = list(items)
    return array


def test_plain_arrays_and_jpgs_are_read(tmp_path):
    root = _folder(tmp_path, {"a": [GOOD, GOOD[None]], "b": [GOOD, GOOD]})
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / "b" / "x.jpg")
    images = _read_folder(root)
    assert images.x.shape == (5, 1, 8, 8) and images.y.tolist() == [0, 0, 1, 1, 1]


def test_grey_images_saved_in_colour_modes_read_as_grey(tmp_path):
    # Many tools write a grey image as RGB(A): plt.imsave, JPEG writers given 3 channels.
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    root = tmp_path / "data"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        Image.fromarray(grey).save(root / cls / "l.png")
    Image.fromarray(np.stack([grey] * 3, -1)).save(root / "a" / "rgb.jpg", quality=95)
    opaque = np.full_like(grey, 255)
    Image.fromarray(np.stack([grey] * 3 + [opaque], -1)).save(root / "b" / "rgba.png")
    Image.fromarray(grey).convert("P").save(root / "b" / "palette.png")
    images = _read_folder(root)
    by_file = dict(zip((f.rsplit("/", 1)[-1] for f in images.files), images.x[:, 0], strict=True))
    assert by_file["rgba.png"] == pytest.approx(grey / 255.0)
    assert by_file["palette.png"] == pytest.approx(grey / 255.0)
    l_jpg = tmp_path / "l.jpg"
    Image.fromarray(grey).save(l_jpg, quality=95)
    with Image.open(l_jpg) as image:  # the same JPEG as a 1-channel file decodes alike
        assert by_file["rgb.jpg"] == pytest.approx(np.asarray(image) / 255.0, abs=1 / 255)


def test_deeplense_model_i_files_with_an_axion_mass_beside_the_image(tmp_path):
    # DeepLense's Models I-III: each axion file is np.array([image, axion mass], dtype=object).
    rng = np.random.default_rng(0)
    image = rng.random((8, 8))
    axion = _objects(image, 10 ** rng.uniform(-24, -22))
    root = _folder(tmp_path, {"axion": [axion, axion], "cdm": [GOOD, GOOD],
                              "no_sub": [GOOD[None], GOOD]})
    images = _read_folder(root)
    assert images.classes == ("axion", "cdm", "no_sub") and images.x.shape == (6, 1, 8, 8)
    assert images.x[0, 0] == pytest.approx(image.astype(np.float32))


class _Payload:
    """Unpickled, it would write a file: a data file must not run code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_an_npy_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    evil = _objects(GOOD, _Payload(marker))
    root = _folder(tmp_path / "data", {"a": [GOOD], "b": [evil]})
    with pytest.raises(UserError, match=r"b/0\.npy: holds pickled objects other than numpy "
                                        r"arrays and numbers \(io\.open"):
        _read_folder(root)
    assert not marker.exists()


def test_a_truncated_object_npy_is_unreadable_not_forbidden(tmp_path):
    from trainables.data.image_files import load_image

    path = tmp_path / "axion_sim_2.npy"
    np.save(path, _objects(GOOD, 1e-23), allow_pickle=True)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(UserError, match=r"axion_sim_2\.npy: not a readable \.npy array "
                                        r"\(UnpicklingError\)"):
        load_image(path)


@pytest.mark.parametrize("images, message", [
    ({"a": [GOOD, GOOD], "b": []}, r"b: class folder has no"),
    ({"a": [GOOD, GOOD]}, "at least two class folders"),
    ({"a": [GOOD, np.zeros((9, 9), np.float32)], "b": [GOOD]}, r"a/1\.npy: size \(9, 9\) differs"),
    ({"a": [GOOD], "b": [Image.new("RGB", (8, 8), (200, 10, 10))]},
     r"b/0\.png: has 3 channels \(RGB\) that differ"),
    ({"a": [GOOD], "b": [Image.new("RGBA", (8, 8), (9, 9, 9, 0))]},
     r"b/0\.png: has transparent pixels"),
    ({"a": [GOOD], "b": [np.zeros((3, 8, 8), np.float32)]}, r"b/0\.npy: has 3 channels"),
    ({"a": [GOOD, np.full((8, 8), np.nan, np.float32)], "b": [GOOD]}, r"a/1\.npy: contains NaN"),
    ({"a": [GOOD], "b": [b"garbage"]}, r"b/0\.npy: not a readable"),
    ({"a": [GOOD], "b": [_objects(GOOD, GOOD + 1, 1e-23)]},
     r"b/0\.npy: an array of Python objects holding 2 images"),
])
def test_bad_data_sets_name_the_problem(tmp_path, images, message):
    root = _folder(tmp_path / "data", images)
    with pytest.raises(UserError, match=message):
        read_class_images(root, 0.1, seed=0)


def test_a_class_too_small_to_split(tmp_path):
    root = _folder(tmp_path, {"a": [GOOD, GOOD], "b": [GOOD]})
    with pytest.raises(UserError, match="class 'b' has 1 image"):
        stratified_split(_read_folder(root), 0.1, 0)


def test_a_corrupt_png(tmp_path):
    root = _folder(tmp_path, {"a": [GOOD], "b": [GOOD]})
    (root / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UserError, match=r"broken\.png: not a readable image"):
        _read_folder(root)


def test_an_object_npy_written_by_numpy_1_is_read(tmp_path):
    # DeepLense's files predate numpy 2, whose pickles name numpy._core instead of numpy.core;
    # numpy before 1.17 wrote them in pickle protocol 2.
    import pickle

    from trainables.data.image_files import load_image

    image = np.arange(64, dtype=np.float64).reshape(8, 8)
    data = pickle.dumps(_objects(image, 1e-23), protocol=2)
    assert b"numpy._core.multiarray\n" in data
    path = tmp_path / "axion_sim_1.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": (2,)})
        f.write(data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    assert load_image(path) == pytest.approx(image)


def test_16_bit_pngs_are_scaled_by_their_full_scale_not_their_own_maximum(tmp_path):
    # A faint image stays fainter than a bright one, as 8-bit images do (divided by 255).
    from trainables.data.image_files import load_image

    faint = np.full((8, 8), 1000, np.uint16)
    faint[0, 0] = 6553
    Image.fromarray(faint).save(tmp_path / "faint.png")
    assert Image.open(tmp_path / "faint.png").mode.startswith("I")  # 16 bits kept on disk
    read = load_image(tmp_path / "faint.png")
    assert read.dtype == np.float32
    assert read[0, 0] == pytest.approx(6553 / 65535) and read[1, 1] == pytest.approx(1000 / 65535)
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "bright.png")
    assert load_image(tmp_path / "bright.png") == pytest.approx(np.ones((8, 8)))
