"""The lensing simulator: DeepLenseSim "Model I" images made with lenstronomy.

Follows ../shared/SIMULATION.md. Every image draws its randomness from its own generator,
seeded by (seed, index), so a data set is the same whatever the number of worker processes.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

# lenstronomy, astropy and numba take seconds to import: they are imported when an image is
# first simulated, so a trial worker that only reads `LensingRecipe` or a data set never pays.


@dataclass(frozen=True)
class LensingRecipe:
    """The Model I recipe; the defaults are the published figures."""

    num_pix: int = 150
    """Image side in pixels (of the low-resolution image for SR pairs: it is half of this)."""
    pixel_scale: float = 0.05
    """Arcsec per pixel of the observed image."""
    psf_fwhm: float = 0.087
    """Gaussian PSF full width at half maximum, arcsec."""
    psf_truncation: float = 3.0
    background_rms: float = 0.01
    log10_exposure_range: tuple[float, float] = (3.0, 3.5)
    """Exposure time is 10**U(lo, hi) seconds."""
    z_lens: float = 0.5
    z_source: float = 1.0
    main_halo_mass: float = 1e12
    """Msun; sets the SIE Einstein radius."""
    lens_e1: float = 0.1
    lens_e2: float = 0.0
    shear_g1: float = 0.05
    shear_g2: float = 0.0
    source_amp: float = 20.0
    source_r_sersic: float = 0.25
    source_n_sersic: float = 1.0
    source_e1: float = -0.1
    source_e2: float = 0.1
    source_centre_range: float = 0.35
    """Source centre drawn from U(-r, r) arcsec on each axis."""

    def at_size(self, num_pix: int) -> LensingRecipe:
        """The same field of view sampled by num_pix pixels (small images for quick tests)."""
        return dataclasses.replace(
            self, num_pix=num_pix, pixel_scale=self.pixel_scale * self.num_pix / num_pix
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


COSMOLOGY_PARAMETERS = {"H0": 70, "Om0": 0.3, "Ob0": 0.05}


@functools.lru_cache(maxsize=1)
def cosmology():
    """The recipe's flat Lambda-CDM cosmology (an astropy FlatLambdaCDM)."""
    from astropy.cosmology import FlatLambdaCDM

    return FlatLambdaCDM(**COSMOLOGY_PARAMETERS)


@functools.lru_cache(maxsize=8)
def _sigma_crit_angle(z_lens: float, z_source: float) -> float:
    """Critical surface density in Msun per arcsec^2."""
    from lenstronomy.Cosmo.lens_cosmo import LensCosmo

    return LensCosmo(z_lens=z_lens, z_source=z_source, cosmo=cosmology()).sigma_crit_angle


def einstein_radius(mass_msun, z_lens: float, z_source: float):
    """Einstein radius in arcsec of a point mass: theta_E = sqrt(M / (pi Sigma_crit))."""
    return np.sqrt(np.asarray(mass_msun) / (np.pi * _sigma_crit_angle(z_lens, z_source)))


@functools.lru_cache(maxsize=16)
def _image_model(
    num_pix: int, pixel_scale: float, psf_fwhm: float | None, psf_truncation: float,
    lens_models: tuple,
):
    """A lenstronomy ImageModel of the recipe's grid, PSF, lens models and Sersic source."""
    from lenstronomy.Data.imaging_data import ImageData
    from lenstronomy.Data.psf import PSF
    from lenstronomy.ImSim.image_model import ImageModel
    from lenstronomy.LightModel.light_model import LightModel
    from lenstronomy.Util import simulation_util

    from trainables.data.point_masses import LensModelWithPointMasses

    # Building the models is the slow part of a simulation; each process builds each one once.
    grid = simulation_util.data_configure_simple(num_pix=num_pix, delta_pix=pixel_scale)
    data = ImageData(**grid)
    if psf_fwhm is None:
        psf = PSF(psf_type="NONE")
    else:
        psf = PSF(psf_type="GAUSSIAN", fwhm=psf_fwhm, truncation=psf_truncation,
                  pixel_size=pixel_scale)
    return ImageModel(
        data,
        psf,
        # Substructure point masses follow the base models' keywords (one compiled pass).
        lens_model_class=LensModelWithPointMasses(list(lens_models)),
        source_model_class=LightModel(["SERSIC_ELLIPSE"]),
        kwargs_numerics={"supersampling_factor": 1},
    )


def _main_lens(recipe: LensingRecipe) -> list[dict]:
    theta_e = float(einstein_radius(recipe.main_halo_mass, recipe.z_lens, recipe.z_source))
    return [
        {"theta_E": theta_e, "e1": recipe.lens_e1, "e2": recipe.lens_e2, "center_x": 0.0,
         "center_y": 0.0},
        {"gamma1": recipe.shear_g1, "gamma2": recipe.shear_g2, "ra_0": 0.0, "dec_0": 0.0},
    ]


def _source(rng: np.random.Generator, recipe: LensingRecipe) -> list[dict]:
    cx, cy = rng.uniform(-recipe.source_centre_range, recipe.source_centre_range, size=2)
    return [{
        "amp": recipe.source_amp, "R_sersic": recipe.source_r_sersic,
        "n_sersic": recipe.source_n_sersic, "e1": recipe.source_e1, "e2": recipe.source_e2,
        "center_x": float(cx), "center_y": float(cy),
    }]


