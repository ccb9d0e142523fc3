"""Reading one single-channel image file (.npy, .png, .jpg), checked."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainables.errors import UserError

IMAGE_SUFFIXES = (".npy", ".png", ".jpg", ".jpeg")
NUMPY_PICKLE_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy 1.x, 2.x
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
"""What a pickled numpy array of arrays and numbers refers to, and all an .npy may refer to
(`_codecs.encode`: how protocol 2, numpy's before 1.17, pickles an array's bytes)."""
COLOUR_MODES = ("1", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX")
"""PIL modes that may hold a grey image in 8 bits (read as grey when their colours are)."""


def load_image(path: Path) -> np.ndarray:
    """One single-channel image as float32 (H,W): .npy as stored, 8- and 16-bit images scaled
    to [0,1] by their full scale."""
    if path.suffix == ".npy":
        try:
            array = _read_npy(path)
        except UserError:
            raise
        except Exception as exc:  # numpy raises several types for a corrupt file
            raise UserError(f"{path}: not a readable .npy array ({exc.__class__.__name__})") \
                from None
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if array.ndim == 3 and array.shape[0] in (3, 4):
            raise UserError(f"{path}: has {array.shape[0]} channels; lenstune reads 1-channel "
                            "images")
        if array.ndim != 2:
            raise UserError(f"{path}: expected a 2-D image or (1,H,W), got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.number):
            raise UserError(f"{path}: expected numbers, got dtype {array.dtype}")
    else:
        try:
            with Image.open(path) as image:
                image.load()
                if image.mode in COLOUR_MODES:
                    image = _grey_from_colour_mode(image, path)
                elif image.mode not in ("L", "I", "F") and not image.mode.startswith("I;16"):
                    raise UserError(f"{path}: has {len(image.getbands())} channels "
                                    f"({image.mode}); lenstune reads 1-channel images")
                array = np.asarray(image, dtype=np.float32) / _full_scale(image.mode)
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    if not np.all(np.isfinite(array)):
        raise UserError(f"{path}: contains NaN or infinite values")
    return array.astype(np.float32, copy=False)


def _full_scale(mode: str) -> float:
    """What an image of this PIL mode is divided by. By the format's full scale, not the image's
    own maximum, so a faint image stays fainter than a bright one, as in an 8-bit set. A 16-bit
    grey PNG opens as I;16 (or I in older Pillow); F, floats, can only come from a file that is
    not really a PNG or JPEG, and is read as stored, like an .npy."""
    if mode == "L":
        return 255.0
    if mode == "I" or mode.startswith("I;16"):
        return 65535.0
    return 1.0


def _grey_from_colour_mode(image: Image.Image, path: Path) -> Image.Image:
    """A grey image saved in a colour mode (RGB, RGBA, a palette: plt.imsave and many JPEG
    writers do that) as 8-bit grey; a coloured or transparent one is refused."""
    rgba = np.asarray(image.convert("RGBA"))
    if (rgba[..., 3] != 255).any():
        raise UserError(f"{path}: has transparent pixels ({image.mode}); lenstune reads opaque "
                        "1-channel images")
    if (rgba[..., 1] != rgba[..., 0]).any() or (rgba[..., 2] != rgba[..., 0]).any():
        raise UserError(f"{path}: has {len(image.getbands())} channels ({image.mode}) that "
                        "differ, a colour image; lenstune reads 1-channel images")
    return Image.fromarray(rgba[..., 0])


class _ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle asking for something other than numpy's arrays and numbers (a damaged pickle
    raises plain UnpicklingError)."""


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and numbers only: an .npy is data, and may not run code."""

    def find_class(self, module: str, name: str):
        if (module, name) not in NUMPY_PICKLE_GLOBALS:
            raise _ForbiddenGlobal(f"{module}.{name} is not a numpy array or number")
        with warnings.catch_warnings():  # numpy 2 warns of numpy.core, which 1.x files name
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().find_class(module, name)


def _read_npy(path: Path) -> np.ndarray:
    """The .npy's array; of an array of Python objects, the one image in it."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if not str(exc).startswith("Object arrays"):  # numpy's words for them
            raise
    return _image_of_object_npy(path)


def _image_of_object_npy(path: Path) -> np.ndarray:
    """The one image in an .npy of Python objects: DeepLense's Model I-III axion files each
    hold [image, axion mass]."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                np.lib.format.read_array_header_1_0(f)
            else:
                np.lib.format.read_array_header_2_0(f)
            items = _ArrayUnpickler(f).load()
    except _ForbiddenGlobal as exc:
        raise UserError(f"{path}: holds pickled objects other than numpy arrays and numbers "
                        f"({exc}); lenstune does not run code from data files") from None
    images = [item for item in np.ravel(items)
              if isinstance(item, np.ndarray) and item.ndim >= 2]
    if len(images) != 1:
        raise UserError(f"{path}: an array of Python objects holding {len(images)} images; "
                        "lenstune reads one image per file (or [image, label...] as DeepLense's "
                        "Model I-III store)")
    return images[0]
