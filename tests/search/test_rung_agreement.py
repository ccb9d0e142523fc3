import math

import pytest

from search.rung_agreement import agreement_markdown, rung_agreement, rung_epochs, spearman


def test_rungs_are_grace_times_powers_of_the_reduction_factor_below_the_end():
    assert rung_epochs(4, 2, 12) == [4, 8]
    assert rung_epochs(1, 3, 9) == [1, 3]
    assert rung_epochs(6, 2, 6) == []


def test_spearman_is_one_for_the_same_order_and_nan_when_undefined():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [1, 2]))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_a_rung_that_ranks_as_the_end_does_scores_one_and_a_reversed_one_minus_one():
    # At epoch 2 the trials stand in their final order; at epoch 1 in the reverse one.
    curves = [[0.8, 0.6, 0.7], [0.7, 0.7, 0.8], [0.6, 0.8, 0.9]]
    ends = [c[-1] for c in curves]
    rows = rung_agreement(curves, ends, [1, 2])
    assert rows == [{"epoch": 1, "trials": 3, "rho": pytest.approx(-1.0)},
                    {"epoch": 2, "trials": 3, "rho": pytest.approx(1.0)}]
    # ranked by the best epoch so far (--asha pause), epoch 2 still remembers epoch 1
    best = rung_agreement(curves, ends, [2], best_so_far=True)[0]["rho"]
    assert best == pytest.approx(0.0)


def test_trials_shorter_than_a_rung_are_left_out_of_it():
    rows = rung_agreement([[1.0, 2.0], [2.0], [3.0, 1.0]], [2.0, 2.0, 3.0], [1, 2])
    assert [r["trials"] for r in rows] == [3, 2] and math.isnan(rows[1]["rho"])
    markdown = agreement_markdown(rows, "val_auc")
    assert "| 1 | 3 |" in markdown and "too few trials" in markdown
