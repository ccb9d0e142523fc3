"""Simulator speed: images per second on one core, per lens class and for SR pairs.

Beside each class, the same images rendered the plain lenstronomy way (one `POINT_MASS`
profile per substructure mass) show what the compiled point-mass pass buys.
Target: >= 100 images/s/core at 150x150 for every kind.
"""

from __future__ import annotations

import time

import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from bench.common import finish, parser
from trainables.data import lensing
from trainables.errors import exits_cleanly

TARGET = 100.0


def per_profile_image(index: int, seed: int, lens_class: str, recipe: lensing.LensingRecipe,
                      _models: dict = {}) -> np.ndarray:  # noqa: B006 - a per-process cache
    """simulate_lens_image with lenstronomy evaluating each point mass as its own profile."""
    rng = np.random.default_rng([seed, lensing.LENS_CLASSES.index(lens_class), index])
    masses = lensing._substructure(rng, lens_class, recipe)
    key = (recipe, len(masses))
    if key not in _models:
        grid = simulation_util.data_configure_simple(num_pix=recipe.num_pix,
                                                     delta_pix=recipe.pixel_scale)
        psf = PSF(psf_type="GAUSSIAN", fwhm=recipe.psf_fwhm, truncation=recipe.psf_truncation,
                  pixel_size=recipe.pixel_scale)
        _models[key] = ImageModel(
            ImageData(**grid), psf,
            lens_model_class=LensModel(["SIE", "SHEAR"] + ["POINT_MASS"] * len(masses)),
            source_model_class=LightModel(["SERSIC_ELLIPSE"]),
            kwargs_numerics={"supersampling_factor": 1})
    clean = _models[key].image(kwargs_lens=lensing._main_lens(recipe) + masses,
                               kwargs_source=lensing._source(rng, recipe))
    return lensing.min_max(lensing.observe(clean, rng, recipe))


def rate(make, count: int) -> float:
    """Images per second of make(index) on this one process, after one warm-up call."""
    make(10_000)
    start = time.perf_counter()
    for index in range(count):
        make(index)
    return count / (time.perf_counter() - start)


@exits_cleanly
def main(argv: list[str] | None = None) -> int:
    p = parser("simulator", __doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=200, help="images timed per kind")
    args = p.parse_args(argv)
    count = 3 if args.quick else args.count
    recipe = lensing.LensingRecipe().at_size(48) if args.quick else lensing.LensingRecipe()
    figures: dict = {"image_side": recipe.num_pix, "images_per_kind": count}
    rates = {}
    for lens_class in lensing.LENS_CLASSES:
        rates[lens_class] = rate(
            lambda i, c=lens_class: lensing.simulate_lens_image(i, 0, c, recipe), count)
        plain = rate(lambda i, c=lens_class: per_profile_image(i, 0, c, recipe), count)
        figures[f"{lens_class}_img_per_s_per_core"] = rates[lens_class]
        figures[f"{lens_class}_per_profile_img_per_s_per_core"] = plain
        figures[f"{lens_class}_speedup_vs_per_profile"] = rates[lens_class] / plain
    sr_recipe = recipe  # an SR pair's HR side is recipe.num_pix
    rates["sr_pair"] = rate(lambda i: lensing.simulate_sr_pair(i, 0, sr_recipe), count)
    figures["sr_pair_per_s_per_core"] = rates["sr_pair"]
    slowest = min(rates, key=rates.get)
    figures["slowest_kind"] = slowest
    finish("simulator", args, figures,
           (f"slowest kind ({slowest}) img/s/core / {TARGET:g}", rates[slowest] / TARGET, ">= 1"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
