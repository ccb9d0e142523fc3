import numpy as np
import pytest
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from trainables.data import lensing
from trainables.data.point_masses import LensModelWithPointMasses, point_mass_deflection


@pytest.mark.parametrize("lens_class", ["sphere", "vort"])
def test_ray_shooting_equals_lenstronomy_point_mass_profiles(lens_class):
    recipe = lensing.LensingRecipe()
    masses = lensing._substructure(np.random.default_rng(5), lens_class, recipe)
    kwargs = lensing._main_lens(recipe) + masses
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-4, 4, 5000), rng.uniform(-4, 4, 5000)
    x[0], y[0] = masses[0]["center_x"], masses[0]["center_y"]  # a ray through a mass: clamped
    reference = LensModel(["SIE", "SHEAR"] + ["POINT_MASS"] * len(masses))
    expected = reference.ray_shooting(x, y, kwargs)
    got = LensModelWithPointMasses(["SIE", "SHEAR"]).ray_shooting(x, y, kwargs)
    for a, b in zip(got, expected):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_whole_image_equals_the_per_profile_image():
    recipe = lensing.LensingRecipe().at_size(40)
    rng = np.random.default_rng(1)
    masses = lensing._substructure(rng, "vort", recipe)
    kwargs_lens, kwargs_source = lensing._main_lens(recipe) + masses, lensing._source(rng, recipe)
    grid = simulation_util.data_configure_simple(num_pix=40, delta_pix=recipe.pixel_scale)

    def render(lens_model):
        psf = PSF(psf_type="GAUSSIAN", fwhm=recipe.psf_fwhm, pixel_size=recipe.pixel_scale)
        model = ImageModel(ImageData(**grid), psf, lens_model_class=lens_model,
                           source_model_class=LightModel(["SERSIC_ELLIPSE"]))
        return model.image(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source)

    fast = render(LensModelWithPointMasses(["SIE", "SHEAR"]))
    slow = render(LensModel(["SIE", "SHEAR"] + ["POINT_MASS"] * len(masses)))
    assert fast.max() > 0
    assert np.allclose(fast, slow, rtol=1e-10, atol=1e-12)


def test_deflection_keeps_the_input_shape_and_is_zero_without_masses():
    x, y = np.zeros((3, 4)), np.ones((3, 4))
    ax, ay = point_mass_deflection(x, y, [])
    assert ax.shape == (3, 4) and not ax.any() and not ay.any()
    ax, ay = point_mass_deflection(x, y, [{"theta_E": 1.0, "center_x": 0.0, "center_y": 0.0}])
    # A unit Einstein radius at distance 1 deflects by exactly 1 towards the mass.
    assert np.allclose(ax, 0.0) and np.allclose(ay, 1.0)