def _render(model, kwargs_lens: list[dict], kwargs_source: list[dict]) -> np.ndarray:
    """The lensed source through the model's PSF: ImageModel.image without its lens-light and
    point-source terms, which the recipe leaves empty (the empty lens light was still rendered
    and convolved, ~0.5 ms of a ~10 ms image); the same pixels, bit for bit."""
    return model.image(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source,
                       lens_light_add=False, point_source_add=False)


def observe(model: np.ndarray, rng: np.random.Generator, recipe: LensingRecipe) -> np.ndarray:
    """The recipe's noise: poisson(clip(t * (model + poisson_map + background_map), 0))."""
    exposure = 10.0 ** rng.uniform(*recipe.log10_exposure_range)
    poisson_map = rng.poisson(np.clip(model * exposure, 0, None)) / exposure - model
    background_map = rng.normal(0.0, recipe.background_rms, size=model.shape)
    counts = np.clip(exposure * (model + poisson_map + background_map), 0, None)
    return rng.poisson(counts) / exposure


def min_max(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] as the published sets are; a flat image becomes all zeros."""
    lo, hi = float(image.min()), float(image.max())
    scaled = (image - lo) / (hi - lo) if hi > lo else np.zeros_like(image)
    return scaled.astype(np.float32)


def simulate_sr_pair(
    index: int, seed: int, recipe: LensingRecipe = LensingRecipe()
) -> tuple[np.ndarray, np.ndarray]:
    """One super-resolution pair: (LR, HR) float32 arrays in [0, 1].

    HR: recipe.num_pix square at half the pixel scale, noise-free and unconvolved (the sky).
    LR: num_pix/2 square at the recipe's pixel scale over the same field, with PSF and noise.
    """
    rng = np.random.default_rng([seed, index])
    lens_models = ("SIE", "SHEAR")
    kwargs_lens = _main_lens(recipe)
    kwargs_source = _source(rng, recipe)
    lr_pix = recipe.num_pix // 2
    hr_model = _image_model(recipe.num_pix, recipe.pixel_scale / 2, None, 0.0, lens_models)
    lr_model = _image_model(
        lr_pix, recipe.pixel_scale, recipe.psf_fwhm, recipe.psf_truncation, lens_models
    )
    hr = _render(hr_model, kwargs_lens, kwargs_source)
    lr = observe(_render(lr_model, kwargs_lens, kwargs_source), rng, recipe)
    return min_max(lr), min_max(hr)


LENS_CLASSES = ("no", "sphere", "vort")
"""Folder names of the published Common Test I set: no substructure, CDM subhalos, vortex."""

SUBHALOS = 25
SUBHALO_MASS_RANGE = (1e6, 1e10)
SUBHALO_MASS_SLOPE = -0.9
SUBHALO_RADIUS_RANGE = (0.25, 2.0)
VORTEX_POINTS = 100
VORTEX_MASS = 3e10


def _substructure(rng: np.random.Generator, lens_class: str, recipe: LensingRecipe) -> list[dict]:
    """The point masses of a class (POINT_MASS keywords): none, CDM subhalos, or a vortex line."""
    if lens_class == "no":
        return []
    if lens_class == "sphere":
        # Inverse CDF of p(m) ~ m^slope between the mass bounds.
        a, b = (m ** (SUBHALO_MASS_SLOPE + 1) for m in SUBHALO_MASS_RANGE)
        masses = (a + rng.uniform(size=SUBHALOS) * (b - a)) ** (1 / (SUBHALO_MASS_SLOPE + 1))
        radius = rng.uniform(*SUBHALO_RADIUS_RANGE, size=SUBHALOS)
        angle = rng.uniform(0, 2 * np.pi, size=SUBHALOS)
        xs, ys = radius * np.cos(angle), radius * np.sin(angle)
    elif lens_class == "vort":
        axion_mass = 10 ** rng.uniform(-24, -22)
        half_length = 0.06 / (2 * axion_mass) * 1e-22
        angle = rng.uniform(0, 2 * np.pi)
        along = np.linspace(-half_length, half_length, VORTEX_POINTS)
        xs, ys = along * np.cos(angle), along * np.sin(angle)
        masses = np.full(VORTEX_POINTS, VORTEX_MASS / VORTEX_POINTS)
    else:
        raise ValueError(f"unknown lens class {lens_class!r}")
    theta = einstein_radius(masses, recipe.z_lens, recipe.z_source)
    return [{"theta_E": float(t), "center_x": float(x), "center_y": float(y)}
            for t, x, y in zip(theta, xs, ys)]


def simulate_lens_image(
    index: int, seed: int, lens_class: str, recipe: LensingRecipe = LensingRecipe()
) -> np.ndarray:
    """One observed (PSF, noise) image of a class, recipe.num_pix square, float32 in [0, 1]."""
    rng = np.random.default_rng([seed, LENS_CLASSES.index(lens_class), index])
    masses = _substructure(rng, lens_class, recipe)
    model = _image_model(recipe.num_pix, recipe.pixel_scale, recipe.psf_fwhm,
                         recipe.psf_truncation, ("SIE", "SHEAR"))
    clean = _render(model, _main_lens(recipe) + masses, _source(rng, recipe))
    return min_max(observe(clean, rng, recipe))
