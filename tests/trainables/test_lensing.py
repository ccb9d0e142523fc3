import numpy as np
import pytest

from tests.conftest import TINY
from trainables.data.lensing import LensingRecipe, einstein_radius, min_max, simulate_sr_pair


def test_sr_pair_has_reference_shapes_and_range():
    lr, hr = simulate_sr_pair(0, seed=1)
    assert lr.shape == (75, 75) and hr.shape == (150, 150)
    for image in (lr, hr):
        assert image.dtype == np.float32
        assert image.min() == 0.0 and image.max() == 1.0


def test_sr_pair_is_deterministic_for_a_seed_and_varies_with_it():
    a = simulate_sr_pair(3, seed=7, recipe=TINY)
    b = simulate_sr_pair(3, seed=7, recipe=TINY)
    c = simulate_sr_pair(3, seed=8, recipe=TINY)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_hr_is_noise_free_and_lr_is_noisy():
    lr, hr = simulate_sr_pair(0, seed=0)
    # The sky far from the ring: exactly dark in the noise-free HR, Poisson-speckled in the LR.
    assert np.count_nonzero(lr[:5, :5]) > 0
    assert hr[:3, :3].max() < 0.05


def test_einstein_radius_follows_the_point_mass_formula():
    from astropy import constants as const
    from astropy import units as u

    from trainables.data.lensing import cosmology

    d_l = cosmology().angular_diameter_distance(0.5)
    d_s = cosmology().angular_diameter_distance(1.0)
    d_ls = cosmology().angular_diameter_distance(0.5, 1.0)
    theta = np.sqrt(4 * const.G * 1e12 * u.M_sun / const.c**2 * d_ls / (d_l * d_s)).decompose()
    assert einstein_radius(1e12, 0.5, 1.0) == pytest.approx((theta * u.rad).to(u.arcsec).value,
                                                             rel=1e-3)


def test_at_size_keeps_the_field_of_view():
    small = LensingRecipe().at_size(30)
    assert small.num_pix * small.pixel_scale == pytest.approx(150 * 0.05)


def test_min_max_of_a_flat_image_is_zero():
    assert not min_max(np.full((4, 4), 3.0)).any()


def test_render_is_lenstronomys_whole_image_bit_for_bit():
    from trainables.data import lensing

    recipe = LensingRecipe().at_size(40)
    rng = np.random.default_rng(2)
    kwargs_lens = lensing._main_lens(recipe) + lensing._substructure(rng, "vort", recipe)
    kwargs_source = lensing._source(rng, recipe)
    model = lensing._image_model(40, recipe.pixel_scale, recipe.psf_fwhm, recipe.psf_truncation,
                                 ("SIE", "SHEAR"))
    rendered = lensing._render(model, kwargs_lens, kwargs_source)
    assert rendered.max() > 0
    assert np.array_equal(rendered,
                          model.image(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source))
