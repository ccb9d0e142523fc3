import pytest

from bench.search_efficiency import synchronous_epochs


@pytest.mark.parametrize("trials, grace, factor, max_t, epochs", [
    (12, 1, 3, 9, 12 * 1 + 4 * 2 + 12 / 9 * 6),   # rungs 1, 3, 9
    (24, 1, 4, 9, 24 * 1 + 6 * 3 + 24 / 16 * 5),  # rungs 1, 4, then max_t
    (8, 2, 2, 6, 8 * 2 + 4 * 2 + 2 * 2),          # rungs 2, 4, then max_t (the laptop preset)
    (5, 9, 3, 9, 5 * 9),                           # grace = max_t: nothing is stopped
])
def test_synchronous_epochs_follow_the_rungs(trials, grace, factor, max_t, epochs):
    assert synchronous_epochs(trials, grace, factor, max_t) == pytest.approx(epochs)
